"""The driver's CPU per Ray actor call, by what the call carries: the floor under the Ray backend's cost per task.

    python experiments/ray_call_cost.py            # 3 rounds of 5 s per payload
    python experiments/ray_call_cost.py --quick    # 1 round of 2 s

Two actors, 2 calls queued at each, the driver waiting for the first finished call and sending the next one (the
backend's loop, without the learner). Each call spins `--task-ms` of CPU in the actor and carries: an int (and
returns an int); a Pendulum-v1 `Weights` (and returns its `Gradients`), as the backend sent them before 2026-12-07;
the same packed into bytes (`messages.pack_weights` / `pack_gradients`, unpacked at both ends), as it sends them
now; and the same bytes through a Ray Compiled Graph (beta; one graph per actor, executed asynchronously, as an
asynchronous driver would have to: a compiled graph's results cannot be `ray.wait`ed on), on two actors of its own
(an actor runs one compiled graph at a time); and through one compiled graph holding both actors, executed
synchronously (--sync's shape, no asyncio). The driver's CPU (time.process_time: every thread of the process, Ray's
C++ ones too) per call, and the actors' CPU per call less the spin, median [min, max] over the rounds, taking turns
payload by payload. Writes `<out>/call_cost.csv` and `<out>/call_cost.md`.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial

import pandas as pd
import ray

from a3c_ray import make_config
from a3c_ray.core.learner import Learner
from a3c_ray.core.messages import pack_gradients, pack_weights, unpack_gradients, unpack_weights
from a3c_ray.core.worker import RolloutWorker
from a3c_ray.plumbing.atomic import atomic_write_text
from common import compile_per_actor, local_ray, output_dir, parser, table


@ray.remote(num_cpus=1)
class Spinner:
    def __init__(self, gradients, task_ms: float):
        self.gradients, self.packed, self.task_s = gradients, pack_gradients(gradients), task_ms / 1000

    def _spin(self) -> None:
        """`task_ms` of this thread's CPU (not wall time: on a busy machine a wall-clock spin uses less CPU, and
        the actors' CPU beyond it would read low)."""
        end = time.thread_time() + self.task_s
        while time.thread_time() < end:
            pass

    def cpu_s(self) -> float:
        return time.process_time()

    def int_call(self, value: int) -> int:
        self._spin()
        return value

    def object_call(self, weights):
        self._spin()
        return self.gradients

    def bytes_call(self, weights: bytes) -> bytes:
        unpack_weights(weights)
        self._spin()
        return self.packed


def one_round(actors, payload: str, weights, seconds: float) -> dict:
    """Calls/s and driver CPU per call over `seconds` of the loop."""
    method, argument, unpack = {"int": ("int_call", 0, None), "Weights object": ("object_call", weights, None),
                                "bytes": ("bytes_call", pack_weights(weights), unpack_gradients)}[payload]
    pending = {getattr(a, method).remote(argument): i for i, a in enumerate(actors) for _ in range(2)}
    calls, cpu0, start = 0, time.process_time(), time.perf_counter()
    while time.perf_counter() - start < seconds:
        ready, _ = ray.wait(list(pending), num_returns=1, timeout=10)
        for ref in ready:
            result = ray.get(ref, timeout=10)
            if unpack:
                unpack(result)
            index = pending.pop(ref)
            argument = pack_weights(weights) if payload == "bytes" else argument  # packed per version, as sent
            pending[getattr(actors[index], method).remote(argument)] = index
            calls += 1
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    ray.get(list(pending), timeout=10)
    return {"payload": payload, "calls": calls + len(pending), "calls_per_s": calls / elapsed,
            "driver_ms_per_call": cpu / calls * 1e3}


async def compiled_loop(actors, weights, seconds: float) -> tuple[int, int, float, float]:
    """The same loop through one compiled graph per actor: (calls, calls drained at the end, seconds, driver CPU
    seconds)."""
    graphs = compile_per_actor(actors, "bytes_call", inflight=2)

    async def call(index: int):
        future = await graphs[index].execute_async(pack_weights(weights))
        return index, await future

    try:
        pending = {asyncio.ensure_future(call(i)) for i in range(len(graphs)) for _ in range(2)}
        calls, cpu0, start = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - start < seconds:
            done, pending = await asyncio.wait(pending, timeout=10, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                raise RuntimeError("no compiled-graph result within 10 s")
            for task in done:
                index, result = task.result()
                unpack_gradients(result)
                pending.add(asyncio.ensure_future(call(index)))
                calls += 1
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
        await asyncio.wait(pending, timeout=10)
        return calls, len(pending), elapsed, cpu
    finally:
        for graph in graphs:
            graph.teardown()


def compiled_round(actors, weights, seconds: float) -> dict:
    calls, drained, elapsed, cpu = asyncio.run(compiled_loop(actors, weights, seconds))
    return {"payload": "bytes, compiled graph", "calls": calls + drained, "calls_per_s": calls / elapsed,
            "driver_ms_per_call": cpu / calls * 1e3}


def compiled_sync_round(actors, weights, seconds: float) -> dict:
    """Both actors in one compiled graph, executed synchronously (no asyncio; --sync's shape: one weights message,
    both results together), 2 executions in flight."""
    from ray.dag import InputNode, MultiOutputNode

    with InputNode() as argument:
        graph = MultiOutputNode([actor.bytes_call.bind(argument) for actor in actors]).experimental_compile(
            _max_inflight_executions=2)
    try:
        pending = [graph.execute(pack_weights(weights)) for _ in range(2)]
        calls, cpu0, start = 0, time.process_time(), time.perf_counter()
        while time.perf_counter() - start < seconds:
            for result in ray.get(pending.pop(0), timeout=10):
                unpack_gradients(result)
                calls += 1
            pending.append(graph.execute(pack_weights(weights)))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
        for ref in pending:
            ray.get(ref, timeout=10)
    finally:
        graph.teardown()
    return {"payload": "bytes, one compiled graph, sync", "calls": calls + 2 * len(pending),
            "calls_per_s": calls / elapsed, "driver_ms_per_call": cpu / calls * 1e3}


def measured(actors, run, task_ms: float) -> dict:
    """`run()`'s row, with the actors' CPU per call beyond the spin (compiling and tearing down a graph
    included: a few ms over thousands of calls)."""
    before = ray.get([a.cpu_s.remote() for a in actors], timeout=60)
    row = run()
    after = ray.get([a.cpu_s.remote() for a in actors], timeout=60)
    row["actor_ms_per_call"] = (sum(after) - sum(before)) / row.pop("calls") * 1e3 - task_ms
    return row


def main() -> None:
    options = parser(__doc__, "ray_overhead")
    options.add_argument("--task-ms", type=float, default=3.0)
    args = options.parse_args()
    out = output_dir(args, "ray_overhead")
    rounds, seconds = (1, 2.0) if args.quick else (3, 5.0)
    config = make_config("Pendulum-v1")
    weights = Learner(config).weights()
    gradients = RolloutWorker(config, 0).compute_gradients(weights)
    rows = []
    with local_ray():
        # half a CPU each: both pairs fit a 2-CPU Ray, and only one pair is busy at a time
        actors = [Spinner.options(num_cpus=0.5).remote(gradients, args.task_ms) for _ in range(2)]
        compiled_actors = [Spinner.options(num_cpus=0.5).remote(gradients, args.task_ms) for _ in range(2)]
        ray.get([a.int_call.remote(0) for a in actors + compiled_actors], timeout=120)
        for _ in range(rounds):
            for payload in ("int", "Weights object", "bytes"):
                rows.append(measured(actors, partial(one_round, actors, payload, weights, seconds), args.task_ms))
                print(rows[-1], flush=True)
            for compiled in (compiled_round, compiled_sync_round):
                rows.append(measured(compiled_actors, partial(compiled, compiled_actors, weights, seconds),
                                     args.task_ms))
                print(rows[-1], flush=True)
    runs = pd.DataFrame(rows)
    atomic_write_text(out / "call_cost.csv", runs.to_csv(index=False))
    atomic_write_text(out / "call_cost.md", f"Task {args.task_ms:.0f} ms, 2 actors x 2 calls queued, "
                      f"{rounds} rounds of {seconds:.0f} s each payload:\n\n" + table(
                          runs, ["payload"], {"driver CPU per call, ms": ("driver_ms_per_call", ".3f"),
                                              "actors' CPU per call beyond the task, ms": ("actor_ms_per_call",
                                                                                           ".3f"),
                                              "calls/s": ("calls_per_s", ",.0f")}))


if __name__ == "__main__":
    main()
