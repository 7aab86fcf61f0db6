"""How tasks reach the Ray backend's workers, chosen once at start: the driver sends each worker its tasks
(`DirectTasks`), or one aggregator actor per node does and forwards their sum (`NodeAggregators`); with --sync,
rounds on the same weights (ray_sync.SyncRounds).

Each answers the same questions for the backend's one loop: what to do when a worker comes up, when a result comes
back, when a source fails or falls silent, and what to send next. A "source" is whatever a pending call was sent
to: a worker index (direct), or a node id (aggregated).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from a3c_ray.backends.protocol import batches_gradients
from a3c_ray.backends.ray_aggregator import AggregatorReport, GradientAggregator
from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import GradientBatch
from a3c_ray.core.messages import Gradients, unpack_gradients

READY_TIMEOUT_S = 120.0
log = logging.getLogger(__name__)


class Fleet(Protocol):
    """What a route reads and calls of the backend that owns the workers (RayBackend)."""

    config: Config
    workers: list  # worker index -> WorkerHandle (None: not created yet)
    pending: dict  # ObjectRef -> source
    last_heard: dict  # source -> when it last returned
    starting: dict  # worker index -> its ready() call
    replaced: set  # sources replaced during this poll
    booting: set  # workers not up for the first time yet
    start_deadline: float  # when the backend stops waiting for them

    def submit_tasks(self, index: int, count: int) -> None: ...

    def up_workers(self) -> list[int]: ...

    def weights_arg(self) -> object: ...

    def replace(self, index: int, reason: object) -> None: ...

    def reason_text(self, reason: object) -> str: ...


def received_gradients(fleet: Fleet, source: int, result: bytes, sent: float) -> Gradients:
    """A worker's packed result, unpacked, with the task's round trip (sent -> heard back) among its metrics."""
    gradients = unpack_gradients(result)
    gradients.metrics["round_trip_s"] = fleet.last_heard[source] - sent
    return gradients


class DirectTasks:
    """The driver keeps --tasks-per-worker tasks queued at every worker; each result is replaced by one task with
    the newest weights. Batched (batches_gradients: --batch-gradients, or a preset's): every result already
    finished is applied in one step."""

    count = 0  # aggregators
    restarts = 0

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.take_all_ready = batches_gradients(fleet.config)

    def launched(self, index: int) -> None:
        """A new actor's first tasks are queued at once and wait at the actor until it is up."""
        self.fleet.submit_tasks(index, self.fleet.config.tasks_per_worker)

    def up(self, index: int, node: str) -> None:
        pass

    def started(self) -> None:
        pass

    def receive(self, source: int, result: bytes, sent: float, batch: GradientBatch) -> None:
        batch.add(received_gradients(self.fleet, source, result, sent))

    def finish(self, batch: GradientBatch) -> None:
        pass  # whatever arrived is applied

    def failed(self, source: int, reason: object) -> None:
        self.fleet.replace(source, reason)

    def returned(self, source: int) -> None:
        self.fleet.submit_tasks(source, 1)

    def silence_limit(self, source: int) -> float | None:
        """A worker still starting is never silent (it may wait for a free CPU while the others train)."""
        return None if source in self.fleet.starting else self.fleet.config.worker_timeout_s

    def forget(self, index: int) -> None:
        pass

    def stop(self) -> None:
        pass


@dataclass
class Aggregator:
    """The driver's record of one node's aggregator: its actor, its workers, and the changes its next call
    carries (workers to start using, workers to stop using)."""

    actor: Any
    workers: set[int] = field(default_factory=set)
    add: dict[int, Any] = field(default_factory=dict)  # worker index -> WorkerHandle
    remove: list[int] = field(default_factory=list)
    answered: bool = False  # has returned at least once

    def kill(self) -> None:
        try:
            ray.kill(self.actor, no_restart=True)
        except ray.exceptions.RayError:
            pass


class NodeAggregators:
    """One aggregator actor per node keeps that node's workers busy and forwards their gradients summed, so the
    driver makes one call per node and batch. A lost aggregator is replaced and its workers re-homed."""

    take_all_ready = True

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.aggregators: dict[str, Aggregator] = {}  # node id -> its aggregator
        self.restarts = 0

    @property
    def count(self) -> int:
        return len(self.aggregators)

    def launched(self, index: int) -> None:
        pass  # its aggregator sends its tasks once it is up (see up)

    def up(self, index: int, node: str) -> None:
        """Hand worker `index` to its node's aggregator (with the next call), creating one there if there is none;
        started() then sends a new aggregator its first call. The affinity is hard: an aggregator placed elsewhere
        would take its workers' gradients across the network unsummed and outlive their node (the likely reason a
        CI run under load lost a node without losing its aggregator); one whose node is gone fails and is replaced
        like any lost aggregator."""
        config = self.fleet.config
        if node not in self.aggregators:
            actor = GradientAggregator.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)) \
                .remote(config.tasks_per_worker, config.worker_timeout_s)
            self.aggregators[node] = Aggregator(actor)
            self.fleet.last_heard[node] = time.monotonic()
        self.aggregators[node].workers.add(index)
        self.aggregators[node].add[index] = self.fleet.workers[index]

    def started(self) -> None:
        """A first call to every aggregator that has none pending."""
        calling = set(self.fleet.pending.values())
        for node in [n for n in self.aggregators if n not in calling]:
            self._collect(node)

    def _collect(self, node: str) -> None:
        agg = self.aggregators[node]
        ref = agg.actor.collect.remote(self.fleet.weights_arg(), agg.add, agg.remove)
        agg.add, agg.remove = {}, []
        self.fleet.pending[ref] = node

    def receive(self, source: str, result: AggregatorReport, sent: float, batch: GradientBatch) -> None:
        self.aggregators[source].answered = True
        batch.merge(result.batch)
        for index, reason in result.failed.items():
            self.fleet.replace(index, reason)

    def finish(self, batch: GradientBatch) -> None:
        pass

    def failed(self, source: str, reason: object) -> None:
        """A lost aggregator: each of its workers is asked where it is; one that answers goes to a (new)
        aggregator on its node, one that died with the node is replaced like any failed worker."""
        log.warning("gradient aggregator on node %s failed (%s); re-homing its workers", source[:8],
                    self.fleet.reason_text(reason))
        agg = self.aggregators.pop(source)
        self.fleet.replaced.add(source)
        agg.kill()
        self.fleet.pending = {ref: s for ref, s in self.fleet.pending.items() if s != source}
        self.restarts += 1
        for index in agg.workers:
            self.fleet.starting[index] = self.fleet.workers[index].ready()
            self.fleet.last_heard[index] = time.monotonic()

    def returned(self, source: str) -> None:
        if self.aggregators[source].workers:
            self._collect(source)
        else:  # every worker it had failed and now lives elsewhere
            self.aggregators.pop(source).kill()

    def silence_limit(self, source: str) -> float | None:
        """An aggregator that has not returned yet (its own start and its workers' first tasks) gets
        READY_TIMEOUT_S: under load (CI, 3 nodes on 2 cores) a first round took over --worker-timeout-s 15, and
        each replacement started that clock again (39 replacements, no step)."""
        timeout = self.fleet.config.worker_timeout_s
        return timeout if self.aggregators[source].answered else max(timeout, READY_TIMEOUT_S)

    def forget(self, index: int) -> None:
        for agg in self.aggregators.values():
            agg.workers.discard(index)

    def stop(self) -> None:
        for agg in self.aggregators.values():
            agg.kill()
        self.aggregators = {}
