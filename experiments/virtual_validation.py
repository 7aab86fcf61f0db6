"""Does --backend virtual learn as real Ray workers do? The same configs on both, same seeds, compared.

1. Real Ray workers (2, 4 and 16 on this machine) train each env with its defaults; every task's compute time and
   round trip are recorded.
2. The virtual cluster is fitted to them, per env and worker count: task_ms the mean compute time, task_cv its
   spread (std / mean); driver_ms_per_call (here the driver shares 2 cores with the workers and Ray) found by
   bisection so that short virtual runs batch as many gradients per update as the real ones did, with
   latency_ms the real round trip less the task and that driver time (Little's law: the simulated workers then
   return gradients at the real rate).
3. The virtual backend runs the same configs with that model.
Runs are solved by the 100-episode training mean (no evaluation: a greedy evaluation pauses a real run, or shares
its CPUs, and either changes the lag it is judged on). The table puts env steps to solve, policy lag and gradients
per update of the two side by side (median [min, max] over seeds); the simulator passes where the virtual medians
fall within the real runs' seed spread.

    python experiments/virtual_validation.py            # CartPole-v1 and Pendulum-v1, 2/4/16 workers, 3 seeds
    python experiments/virtual_validation.py --quick    # CartPole-v1, 2 and 4 workers, 1 seed
    python experiments/virtual_validation.py --envs CartPole-v1 --workers 16 --config '{"batch_gradients": true}'
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from a3c_ray.plumbing.atomic import atomic_write_text  # noqa: E402
from a3c_ray.run import recorder as recorder_module  # noqa: E402
from common import ENVS, SEEDS, csv_list, output_dir, parser, seed_list, share, sweep, table  # noqa: E402

KEYS = ["env", "workers", "seed", "solved", "env_steps_to_solve", "policy_lag_mean", "policy_lag_p50",
        "policy_lag_p95", "gradients_per_update", "training_s", "updates"]
BISECTIONS = 7
FIT_STEPS = 40_000  # env steps of each short fitting run
NO_EVAL = {"stop_on_eval": False, "eval_interval_steps": 0}  # solved by the training mean
TASKS: list[tuple[float, float]] = []  # (compute_s, round_trip_s) of every gradient of the current run


def record_task_times() -> None:
    """Every gradient's compute time and round trip, as the recorder sees them (the run files keep only means)."""
    original = recorder_module.Recorder.record

    def record(self, update, now):
        TASKS.extend((g.metrics.get("compute_s", np.nan), g.metrics.get("round_trip_s", np.nan))
                     for g in update.gradients)
        return original(self, update, now)

    recorder_module.Recorder.record = record


def task_stats(result) -> dict:
    """The run's task-time statistics, and its policy lag once every worker is up: a local Ray's workers come up
    a few at a time on 2 cores (docs/scaling.md), so a short real run spends part of its time with fewer workers
    than the virtual one, which has all of them from the start."""
    times = np.array(TASKS)
    TASKS.clear()
    compute, round_trip = times[:, 0], times[:, 1]
    rows = result.progress
    up = rows[(rows["workers_running"] == result.config.workers) & rows["policy_lag_mean"].notna()]
    return {"task_ms": 1000 * float(np.mean(compute)), "task_cv": float(np.std(compute) / np.mean(compute)),
            "latency_ms": 1000 * float(np.mean(round_trip) - np.mean(compute)),
            "all_up_lag_mean": float(up["policy_lag_mean"].mean()) if len(up) else np.nan,
            "all_up_lag_p95": float(up["policy_lag_p95"].median()) if len(up) else np.nan}


def fit(real: pd.DataFrame, seed: int, out: Path, overrides: dict) -> dict[tuple[str, int], dict]:
    """The virtual cluster per (env, workers), from the real runs' medians over seeds (see the module's doc)."""
    models = {}
    for (env, workers), group in real.groupby(["env", "workers"], sort=False):
        stats = {key: float(group[key].median()) for key in ("task_ms", "task_cv", "latency_ms")}
        target = float(group["gradients_per_update"].median())
        low, high = 0.05, float((1000 * group["training_s"] / (group["updates"] * group["gradients_per_update"]))
                                .median())
        for _ in range(BISECTIONS):
            call = (low * high) ** 0.5
            model = model_for(stats, call)
            if batching(env, workers, model, seed, out, overrides) > target:
                high = call
            else:
                low = call
        models[env, workers] = model_for(stats, (low * high) ** 0.5)
    return models


def model_for(stats: dict, call_ms: float) -> dict:
    return {"task_ms": stats["task_ms"], "task_cv": stats["task_cv"], "driver_ms_per_call": call_ms,
            "latency_ms": max(0.0, stats["latency_ms"] - call_ms)}


def batching(env: str, workers: int, model: dict, seed: int, out: Path, overrides: dict) -> float:
    """Gradients per update of a short virtual run with this cluster."""
    from a3c_ray import make_config, train

    config = make_config(env, workers=workers, backend="virtual", virtual=model, seed=seed, stop_steps=FIT_STEPS,
                         out=str(out / "runs" / "fit" / f"{env.replace('/', '_')}-{workers}"), overwrite=True,
                         progress_bar=False, **overrides,
                         **NO_EVAL)
    TASKS.clear()
    summary = train(config).summary
    TASKS.clear()
    return summary["gradients_per_update"]


def main() -> None:
    p = parser(__doc__, "virtual_validation")
    p.add_argument("--envs", type=csv_list, default=None)
    p.add_argument("--workers", type=lambda t: [int(w) for w in csv_list(t)], default=None)
    p.add_argument("--seeds", type=seed_list, default=None)
    p.add_argument("--reuse-real", action="store_true", help="fit to <out>/real.csv instead of running real Ray")
    p.add_argument("--config", type=json.loads, default={}, help="config overrides for every run (real, fitting "
                   "and virtual), as JSON: '{\"batch_gradients\": true}' validates the batched driver")
    args = p.parse_args()
    out = output_dir(args, "virtual_validation")
    envs = args.envs or (ENVS[:1] if args.quick else ENVS)
    workers = args.workers or ([2, 4] if args.quick else [2, 4, 16])
    seeds = args.seeds or (SEEDS[:1] if args.quick else SEEDS)
    record_task_times()
    keys = KEYS + ["task_ms", "task_cv", "latency_ms", "all_up_lag_mean", "all_up_lag_p95"]
    real_csv = out / "real.csv"
    if args.reuse_real:
        real = pd.read_csv(real_csv)
    else:
        frames = []
        # each real run starts its own Ray, with a CPU for each of its workers (common.local_ray() has 2)
        for env in envs:
            grid = {w: {"workers": w} for w in workers}
            frames.append(sweep(grid, seeds, out / "runs" / "real", label="n", keys=keys, extra=task_stats,
                                env=env, backend="ray", wait_for_workers=True, **args.config, **NO_EVAL))
            atomic_write_text(real_csv, pd.concat(frames).to_csv(index=False))
        real = pd.concat(frames)
    real = real.assign(backend="ray")
    models = fit(real, seeds[0], out, args.config)
    frames = []
    for (env, n), model in models.items():
        frames.append(sweep({n: {"workers": n, "virtual": model}}, seeds, out / "runs" / "virtual", label="n",
                            keys=keys, extra=task_stats, env=env, backend="virtual", **args.config, **NO_EVAL))
    virtual = pd.concat(frames).assign(backend="virtual")
    both = pd.concat([real, virtual], ignore_index=True).drop(columns=["n"])
    atomic_write_text(out / "validation.csv", both.to_csv(index=False))
    atomic_write_text(out / "validation.md", report(both, models))
    print(report(both, models))


def report(both: pd.DataFrame, models: dict) -> str:
    columns = {"solved": share("solved"), "env steps to solve": ("env_steps_to_solve", ",.0f"),
               "lag mean": ("policy_lag_mean", ".2f"), "lag p95": ("policy_lag_p95", ".0f"),
               "lag mean, all up": ("all_up_lag_mean", ".2f"), "lag p95, all up": ("all_up_lag_p95", ".0f"),
               "gradients per update": ("gradients_per_update", ".2f"), "compute ms here": ("task_ms", ".1f"),
               "round trip less task, ms": ("latency_ms", ".1f")}
    lines = ["# Virtual backend vs real Ray workers\n",
             "Same configs and seeds; the virtual model fitted per env and worker count to the real runs' task "
             "times (median [min, max] over seeds; solved by the 100-episode training mean). \"compute ms here\": "
             "a task's compute time as measured in the run (the virtual backend's own, in one process; the task "
             "times it simulates are the fitted task_ms below).\n",
             table(both.sort_values(["env", "workers", "backend"], kind="stable"), ["env", "workers", "backend"],
                   columns), "\nFitted models:\n"]
    lines += [f"- {env}, {n} workers: task_ms {m['task_ms']:.1f}, task_cv {m['task_cv']:.2f}, driver_ms_per_call "
              f"{m['driver_ms_per_call']:.2f}, latency_ms {m['latency_ms']:.1f}" for (env, n), m in models.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
