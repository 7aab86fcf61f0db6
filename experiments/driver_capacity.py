"""Driver capacity: how many gradients per second the Ray driver accepts, with simulated workers.

    python experiments/driver_capacity.py            # the whole grid (about 40 minutes here)
    python experiments/driver_capacity.py --quick    # under 10 minutes; includes 256 workers x 50 ms x 20 KB

Simulated workers (a3c_ray.backends.simulated) run no env: each task sleeps `task_ms` in one of a few async host
actors and returns a precomputed gradient of the real size, so 512 workers need no 512 processes. The driver is
the trainer's own RayBackend with a real Learner (a model of that size, fused Adam), in each mode:

- bare: a loop that only waits, gets and resubmits (no apply, no new weights): the transport's ceiling;
- per_gradient: one optimizer step per gradient (the A3C paper's driver; the default below
  AGGREGATE_FROM_WORKERS workers since 2026-12-07);
- batched: every finished gradient in one step (`--batch-gradients`; the default below AGGREGATE_FROM_WORKERS
  workers until 2026-12-07);
- aggregated: node aggregators forward sums (the default from AGGREGATE_FROM_WORKERS).

Writes `<out>/driver_capacity.csv` and `.md`: demand_per_s = workers x 1000 / task_ms; gradients_per_s = what the
driver accepted; driver_cpu_us_per_gradient = the driver process's CPU time (its Ray threads included) over those
gradients; worker_busy = the share of the window the virtual workers spent in tasks; lag over every gradient.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import ray
import torch

from a3c_ray import make_config
from a3c_ray.backends.protocol import AGGREGATE_FROM_WORKERS
from a3c_ray.backends.ray_backend import INLINE_WEIGHTS_BYTES, RayBackend
from a3c_ray.backends.simulated import SimulatedWorkers
from a3c_ray.core.learner import Learner
from a3c_ray.core.messages import pack_weights
from a3c_ray.plumbing.atomic import atomic_write_text
from common import csv_list, local_ray, output_dir, parser

MODES = ("bare", "per_gradient", "batched", "aggregated")
TASKS_PER_WORKER = 2  # queued at each worker, so that a task's round trip does not idle it (the bare loop too)
HIDDEN = {20_000: (48, 48), 2_000_000: (512, 512)}  # CartPole actor + critic MLPs of about that many bytes
COLUMNS = ["mode", "default", "workers", "task_ms", "grad_bytes", "demand_per_s", "gradients_per_s", "updates_per_s",
           "lag_mean", "lag_p95", "worker_busy", "driver_cpu_us_per_gradient"]


def grid(quick: bool) -> list[tuple[int, int, int]]:
    """(workers, task_ms, grad size) cells."""
    if quick:
        return [(w, 50, 20_000) for w in (16, 64, 256)] + [(16, 50, 2_000_000)]
    cells = [(w, t, 20_000) for t in (10, 50) for w in (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)]
    return cells + [(w, t, 2_000_000) for t in (10, 50) for w in (1, 4, 16, 64)]


def measure(mode: str, workers: int, task_ms: int, size: int, seconds: float) -> dict:
    config = make_config("CartPole-v1", workers=workers, hidden_sizes=HIDDEN[size], progress_bar=False,
                         batch_gradients=mode != "per_gradient", node_aggregators=mode == "aggregated",
                         tasks_per_worker=TASKS_PER_WORKER, worker_timeout_s=60.0)
    learner = Learner(config)
    num_params = sum(p.numel() for p in learner.model.parameters())
    sim = SimulatedWorkers(num_params, task_ms, hosts=min(4, workers))
    backend = None if mode == "bare" else RayBackend(config, learner, make_worker=sim)
    try:
        window = bare_loop(config, learner, sim, seconds) if backend is None else trained(backend, sim, seconds)
    finally:
        if backend is not None:
            backend.stop()
        sim.close()
    elapsed, cpu, busy_s, lags, steps = window
    accepted = len(lags)
    default = mode == ("aggregated" if workers >= AGGREGATE_FROM_WORKERS else "per_gradient")  # since 2026-12-07
    measured = [lag for lag in lags if lag is not None]
    return {"mode": mode, "default": default, "workers": workers, "task_ms": task_ms, "grad_bytes": num_params * 4,
            "demand_per_s": workers * 1000 / task_ms, "gradients_per_s": accepted / elapsed,
            "updates_per_s": steps / elapsed, "lag_mean": float(np.mean(measured)) if measured else np.nan,
            "lag_p95": float(np.percentile(measured, 95)) if measured else np.nan,
            "worker_busy": busy_s / (workers * elapsed),
            "driver_cpu_us_per_gradient": 1e6 * cpu / accepted if accepted else np.nan}


def trained(backend: RayBackend, sim: SimulatedWorkers, seconds: float):
    """(elapsed, driver CPU s, workers' busy s, lag of each accepted gradient, optimizer steps) of one window."""
    backend.start()
    while backend.running < len(backend.workers):  # every worker up
        backend.poll(timeout=0.5)
    run_for(backend, 2.0)  # warm-up: every worker busy, caches filled
    sim.stats(reset=True)
    cpu0, t0 = time.process_time(), time.perf_counter()
    updates = run_for(backend, seconds)
    cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - t0
    lags = [i.policy_lag for u in updates for i in u.gradients if not i.status]
    return elapsed, cpu, sim.stats()[0], lags, sum(u.applied for u in updates)


def run_for(backend: RayBackend, seconds: float) -> list:
    updates, end = [], time.perf_counter() + seconds
    while time.perf_counter() < end:
        updates += backend.poll(timeout=0.5)
    return updates


def bare_loop(config, learner: Learner, sim: SimulatedWorkers, seconds: float):
    """Wait for the first finished task, take the other finished ones, get them all, resubmit: nothing else."""
    handles = [sim(config, i) for i in range(config.workers)]
    weights = pack_weights(learner.weights())  # sent as the trainer sends them: inline when small, one ray.put
    if len(weights) >= INLINE_WEIGHTS_BYTES:  # when large
        weights = ray.put(weights)
    pending = {handles[i].compute_gradients(weights): i for i in range(config.workers) for _ in range(TASKS_PER_WORKER)}

    def spin(duration: float) -> int:
        done, end = 0, time.perf_counter() + duration
        while time.perf_counter() < end:
            ready, rest = ray.wait(list(pending), num_returns=1, timeout=0.5)
            if ready and rest:
                ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
            ray.get(ready)
            for ref in ready:
                i = pending.pop(ref)
                pending[handles[i].compute_gradients(weights)] = i
            done += len(ready)
        return done

    spin(2.0)
    sim.stats(reset=True)
    cpu0, t0 = time.process_time(), time.perf_counter()
    done = spin(seconds)
    cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - t0
    busy = sim.stats()[0]
    ray.get(list(pending))
    return elapsed, cpu, busy, [None] * done, 0


def markdown(table: pd.DataFrame) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for _, r in table.iterrows():
        lines.append(f"| {r['mode']} | {'yes' if r['default'] else ''} | {r['workers']} | {r['task_ms']} | "
                     f"{r['grad_bytes']:,} | {r['demand_per_s']:,.0f} | {r['gradients_per_s']:,.0f} | "
                     f"{r['updates_per_s']:,.0f} | {r['lag_mean']:.1f} | {r['lag_p95']:.1f} | {r['worker_busy']:.2f} "
                     f"| {r['driver_cpu_us_per_gradient']:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    options = parser(__doc__, "driver_capacity")
    options.add_argument("--seconds", type=float, default=None, help="measured window per cell (5 quick, 10 full)")
    options.add_argument("--modes", type=csv_list, default=",".join(MODES))
    args = options.parse_args()
    torch.set_num_threads(1)  # as the trainer's driver runs
    out = output_dir(args, "driver_capacity")
    seconds = args.seconds or (5.0 if args.quick else 10.0)
    rows = []
    with local_ray():
        for workers, task_ms, size in grid(args.quick):
            for mode in args.modes:
                rows.append(measure(mode, workers, task_ms, size, seconds))
                print({k: round(v, 2) if isinstance(v, float) else v for k, v in rows[-1].items()}, flush=True)
                table = pd.DataFrame(rows, columns=COLUMNS)
                atomic_write_text(out / "driver_capacity.csv", table.to_csv(index=False))
                atomic_write_text(out / "driver_capacity.md", markdown(table))
    print(markdown(pd.DataFrame(rows, columns=COLUMNS)))


if __name__ == "__main__":
    main()
