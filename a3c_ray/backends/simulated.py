"""Simulated rollout workers, to measure what the driver (and Ray) can carry without the CPUs to run real ones.

One async actor hosts many virtual workers. Each `compute_gradients(weights, slot)` deserialises the weights it
is handed, as a real worker does, sleeps `task_ms` instead of stepping envs, and returns a precomputed gradient
of the real size in a Gradients, so the driver's side (transport, batching, apply, publishing) is the real one.
experiments/driver_capacity.py drives it.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import ray

from a3c_ray.backends.ray_workers import WorkerHandle
from a3c_ray.config import Config
from a3c_ray.core.messages import Gradients, pack_gradients, unpack_weights

METRICS = {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "grad_norm": 0.0}


@ray.remote(num_cpus=0)
class SimulatedWorkerHost:
    def __init__(self, num_params: int, task_ms: float, env_steps_per_task: int):
        self.grads = (np.random.default_rng(0).standard_normal(num_params) * 1e-4).astype(np.float32)
        self.task_s, self.env_steps = task_ms / 1000.0, env_steps_per_task
        self.busy_s, self.tasks = 0.0, 0
        self.slots: dict[int, asyncio.Lock] = {}  # a virtual worker runs its queued tasks one after another

    def ready(self) -> str:
        return ray.get_runtime_context().get_node_id()

    async def compute_gradients(self, weights: bytes, slot: int) -> bytes:
        version = unpack_weights(weights).version
        async with self.slots.setdefault(slot, asyncio.Lock()):
            start = time.perf_counter()
            await asyncio.sleep(self.task_s)
            self.busy_s += time.perf_counter() - start
            self.tasks += 1
        return pack_gradients(Gradients(slot, version, self.grads, self.env_steps, [], dict(METRICS)))

    def stats(self, reset: bool = False) -> tuple[float, int]:
        """Seconds the virtual workers spent in tasks, and tasks finished, since the last reset."""
        out = (self.busy_s, self.tasks)
        if reset:
            self.busy_s, self.tasks = 0.0, 0
        return out


class SimulatedWorkers:
    """A worker factory for RayBackend(make_worker=...): virtual worker i lives in host i % hosts."""

    def __init__(self, num_params: int, task_ms: float, hosts: int = 4, env_steps_per_task: int = 512):
        self.hosts = [SimulatedWorkerHost.remote(num_params, task_ms, env_steps_per_task) for _ in range(hosts)]

    def __call__(self, config: Config, index: int, incarnation: int = 0) -> WorkerHandle:
        return WorkerHandle(index, self.hosts[index % len(self.hosts)], slot=index)

    def stats(self, reset: bool = False) -> tuple[float, int]:
        parts = ray.get([host.stats.remote(reset) for host in self.hosts])
        return sum(p[0] for p in parts), sum(p[1] for p in parts)

    def close(self) -> None:
        for host in self.hosts:
            ray.kill(host)
