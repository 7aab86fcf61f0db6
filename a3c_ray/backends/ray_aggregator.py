"""Per-node gradient aggregation: one actor on each node keeps that node's workers busy and adds up their
gradients, so the driver makes one call per batch instead of one per gradient.

It speaks the worker protocol downwards (it hands each worker the newest weights with its next task, as the
driver does without it) and the learner's upwards (`collect` returns a GradientBatch, summed per weight version
so the driver can still drop stale gradients exactly). Workers that fail or fall silent are reported to the
driver, which owns every worker and replaces them; the aggregator only stops using them.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from dataclasses import dataclass, field

import ray

from a3c_ray.core.gradient_batch import GradientBatch
from a3c_ray.core.messages import unpack_gradients
from a3c_ray.errors import first_line

COLLECT_WAIT_S = 1.0  # a collect call with nothing to hand over returns after this long (the driver's heartbeat)


@dataclass
class AggregatorReport:
    batch: GradientBatch
    failed: dict[int, str] = field(default_factory=dict)  # worker index -> why it was dropped


@ray.remote(num_cpus=0)
class GradientAggregator:
    """Takes no CPU of its own from the scheduler: it waits on its workers most of the time."""

    def __init__(self, tasks_per_worker: int, worker_timeout_s: float):
        self.tasks_per_worker, self.worker_timeout_s = tasks_per_worker, worker_timeout_s
        self.weights = None
        self.loops: dict[int, asyncio.Task] = {}
        self.batch, self.failed = GradientBatch(), {}
        self.arrived = asyncio.Event()

    async def collect(self, weights, add: dict | None = None, remove: list[int] | None = None) -> AggregatorReport:
        """Take the newest weights (inline, or [ObjectRef] to pass on unresolved), start or stop workers, and hand
        over what has arrived since the last call: at once when something has, else within COLLECT_WAIT_S."""
        self.weights = weights[0] if isinstance(weights, list) else weights
        for index in remove or []:
            loop = self.loops.pop(index, None)
            if loop is not None:
                loop.cancel()
        for index, handle in (add or {}).items():
            self.loops[index] = asyncio.get_running_loop().create_task(self._keep_busy(index, handle))
        if not len(self.batch) and not self.failed:
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), COLLECT_WAIT_S)
            except asyncio.TimeoutError:
                pass
        report = AggregatorReport(self.batch, self.failed)
        self.batch, self.failed = GradientBatch(), {}
        return report

    async def _keep_busy(self, index: int, handle) -> None:
        """`tasks_per_worker` tasks in flight at one worker; each result is added up and replaced by a task with
        the newest weights. A failure or a silence past the timeout drops the worker and is reported."""
        in_flight: deque = deque((handle.compute_gradients(self.weights), time.monotonic())
                                 for _ in range(self.tasks_per_worker))
        try:
            while True:
                ref, sent = in_flight.popleft()
                gradients = unpack_gradients(await asyncio.wait_for(ref, self.worker_timeout_s))
                gradients.metrics["round_trip_s"] = time.monotonic() - sent
                self.batch.add(gradients)
                self.arrived.set()
                in_flight.append((handle.compute_gradients(self.weights), time.monotonic()))
        except asyncio.CancelledError:
            raise
        except asyncio.TimeoutError:
            self._drop(index, f"silent for {self.worker_timeout_s:.0f} s")
        except Exception as exc:  # a dead actor, a lost node, an exception in the env: the driver replaces it
            self._drop(index, first_line(exc))

    def _drop(self, index: int, reason: str) -> None:
        self.loops.pop(index, None)
        self.failed[index] = reason
        self.arrived.set()

    async def ready(self) -> int:
        """The aggregator's process id, once it is up (start-up waits for it, as for the workers)."""
        return os.getpid()
