"""What a task's weights and gradients cost by their size, inline or through Ray's object store.

    python experiments/ray_inline.py            # 3 rounds of 5 s per size and threshold
    python experiments/ray_inline.py --quick    # 1 round of 2 s

Ray passes a task's arguments and results of up to `max_direct_call_object_size` bytes inline (Ray's default
100 KiB) and puts larger ones in the shared-memory object store, through the raylet. A MinAtar model's weights
and gradients are ~530 KB each, so every task of a MinAtar run took the object store both ways. The loop is the
Ray backend's (2 actors, 2 calls queued each, the driver waiting for the first finished call and sending the next),
each call spinning `--task-ms` of the actor's CPU and carrying `size` bytes each way. Each threshold runs in a Ray of
its own (a child process), taking turns round by round. Per call: the driver's CPU, the raylet's and GCS's, and
the actors' beyond the spin, and calls/s, median [min, max] over the rounds. Writes `<out>/inline.csv` and
`<out>/inline.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import pandas as pd

from a3c_ray.backends.ray_runtime import INLINE_LIMIT_BYTES, RAY_INLINE_DEFAULT, start_local
from a3c_ray.plumbing.atomic import atomic_write_text
from common import csv_list, output_dir, parser, table

SIZES = [20_000, 250_000, 530_000, 1_000_000, 2_000_000, 7_000_000]  # CartPole's weights, ..., MinAtar's, ALE's


def child(threshold: int, sizes: list[int], seconds: float, task_ms: float) -> list[dict]:
    """Start a Ray with this inline threshold, and measure the loop for each size."""
    import psutil
    import ray

    start_local(num_cpus=2, log_to_driver=False, inline_bytes=threshold)  # as a run starts it, but this threshold

    @ray.remote(num_cpus=1)
    class Spinner:
        def __init__(self, task_s: float):
            self.task_s, self.result = task_s, b""

        def resize(self, size: int) -> None:
            self.result = os.urandom(size)

        def cpu_s(self) -> float:
            return time.process_time()

        def call(self, payload: bytes) -> bytes:
            end = time.thread_time() + self.task_s
            while time.thread_time() < end:
                pass
            return self.result

    node = ray._private.worker._global_node
    system = [psutil.Process(info.process.pid) for kind, infos in node.all_processes.items()
              if kind in ("raylet", "gcs_server") for info in infos]
    actors = [Spinner.remote(task_ms / 1000) for _ in range(2)]
    rows = []
    for size in sizes:
        ray.get([a.resize.remote(size) for a in actors], timeout=120)
        payload = os.urandom(size)
        pending = {a.call.remote(payload): a for a in actors for _ in range(2)}

        def loop(duration: float) -> int:
            calls, start = 0, time.perf_counter()
            while time.perf_counter() - start < duration:
                ready, _ = ray.wait(list(pending), num_returns=1, timeout=10)
                if not ready:
                    raise RuntimeError("no result within 10 s")
                ray.get(ready[0], timeout=10)
                actor = pending.pop(ready[0])
                pending[actor.call.remote(payload)] = actor
                calls += 1
            return calls

        loop(1.0)  # warm-up
        actors_cpu = sum(ray.get([a.cpu_s.remote() for a in actors], timeout=60))
        system_cpu = sum(sum(p.cpu_times()[:2]) for p in system)
        driver_cpu, start = time.process_time(), time.perf_counter()
        calls = loop(seconds)
        elapsed, driver_cpu = time.perf_counter() - start, time.process_time() - driver_cpu
        system_cpu = sum(sum(p.cpu_times()[:2]) for p in system) - system_cpu
        actors_cpu = sum(ray.get([a.cpu_s.remote() for a in actors], timeout=60)) - actors_cpu
        ray.get(list(pending), timeout=60)
        rows.append({"threshold": threshold, "size": size, "calls_per_s": calls / elapsed,
                     "driver_ms_per_call": driver_cpu / calls * 1e3, "raylet_gcs_ms_per_call": system_cpu / calls * 1e3,
                     "actor_ms_per_call": actors_cpu / calls * 1e3 - task_ms})
    ray.shutdown()
    return rows


def main() -> None:
    options = parser(__doc__, "ray_overhead")
    options.add_argument("--task-ms", type=float, default=10.0, help="the actor's CPU per call (a MinAtar task: ~20)")
    options.add_argument("--sizes", type=csv_list, help=f"bytes each way (default {','.join(map(str, SIZES))})")
    options.add_argument("--child", type=int, help=argparse.SUPPRESS)  # internal
    args = options.parse_args()
    sizes = [int(s) for s in args.sizes] if args.sizes else SIZES
    rounds, seconds = (1, 2.0) if args.quick else (3, 5.0)
    if args.child is not None:
        print(json.dumps(child(args.child, sizes, seconds, args.task_ms)))
        return
    out = output_dir(args, "ray_overhead")
    rows = []
    for round_ in range(rounds):
        for threshold in (RAY_INLINE_DEFAULT, INLINE_LIMIT_BYTES):
            command = [sys.executable, __file__, "--child", str(threshold), "--task-ms", str(args.task_ms),
                       "--sizes", ",".join(map(str, sizes))] + (["--quick"] if args.quick else [])
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            part = json.loads(done.stdout.strip().splitlines()[-1])
            rows += [{"round": round_, **row} for row in part]
            print(part, flush=True)
        runs = pd.DataFrame(rows)
        runs["threshold"] = runs["threshold"].map(lambda t: "Ray's default, 100 KiB" if t == RAY_INLINE_DEFAULT
                                                  else "ours, 1 MiB")
        atomic_write_text(out / "inline.csv", runs.to_csv(index=False))
        atomic_write_text(out / "inline.md", f"Tasks of {args.task_ms:.0f} ms of CPU, 2 actors x 2 calls queued, "
                          f"{round_ + 1} rounds of {seconds:.0f} s per size and threshold; `size` bytes each way:\n\n"
                          + table(runs, ["size", "threshold"], {
                              "calls/s": ("calls_per_s", ",.0f"), "driver CPU per call, ms": ("driver_ms_per_call",
                                                                                              ".2f"),
                              "raylet + GCS CPU per call, ms": ("raylet_gcs_ms_per_call", ".2f"),
                              "actors' CPU per call beyond the task, ms": ("actor_ms_per_call", ".2f")}))


if __name__ == "__main__":
    main()
