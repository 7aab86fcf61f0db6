"""The original's two figures, honestly: CartPole and Pendulum learning curves, 3 seeds per backend, with spread.

    python experiments/curves.py            # both envs, ray and mp, seeds 0-2, then the worker-count table
    python experiments/curves.py --quick    # CartPole only, 1 seed, small budgets (a smoke test)

Every run trains for the same env-step budget (no early stop), so the curves share an x axis. Writes to
experiments/results/curves/: `curves.csv` (every run's 100-episode mean return on a common env-step grid),
`runs.csv` (one summary row per run), `<env>.png` (mean across seeds, min/max band, one colour per backend),
`backends.md` (Ray vs mp) and `workers.md` (1 vs 2 workers), each from those same tables.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from a3c_ray import make_config, train  # noqa: E402
from a3c_ray.atomic import atomic_write, atomic_write_text  # noqa: E402
from a3c_ray.results import WINDOW  # noqa: E402

BUDGET_STEPS = {"CartPole-v1": 400_000, "Pendulum-v1": 2_500_000}
THRESHOLDS = {"CartPole-v1": 475.0, "Pendulum-v1": -200.0}
GRID_POINTS = 100


def run_one(env_id: str, backend: str, seed: int, workers: int, steps: int, out: Path) -> tuple[dict, pd.DataFrame]:
    """Train one run for `steps` env steps; return its summary row and its curve on the common grid."""
    config = make_config(env_id, stop_at_threshold=False, backend=backend, seed=seed, workers=workers,
                         stop_steps=steps, progress_bar=False, overwrite=True,
                         out=str(out / "runs" / f"{env_id}-{backend}-w{workers}-s{seed}"))
    result = train(config)
    s = result.summary
    episodes = result.episodes
    mean = episodes["return"].rolling(WINDOW, min_periods=1).mean().to_numpy()
    solved = episodes["env_steps"][(episodes.index >= WINDOW - 1) & (mean >= THRESHOLDS[env_id])]
    grid = np.linspace(0, steps, GRID_POINTS + 1)[1:]
    at = np.searchsorted(episodes["env_steps"].to_numpy(), grid, side="right") - 1  # last episode before each point
    curve = pd.DataFrame({"env": env_id, "backend": backend, "workers": workers, "seed": seed, "env_steps": grid,
                          "return_mean_100": np.where(at >= 0, mean[np.clip(at, 0, None)], np.nan)})
    row = {"env": env_id, "backend": backend, "workers": workers, "seed": seed, "env_steps": s["env_steps"],
           "training_s": s["training_s"], "env_steps_per_s": s["env_steps_per_s"],
           "final_return_mean_100": s["episode_return_mean"], "best_return_mean_100": s["best_episode_return_mean"],
           "env_steps_to_threshold": int(solved.iloc[0]) if len(solved) else None,
           "policy_lag_mean": float(result.progress["policy_lag_mean"].mean()), "worker_restarts": s["worker_restarts"]}
    print(row, flush=True)
    return row, curve


def plot_env(curves: pd.DataFrame, env_id: str, path: Path) -> None:
    """Mean across seeds with a min/max band, one colour per backend; the solve threshold dashed."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for backend, group in curves[curves["env"] == env_id].groupby("backend"):
        by_step = group.groupby("env_steps")["return_mean_100"]
        x = by_step.mean().index
        seeds = group["seed"].nunique()
        ax.plot(x, by_step.mean(), label=f"{backend} (mean of {seeds} seeds)")
        ax.fill_between(x, by_step.min(), by_step.max(), alpha=0.25)
    ax.axhline(THRESHOLDS[env_id], color="grey", linestyle="--", linewidth=1, label="solved")
    ax.set_xlabel("env steps")
    ax.set_ylabel(f"episode return ({WINDOW}-episode mean)")
    ax.set_title(f"{env_id}: a3c_ray, 2 workers, band = min/max over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def comparison(runs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Median [min, max] over seeds of the numbers a reader compares."""
    cols = ["env_steps_per_s", "env_steps_to_threshold", "final_return_mean_100", "policy_lag_mean"]
    rows = []
    for key, group in runs.groupby(by, sort=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["seeds"] = len(group)
        row["reached_threshold"] = int(group["env_steps_to_threshold"].notna().sum())
        for col in cols:
            values = pd.to_numeric(group[col], errors="coerce").dropna()
            row[col] = f"{values.median():,.1f} [{values.min():,.1f}, {values.max():,.1f}]" if len(values) else "–"
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CartPole only, 1 seed, small budget")
    parser.add_argument("--out", default="experiments/results/curves")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    envs = ["CartPole-v1"] if args.quick else ["CartPole-v1", "Pendulum-v1"]
    seeds = [0] if args.quick else [0, 1, 2]
    budget = {e: (100_000 if args.quick else BUDGET_STEPS[e]) for e in envs}

    import ray

    ray.init(num_cpus=2, include_dashboard=False, dashboard_host="127.0.0.1", log_to_driver=False)
    rows, curves = [], []
    for env_id in envs:
        for seed in seeds:
            for backend in ("ray", "mp"):
                row, curve = run_one(env_id, backend, seed, 2, budget[env_id], out)
                rows.append(row)
                curves.append(curve)
    for seed in seeds:  # the worker-count comparison: CartPole, 1 worker (2 workers are above)
        for backend in ("ray", "mp"):
            row, curve = run_one("CartPole-v1", backend, seed, 1, budget["CartPole-v1"], out)
            rows.append(row)
            curves.append(curve)
    ray.shutdown()

    runs, curves_df = pd.DataFrame(rows), pd.concat(curves, ignore_index=True)
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(out / "curves.csv", curves_df.to_csv(index=False, float_format="%.2f"))
    two = runs[runs["workers"] == 2]
    for env_id in envs:
        plot_env(curves_df[curves_df["workers"] == 2], env_id, out / f"{env_id.split('-')[0].lower()}.png")
    backends = markdown_table(comparison(two, ["env", "backend"]))
    workers = markdown_table(comparison(runs[runs["env"] == "CartPole-v1"], ["backend", "workers"]))
    atomic_write_text(out / "backends.md", backends + "\n")
    atomic_write_text(out / "workers.md", workers + "\n")
    print(backends, workers, sep="\n\n")


if __name__ == "__main__":
    main()
