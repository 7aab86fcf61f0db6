"""Rollout workers as Ray actors, and the handle the driver and the aggregators hold them by.

A handle speaks the worker protocol (`compute_gradients(weights)` returns a Gradients) whether it points at a
real actor or at one slot of a simulated-worker host (a3c_ray.backends.simulated), so the driver's capacity can
be measured with the same code that trains. Both cross Ray packed into bytes (messages.pack_weights,
pack_gradients): Ray passes bytes without serialising objects.
"""

from __future__ import annotations

import os

import ray

from a3c_ray.config import Config
from a3c_ray.core.messages import pack_gradients, unpack_weights
from a3c_ray.core.worker import RolloutWorker


@ray.remote(num_cpus=1)
class RayRolloutWorker:
    """A thin actor around the core's RolloutWorker."""

    def __init__(self, config: Config, index: int, incarnation: int = 0):
        self.worker = RolloutWorker(config, index, incarnation)

    def ready(self) -> str:
        """The id of the node this worker landed on (workers are grouped by node for aggregation)."""
        return ray.get_runtime_context().get_node_id()

    def pid(self) -> int:
        """The actor's process id, so a test can end exactly the process its run started."""
        return os.getpid()

    def compute_gradients(self, weights: bytes) -> bytes:
        """Packed weights in, packed gradients out."""
        return pack_gradients(self.worker.compute_gradients(unpack_weights(weights)))


class WorkerHandle:
    """Picklable: an aggregator on another node gets the same handle the driver holds."""

    def __init__(self, index: int, actor, slot: int | None = None):
        self.index, self.actor, self.slot = index, actor, slot

    def compute_gradients(self, weights) -> ray.ObjectRef:
        """`weights`: pack_weights() bytes, or an ObjectRef of them; the result is unpack_gradients()' input."""
        if self.slot is None:
            return self.actor.compute_gradients.remote(weights)
        return self.actor.compute_gradients.remote(weights, self.slot)

    def ready(self) -> ray.ObjectRef:
        return self.actor.ready.remote()

    def kill(self) -> None:
        if self.slot is not None:
            return  # a simulated slot shares its host with others
        try:
            ray.kill(self.actor, no_restart=True)
        except ray.exceptions.RayError:
            pass  # already gone


def placement() -> dict:
    """SPREAD: on a cluster, workers go to different nodes where they can, so one lost node costs few of them.
    Inside a placement group (a Tune trial) the workers stay in the group's bundles instead."""
    if ray.util.get_current_placement_group() is not None:
        return {}
    return {"scheduling_strategy": "SPREAD"}


def new_rollout_worker(config: Config, index: int, incarnation: int = 0) -> WorkerHandle:
    """The default worker factory of the Ray backend."""
    return WorkerHandle(index, RayRolloutWorker.options(**placement()).remote(config, index, incarnation))
