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

from a3c_ray import load_run  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write, atomic_write_text  # noqa: E402
from common import output_dir, parser, return_mean, run_row, table, value  # noqa: E402

ENV, TARGET = "ALE/Pong-v5", 18.0


def markdown(runs: pd.DataFrame) -> str:
    """The run's line: how long to the target, how fast."""
    return table(runs, ["workers"], {
        "CPUs on the machine": value("cpus", "d"), f"to a mean of {TARGET:.0f}": to_target,
        "training s": value("training_s", ".0f"), "env steps": value("env_steps", ",.0f"),
        "env steps/s": value("env_steps_per_s", ",.0f"),
        "best 100-episode mean": value("best_episode_return_mean", ".1f")}, each_row=True)


def to_target(run: pd.DataFrame) -> str:
    """Minutes and env steps to the target, or "not reached"."""
    r = run.iloc[0]
    return f"{r['time_to_solve_s'] / 60:.1f} min, {r['env_steps_to_solve']:,.0f} env steps" if r["solved"] \
        else "not reached"


def main() -> None:
    options = parser(__doc__, "pong")
    options.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    options.add_argument("--hours", type=float, default=4.0)
    options.add_argument("--seed", type=int, default=0)
    args = options.parse_args()
    out = output_dir(args, "pong")
    seconds = 120.0 if args.quick else args.hours * 3600
    row = run_row(ENV, out / "run", seed=args.seed, workers=args.workers, stop_return=TARGET, stop_on_eval=False,
                  stop_seconds=seconds)
    episodes = load_run(out / "run").episodes
    curve = pd.DataFrame({"env_steps": episodes["env_steps"], "time_s": episodes["time_s"],
                          "mean_100": return_mean(episodes["return"])})
    atomic_write_text(out / "curve.csv", curve.to_csv(index=False))
    text = markdown(pd.DataFrame([{**row, "cpus": os.cpu_count()}]))
    atomic_write_text(out / "pong.md", text)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(curve["env_steps"], curve["mean_100"])
    ax.axhline(TARGET, color="grey", lw=0.8)
    ax.set_xlabel("env steps")
    ax.set_ylabel("return, 100-episode mean")
    ax.set_title(f"{ENV}, {args.workers} workers on {os.cpu_count()} CPUs")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(out / "pong.png", lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    print(text)


if __name__ == "__main__":
    main()
