"""Real workers, more of them than cores: CartPole-v1 with 16 Ray workers on this 2-core machine.

    python experiments/many_workers.py             # seeds 0-2, per-gradient and batched drivers, 16 workers
    python experiments/many_workers.py --workers 16 --modes batched,aggregated --seeds 0

Each run is `a3c-ray train --env CartPole-v1 --workers 16` (CLI defaults: stop when the greedy evaluation reaches
475, 90 s budget here), with the driver mode changed. Start-up is split into Ray's start and the workers': the
summary's startup_s ends when the first worker is up (training starts then), and the progress table's
workers_running says when the last one joined. Writes `<out>/runs.csv` and `<out>/many_workers.md`.
"""

from __future__ import annotations

import time

import pandas as pd

from a3c_ray import evaluate, make_config, train
from a3c_ray.plumbing.atomic import atomic_write_text
from common import output_dir, parser, spread

MODES = {"per_gradient": {"batch_gradients": False}, "batched": {}, "aggregated": {"node_aggregators": True}}


def run(mode: str, workers: int, seed: int, out) -> dict:
    config = make_config("CartPole-v1", seed=seed, workers=workers, stop_seconds=90, progress_bar=False,
                         overwrite=True, out=str(out / f"{mode}-w{workers}-s{seed}"), **MODES[mode])
    start = time.perf_counter()
    result = train(config)
    wall = time.perf_counter() - start
    s, progress = result.summary, result.progress
    full = progress[progress["workers_running"] >= workers]
    return {"mode": mode, "workers": workers, "seed": seed, "solved": s["solved"], "wall_s": wall,
            "startup_s": s["startup_s"], "all_workers_up_s": s["startup_s"] + full["time_s"].iloc[0]
            if len(full) else None, "time_to_solve_s": s["time_to_solve_s"],
            "env_steps_to_solve": s["env_steps_to_solve"], "env_steps_per_s": s["env_steps_per_s"],
            "gradients_per_update": s["gradients"] / max(s["updates"], 1),
            "policy_lag_mean": progress["policy_lag_mean"].mean(),
            "greedy_return": sum(evaluate(config.out, episodes=20)) / 20}


def main() -> None:
    options = parser(__doc__.splitlines()[0], "many_workers")
    options.add_argument("--workers", type=int, default=16)
    options.add_argument("--modes", default="per_gradient,batched")
    options.add_argument("--seeds", default="0,1,2")
    args = options.parse_args()
    out = output_dir(args, "many_workers")
    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",")]
    rows = []
    for mode in args.modes.split(","):
        for seed in seeds:  # each run starts (and stops) its own Ray: start-up is part of what is measured
            rows.append(run(mode, args.workers, seed, out / "runs"))
            print(rows[-1], flush=True)
            runs = pd.DataFrame(rows)
            atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    cols = ["solved", "startup_s", "all_workers_up_s", "time_to_solve_s", "env_steps_to_solve", "env_steps_per_s",
            "gradients_per_update", "policy_lag_mean", "greedy_return", "wall_s"]
    lines = ["| mode | workers | seeds | " + " | ".join(cols) + " |", "|---|---|---|" + "---|" * len(cols)]
    for (mode, workers), g in runs.groupby(["mode", "workers"], sort=False):
        cells = [str(int(g["solved"].sum())) + f"/{len(g)}"]
        for col in cols[1:]:
            cells.append(spread(g[col], ",.1f"))
        lines.append(f"| {mode} | {workers} | {len(g)} | " + " | ".join(cells) + " |")
    atomic_write_text(out / "many_workers.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
