"""Real workers, more of them than cores: CartPole-v1 with 16 Ray workers on this 2-core machine.

    python experiments/many_workers.py             # seeds 0-2, per-gradient and batched drivers, 16 workers
    python experiments/many_workers.py --workers 16 --modes batched,aggregated --seeds 0
    python experiments/many_workers.py --quick     # seed 0 only

Each run is `a3c-ray train --env CartPole-v1 --workers 16` (CLI defaults: stop when the greedy evaluation reaches
475, 90 s budget here), with the driver mode changed. Start-up is split into Ray's start and the workers': the
summary's startup_s ends when the first worker is up (training starts then), and the progress table's
workers_running says when the last one joined. Writes `<out>/runs.csv` and `<out>/many_workers.md`.
"""

from __future__ import annotations

import pandas as pd

from a3c_ray.plumbing.atomic import atomic_write_text
from common import csv_list, output_dir, parser, seed_list, share, sweep, table

MODES = {"per_gradient": {"batch_gradients": False, "node_aggregators": False}, "batched": {"batch_gradients": True},
         "aggregated": {"node_aggregators": True}}
COLUMNS = ["startup_s", "all_workers_up_s", "time_to_solve_s", "env_steps_to_solve", "env_steps_per_s",
           "gradients_per_update", "policy_lag_mean", "greedy_return", "wall_s"]
KEYS = ["workers", "seed", "solved", "wall_s", "startup_s", "all_workers_up_s", "time_to_solve_s",
        "env_steps_to_solve", "env_steps_per_s", "gradients_per_update", "policy_lag_mean", "greedy_return"]


def workers_up(result) -> dict:
    """When the last worker joined (from the progress table), and how many gradients an update took."""
    s, progress = result.summary, result.progress
    full = progress[progress["workers_running"] >= result.config.workers]
    return {"all_workers_up_s": s["startup_s"] + full["time_s"].iloc[0] if len(full) else None,
            "gradients_per_update": s["gradients"] / max(s["updates"], 1)}


def markdown(runs: pd.DataFrame) -> str:
    """Median [min, max] per mode and worker count."""
    return table(runs, ["mode", "workers"], {"seeds": len, "solved": share("solved"),
                                             **{col: (col, ",.1f") for col in COLUMNS}})


def main() -> None:
    options = parser(__doc__, "many_workers")
    options.add_argument("--workers", type=int, default=16)
    options.add_argument("--modes", type=csv_list, default="per_gradient,batched")
    options.add_argument("--seeds", type=seed_list, default="0,1,2")
    args = options.parse_args()
    out = output_dir(args, "many_workers")
    # no local_ray(): each run starts (and stops) its own Ray, start-up is part of what is measured
    runs = sweep({mode: MODES[mode] for mode in args.modes}, [0] if args.quick else args.seeds, out / "runs",
                 label="mode", keys=KEYS, eval_episodes=20, extra=workers_up, env="CartPole-v1",
                 workers=args.workers, stop_seconds=90,
                 on_row=lambda runs: atomic_write_text(out / "runs.csv", runs.to_csv(index=False)))
    atomic_write_text(out / "many_workers.md", markdown(runs))
    print(markdown(runs))


if __name__ == "__main__":
    main()
