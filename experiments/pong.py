"""ALE/Pong-v5 trained to a 100-episode mean of 18: hours on 2 cores, meant for a 16-core machine.

    python experiments/pong.py --workers 15               # the 16-core run (one core stays with the driver)
    python experiments/pong.py --workers 2 --hours 1      # what 2 cores reach in an hour
    python experiments/pong.py --quick                    # 2 minutes, to see that it runs

`a3c-ray train --env ALE/Pong-v5` with its preset (AtariPreprocessing, 4 stacked 84x84 frames, the Nature CNN),
stopped when the training mean of the last 100 episodes reaches 18 or after `--hours`. The anchors are RLlib's
pong-a3c.yaml (19-20 in about 30 minutes on 40 vCPUs) and ikostrikov/pytorch-a3c (solved in ~15 minutes with 16
processes). Writes `<out>/pong.md` (wall time, env steps, steps/s), `<out>/curve.csv` (100-episode mean against
env steps and seconds) and `<out>/pong.png`; the run's own directory is `<out>/run`.
"""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from a3c_ray import make_config, train  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write, atomic_write_text  # noqa: E402
from a3c_ray.run.recorder import WINDOW  # noqa: E402
from common import output_dir, parser  # noqa: E402

ENV, TARGET = "ALE/Pong-v5", 18.0


def main() -> None:
    options = parser(__doc__.splitlines()[0], "pong")
    options.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    options.add_argument("--hours", type=float, default=4.0)
    options.add_argument("--seed", type=int, default=0)
    args = options.parse_args()
    out = output_dir(args, "pong")
    seconds = 120.0 if args.quick else args.hours * 3600
    config = make_config(ENV, seed=args.seed, workers=args.workers, stop_return=TARGET, stop_on_eval=False,
                         stop_seconds=seconds, progress_bar=False, overwrite=True, out=str(out / "run"))
    result = train(config)
    episodes, summary = result.episodes, result.summary
    curve = pd.DataFrame({"env_steps": episodes["env_steps"], "time_s": episodes["time_s"],
                          "mean_100": episodes["return"].rolling(WINDOW).mean()})
    atomic_write_text(out / "curve.csv", curve.to_csv(index=False))
    reached = "not reached" if not summary["solved"] else \
        f"{summary['time_to_solve_s'] / 60:.1f} min, {summary['env_steps_to_solve']:,} env steps"
    best = summary["best_episode_return_mean"]  # None before 100 episodes have finished
    lines = [f"| workers | CPUs on the machine | to a mean of {TARGET:.0f} | training s | env steps | env steps/s | "
             "best 100-episode mean |", "|---|---|---|---|---|---|---|",
             f"| {args.workers} | {os.cpu_count()} | {reached} | {summary['training_s']:.0f} | "
             f"{summary['env_steps']:,} | {summary['env_steps_per_s']:,.0f} | "
             f"{'–' if best is None else f'{best:.1f}'} |"]
    atomic_write_text(out / "pong.md", "\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curve["env_steps"], curve["mean_100"])
    ax.axhline(TARGET, color="grey", lw=0.8)
    ax.set_xlabel("env steps")
    ax.set_ylabel("return, 100-episode mean")
    ax.set_title(f"{ENV}, {args.workers} workers on {os.cpu_count()} CPUs")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(out / "pong.png", lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
