"""The original's two figures, honestly: CartPole and Pendulum learning curves, 3 seeds per backend, with spread.

    python experiments/curves.py            # both envs, ray and mp, seeds 0-2, then the worker-count table
    python experiments/curves.py --quick    # CartPole only, 1 seed, small budgets (a smoke test)
    python experiments/curves.py --replot   # figures and tables again from the CSVs already written

Every run trains for the same env-step budget (no early stop), so the curves share an x axis. Writes to
experiments/results/curves/: `curves.csv` (every run's 100-episode mean return on a common env-step grid and on
a common episode grid, up to the episode count of the shortest run),
`runs.csv` (one summary row per run), `<env>.png` (against episodes like the original, and against env steps:
mean across seeds, min/max band, one colour per backend),
`backends.md` (Ray vs mp) and `workers.md` (1 vs 2 workers), each from those same tables.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from a3c_ray import make_config, train  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write, atomic_write_text  # noqa: E402
from a3c_ray.run.recorder import WINDOW  # noqa: E402
from common import local_ray, output_dir, parser, plan, spread, threshold  # noqa: E402

BUDGET_STEPS = {"CartPole-v1": 400_000, "Pendulum-v1": 2_500_000}
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
    solved = episodes["env_steps"][(episodes.index >= WINDOW - 1) & (mean >= threshold(env_id))]
    grid = np.linspace(0, steps, GRID_POINTS + 1)[1:]
    at = np.searchsorted(episodes["env_steps"].to_numpy(), grid, side="right") - 1  # last episode before each point
    by_steps = pd.DataFrame({"x_axis": "env_steps", "x": grid,
                             "return_mean_100": np.where(at >= 0, mean[np.clip(at, 0, None)], np.nan)})
    numbers = np.arange(1, len(episodes) + 1)  # the original's x axis: episodes
    by_episode = pd.DataFrame({"x_axis": "episode", "x": numbers, "return_mean_100": mean})
    curve = pd.concat([by_steps, by_episode], ignore_index=True)
    curve.insert(0, "seed", seed)
    curve.insert(0, "workers", workers)
    curve.insert(0, "backend", backend)
    curve.insert(0, "env", env_id)
    row = {"env": env_id, "backend": backend, "workers": workers, "seed": seed, "env_steps": s["env_steps"],
           "training_s": s["training_s"], "env_steps_per_s": s["env_steps_per_s"],
           "final_return_mean_100": s["episode_return_mean"], "best_return_mean_100": s["best_episode_return_mean"],
           "env_steps_to_threshold": int(solved.iloc[0]) if len(solved) else None,
           "policy_lag_mean": float(result.progress["policy_lag_mean"].mean()), "worker_restarts": s["worker_restarts"]}
    print(row, flush=True)
    return row, curve


def plot_env(curves: pd.DataFrame, env_id: str, path: Path) -> None:
    """Against episodes (the original's axis) and against env steps: mean across seeds with a min/max band, one
    colour per backend, the solve threshold dashed."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, x_axis in zip(axes, ("episode", "env_steps")):
        panel = curves[(curves["env"] == env_id) & (curves["x_axis"] == x_axis)]
        for backend, group in panel.groupby("backend"):
            by_x = group.groupby("x")["return_mean_100"]
            ax.plot(by_x.mean().index, by_x.mean(), label=f"{backend} (mean of {group['seed'].nunique()} seeds)")
            ax.fill_between(by_x.mean().index, by_x.min(), by_x.max(), alpha=0.25)
        ax.axhline(threshold(env_id), color="grey", linestyle="--", linewidth=1, label="solved")
        ax.set_xlabel("episode" if x_axis == "episode" else "env steps")
        ax.set_ylabel(f"episode return ({WINDOW}-episode mean)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"{env_id}: a3c_ray, 2 workers; band = min/max over seeds")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def comparison(runs: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Median [min, max] over seeds of the numbers a reader compares."""
    cols = {"env_steps_per_s": ",.0f", "env_steps_to_threshold": ",.0f", "final_return_mean_100": ".1f",
            "policy_lag_mean": ".1f"}
    rows = []
    for key, group in runs.groupby(by, sort=False):
        row = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        row["seeds"] = len(group)
        row["reached_threshold"] = int(group["env_steps_to_threshold"].notna().sum())
        for col, fmt in cols.items():
            row[col] = spread(group[col], fmt)
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(frame: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main() -> None:
    options = parser(__doc__.splitlines()[0], "curves")
    options.add_argument("--replot", action="store_true", help="redo figures and tables from the CSVs in --out")
    args = options.parse_args()
    out = output_dir(args, "curves")
    if args.replot:
        write_outputs(pd.read_csv(out / "runs.csv"), pd.read_csv(out / "curves.csv"), out)
        return
    envs, seeds = plan(args.quick)
    budget = {e: (100_000 if args.quick else BUDGET_STEPS[e]) for e in envs}

    with local_ray():
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
    write_outputs(pd.DataFrame(rows), pd.concat(curves, ignore_index=True), out)


def on_common_episode_grid(curves: pd.DataFrame, points: int = GRID_POINTS) -> pd.DataFrame:
    """Put every run's episode-axis curve on one grid per env (up to the episode count of its shortest run),
    so the mean and the band at each x are over all seeds; the env-step axis shares its grid already."""
    steps = curves[curves["x_axis"] == "env_steps"]
    episodes = curves[curves["x_axis"] == "episode"]
    keys = ["env", "backend", "workers", "seed"]
    frames = [steps]
    for env_id, env_rows in episodes.groupby("env", sort=False):
        last = env_rows.groupby(keys[1:])["x"].max().min()
        grid = np.unique(np.linspace(last / points, last, points).round())
        for key, run in env_rows.groupby(keys, sort=False):
            frame = pd.DataFrame({"x_axis": "episode", "x": grid,
                                  "return_mean_100": np.interp(grid, run["x"], run["return_mean_100"])})
            for name, value in zip(keys, key):
                frame[name] = value
            frames.append(frame[curves.columns])
    return pd.concat(frames, ignore_index=True)


def write_outputs(runs: pd.DataFrame, curves: pd.DataFrame, out: Path) -> None:
    """The CSVs, the figures and the two comparison tables, all from `runs` and `curves`."""
    curves = on_common_episode_grid(curves)
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(out / "curves.csv", curves.to_csv(index=False, float_format="%.2f"))
    for env_id in runs["env"].unique():
        plot_env(curves[curves["workers"] == 2], env_id, out / f"{env_id.split('-')[0].lower()}.png")
    backends = markdown_table(comparison(runs[runs["workers"] == 2], ["env", "backend"]))
    workers = markdown_table(comparison(runs[runs["env"] == "CartPole-v1"], ["backend", "workers"]))
    atomic_write_text(out / "backends.md", backends + "\n")
    atomic_write_text(out / "workers.md", workers + "\n")
    print(backends, workers, sep="\n\n")


if __name__ == "__main__":
    main()
