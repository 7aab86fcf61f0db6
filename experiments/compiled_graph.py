"""Would Ray Compiled Graphs close the Ray path's gap to mp? The Ray backend's loop over two transports, measured.

    python experiments/compiled_graph.py            # CartPole-v1 and Pendulum-v1, 20 s per run, seeds 0-2
    python experiments/compiled_graph.py --quick    # CartPole-v1, 8 s per run, seed 0

The backend's batched loop (apply every finished gradient as one mean, send each of those workers a task with the
newest weights, --tasks-per-worker tasks queued at each, every update recorded by the run's Recorder), run by this
script with 2 of the backend's own RayRolloutWorker actors and its Learner, over two transports: actor tasks and
`ray.wait` (what the backend does), and one Ray Compiled Graph (beta) per worker, executed asynchronously (a
compiled graph's results cannot be `ray.wait`ed on; an actor runs one compiled graph at a time). Beside them, the
trainer itself (`a3c_ray.train`, the CLI's config) with the Ray and mp backends (2 workers, the same seconds, no
stop, no evaluation). Seeds are the outer loop, so all four share the machine's drift. A prototype for a decision,
not a backend: no worker replacement, no aggregators, no --sync. Writes `<out>/runs.csv` and
`<out>/compiled_graph.md` (env steps/s, median [min, max]; per seed, each over mp).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pandas as pd
import ray
import torch

from a3c_ray import make_config
from a3c_ray.backends.ray_workers import RayRolloutWorker
from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import GradientBatch
from a3c_ray.core.learner import Learner, apply_batch
from a3c_ray.core.messages import pack_weights, unpack_gradients
from a3c_ray.plumbing.atomic import atomic_write_text
from a3c_ray.run.recorder import Recorder
from common import compile_per_actor, local_ray, output_dir, parser, plan, run_row, table

WAIT_S = 30.0


class Driver:
    """The learner's side of the loop: apply a batch, record it, publish the weights once per version."""

    def __init__(self, config: Config):
        torch.set_num_threads(1)  # as the Trainer does
        self.config, self.learner, self.recorder = config, Learner(config), Recorder(config)
        self.published = (-1, b"")
        self.recorder.start_time = time.perf_counter()

    def weights(self) -> bytes:
        if self.published[0] != self.learner.version:
            self.published = (self.learner.version, pack_weights(self.learner.weights()))
        return self.published[1]

    def apply(self, results: list[bytes]) -> None:
        batch = GradientBatch()
        for result in results:
            batch.add(unpack_gradients(result))
        self.recorder.record(apply_batch(self.learner, batch, self.config.max_policy_lag), time.perf_counter())
        self.learner.set_progress(self.recorder.env_steps)


def over_tasks(driver: Driver, actors: list, seconds: float) -> None:
    pending = {actor.compute_gradients.remote(driver.weights()): i
               for i, actor in enumerate(actors) for _ in range(driver.config.tasks_per_worker)}
    while time.perf_counter() - driver.recorder.start_time < seconds:
        ready, rest = ray.wait(list(pending), num_returns=1, timeout=WAIT_S)
        if ready and rest:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        driver.apply(ray.get(ready, timeout=WAIT_S))
        for ref in ready:
            index = pending.pop(ref)
            pending[actors[index].compute_gradients.remote(driver.weights())] = index
    ray.get(list(pending), timeout=WAIT_S)


async def over_graphs(driver: Driver, actors: list, seconds: float) -> None:
    """The loop over one compiled graph per actor."""
    queued = driver.config.tasks_per_worker
    graphs = compile_per_actor(actors, "compute_gradients", queued)

    async def call(index: int):
        future = await graphs[index].execute_async(driver.weights())
        return index, await future

    try:
        pending = {asyncio.ensure_future(call(i)) for i in range(len(graphs)) for _ in range(queued)}
        driver.recorder.start_time = time.perf_counter()
        while time.perf_counter() - driver.recorder.start_time < seconds:
            done, pending = await asyncio.wait(pending, timeout=WAIT_S, return_when=asyncio.FIRST_COMPLETED)
            if not done:
                raise RuntimeError(f"no compiled-graph result within {WAIT_S:.0f} s")
            finished = [task.result() for task in done]
            driver.apply([result for _, result in finished])
            pending |= {asyncio.ensure_future(call(index)) for index, _ in finished}
        await asyncio.wait(pending, timeout=WAIT_S)
    finally:
        for graph in graphs:
            graph.teardown()


def prototype(env: str, seed: int, seconds: float, transport: str) -> dict:
    """env steps/s of the loop over `transport` ("tasks" or "compiled graph"), timed from the workers being up."""
    config = make_config(env, workers=2, seed=seed, eval_interval_steps=0, stop_at_threshold=False,
                         stop_seconds=seconds)  # as `a3c-ray train --stop-seconds` makes it
    with local_ray():
        actors = [RayRolloutWorker.remote(config, index) for index in range(2)]
        ray.get([actor.ready.remote() for actor in actors], timeout=120)
        driver = Driver(config)
        if transport == "compiled graph":
            asyncio.run(over_graphs(driver, actors, seconds))
        else:
            over_tasks(driver, actors, seconds)
        elapsed = time.perf_counter() - driver.recorder.start_time
    r = driver.recorder
    return {"env_steps_per_s": r.env_steps / elapsed, "gradients_per_update": r.gradients / max(r.updates, 1)}


def backend_run(env: str, seed: int, seconds: float, backend: str, out: Path) -> dict:
    """The trainer itself (`a3c-ray train`'s config) on `backend`: same workers, seconds, no stop, no evaluation."""
    row = run_row(env, out / "runs" / f"{env}-{backend}-s{seed}", stop_at_threshold=False, backend=backend,
                  workers=2, seed=seed, stop_seconds=seconds, eval_interval_steps=0)
    return {key: row[key] for key in ("env_steps_per_s", "gradients_per_update")}


def markdown(runs: pd.DataFrame) -> str:
    text = table(runs, ["env", "driver"], {"env steps/s": ("env_steps_per_s", ",.0f"),
                                           "gradients per update": ("gradients_per_update", ".2f")})
    mp = runs[runs["driver"] == "a3c_ray.train, mp"].set_index(["env", "seed"])["env_steps_per_s"]
    over = runs.assign(over_mp=[s / mp[e, k] for e, k, s in zip(runs["env"], runs["seed"], runs["env_steps_per_s"])])
    return text + "\nEach over mp at the same seed, median [min, max] over seeds:\n\n" + table(
        over[over["driver"] != "a3c_ray.train, mp"], ["env", "driver"], {"/ mp": ("over_mp", ".2f")})


def main() -> None:
    args = parser(__doc__, "compiled_graph").parse_args()
    out = output_dir(args, "compiled_graph")
    envs, seeds = plan(args.quick)
    seconds = 8.0 if args.quick else 20.0
    rows = []
    for seed in seeds:
        for env in envs:
            for driver in ("prototype, tasks", "prototype, compiled graph", "a3c_ray.train, ray",
                           "a3c_ray.train, mp"):
                kind, _, how = driver.partition(", ")
                row = prototype(env, seed, seconds, how) if kind == "prototype" else \
                    backend_run(env, seed, seconds, how, out)
                rows.append({"env": env, "seed": seed, "driver": driver, **row})
                print(rows[-1], flush=True)
                atomic_write_text(out / "runs.csv", pd.DataFrame(rows).to_csv(index=False))
    runs = pd.DataFrame(rows)
    atomic_write_text(out / "compiled_graph.md", f"2 workers, {seconds:.0f} s per run, seeds {seeds}:\n\n"
                      + markdown(runs))


if __name__ == "__main__":
    main()
