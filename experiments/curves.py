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

from a3c_ray import RunResult, load_run  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write_text  # noqa: E402
from a3c_ray.run.recorder import WINDOW  # noqa: E402
from common import local_ray, output_dir, parser, plan, reached, save_png, sweep, table, threshold  # noqa: E402

BUDGET_STEPS = {"CartPole-v1": 400_000, "Pendulum-v1": 2_500_000}
GRID_POINTS = 100
KEYS = ["env", "backend", "workers", "seed", "env_steps", "training_s", "env_steps_per_s", "episode_return_mean",
        "best_episode_return_mean", "env_steps_to_threshold", "policy_lag_mean", "worker_restarts", "run_dir"]
COMPARED = {"env_steps_per_s": ",.0f", "env_steps_to_threshold": ",.0f", "final_return_mean_100": ".1f",
            "policy_lag_mean": ".1f"}
RENAME = {"episode_return_mean": "final_return_mean_100", "best_episode_return_mean": "best_return_mean_100"}


def to_threshold(result: RunResult) -> dict:
    """Env steps until the 100-episode mean first reached the solve threshold (None if it never did)."""
    return {"env_steps_to_threshold": reached(result.episodes, threshold(result.config.env))[1]}


def curve(run: RunResult) -> pd.DataFrame:
    """A run's 100-episode mean return on the common env-step grid (up to its step budget) and against episodes."""
    config, episodes = run.config, run.episodes
    mean = episodes["return"].rolling(WINDOW, min_periods=1).mean().to_numpy()
    grid = np.linspace(0, config.stop_steps, GRID_POINTS + 1)[1:]
    at = np.searchsorted(episodes["env_steps"].to_numpy(), grid, side="right") - 1  # last episode before each point
    by_steps = pd.DataFrame({"x_axis": "env_steps", "x": grid,
                             "return_mean_100": np.where(at >= 0, mean[np.clip(at, 0, None)], np.nan)})
    numbers = np.arange(1, len(episodes) + 1)  # the original's x axis: episodes
    by_episode = pd.DataFrame({"x_axis": "episode", "x": numbers, "return_mean_100": mean})
    labels = {"env": config.env, "backend": config.backend, "workers": config.workers, "seed": config.seed}
    frame = pd.concat([by_steps, by_episode], ignore_index=True).assign(**labels)
    return frame[[*labels, "x_axis", "x", "return_mean_100"]]


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
    save_png(fig, path)


def comparison(runs: pd.DataFrame, by: list[str]) -> str:
    """Median [min, max] over seeds of the numbers a reader compares."""
    return table(runs, by, {"seeds": len, "reached_threshold": lambda g: int(g["env_steps_to_threshold"].notna().sum()),
                            **{col: (col, fmt) for col, fmt in COMPARED.items()}})


def main() -> None:
    options = parser(__doc__, "curves")
    options.add_argument("--replot", action="store_true", help="redo figures and tables from the CSVs in --out")
    args = options.parse_args()
    out = output_dir(args, "curves")
    if args.replot:
        write_outputs(pd.read_csv(out / "runs.csv"), pd.read_csv(out / "curves.csv"), out)
        return
    envs, seeds = plan(args.quick)
    budget = {e: (100_000 if args.quick else BUDGET_STEPS[e]) for e in envs}
    grid = [{"env": env_id, "backend": backend, "workers": 2, "stop_steps": budget[env_id]}
            for env_id in envs for backend in ("ray", "mp")]
    grid += [{"env": "CartPole-v1", "backend": backend, "workers": 1, "stop_steps": budget["CartPole-v1"]}
             for backend in ("ray", "mp")]  # the worker-count comparison: CartPole, 1 worker (2 workers are above)
    with local_ray():
        runs = sweep(grid, seeds, out / "runs", keys=KEYS, rename=RENAME, extra=to_threshold, interleave=True,
                     stop_at_threshold=False)
    curves = pd.concat([curve(load_run(run_dir)) for run_dir in runs.pop("run_dir")], ignore_index=True)
    write_outputs(runs, curves, out)


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
    backends = comparison(runs[runs["workers"] == 2], ["env", "backend"])
    workers = comparison(runs[runs["env"] == "CartPole-v1"], ["backend", "workers"])
    atomic_write_text(out / "backends.md", backends)
    atomic_write_text(out / "workers.md", workers)
    print(backends, workers, sep="\n")


if __name__ == "__main__":
    main()
