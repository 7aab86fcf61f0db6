"""Ray backend: rollout-worker actors compute gradients; the driver applies them as they arrive.

Three ways for gradients to reach the learner, all through the same worker and learner verbs:
- one optimizer step per gradient (the default below AGGREGATE_FROM_WORKERS workers: the A3C paper's driver);
- batched (`--batch-gradients`, the Pendulum preset's): block for the first finished task, take every other one
  already finished, apply their mean in one step and hand the new weights to each of those workers;
- node aggregators (`--node-aggregators`, on by itself from AGGREGATE_FROM_WORKERS workers): one actor per node
  keeps that node's workers busy and forwards their sum, so the driver makes one call per batch.
The choice is made once, at construction (a route of ray_routes); this class owns the workers, their
replacement and the weights it publishes.
"""

from __future__ import annotations

import logging
import os
import time

import ray

from a3c_ray.backends.protocol import uses_node_aggregators
from a3c_ray.backends.ray_routes import READY_TIMEOUT_S, DirectTasks, NodeAggregators
from a3c_ray.backends.ray_runtime import check_reachable, connect, inline_limit, shutdown_local
from a3c_ray.backends.ray_sync import SyncRounds
from a3c_ray.backends.ray_workers import WorkerHandle, new_rollout_worker
from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import GradientBatch, Update
from a3c_ray.core.learner import Learner, apply_batch
from a3c_ray.core.messages import pack_weights
from a3c_ray.errors import BackendError, first_line

GET_TIMEOUT_S = 60.0
# With node aggregators or --sync, weights below this size travel inside each task (measured, 30-60% more gradients/s
# than a ray.put with 64 simulated workers), larger ones one ray.put each; else up to Ray's inline limit (ray_runtime).
INLINE_WEIGHTS_BYTES = 64 * 1024
MAX_REPLACEMENTS_PER_WORKER = 10
log = logging.getLogger(__name__)


class RayBackend:
    """Workers are replaced when their task fails (actor died, node lost, exception) or they stay silent past
    --worker-timeout-s; an aggregator that fails is replaced and its workers handed to the new one. Both are
    counted (`restarts`, `aggregator_restarts`)."""

    clock = staticmethod(time.perf_counter)

    def __init__(self, config: Config, learner: Learner, make_worker=new_rollout_worker):
        self.config, self.learner, self.make_worker = config, learner, make_worker
        self.route: DirectTasks | NodeAggregators | SyncRounds = SyncRounds(self) if config.sync else \
            NodeAggregators(self) if uses_node_aggregators(config) else DirectTasks(self)
        self.restarts = 0
        self.workers: list[WorkerHandle | None] = []  # None: not created yet
        self.incarnations = [0] * config.workers
        self.pending: dict = {}  # ObjectRef -> its source: a worker index, or the node id of an aggregator
        self.sent: dict = {}  # ObjectRef of a call -> when it was sent
        self.last_heard: dict = {}  # source -> when it last returned
        self.starting: dict[int, ray.ObjectRef] = {}  # worker index -> its (replacement's) ready() call
        self.worker_nodes: dict[int, str] = {}  # worker index -> node id, for workers that have started
        self.published, self.replaced = (-1, None), set()  # (version, packed or [ObjectRef]); replaced this poll
        self.booting: set[int] = set()
        self.unborn: list[int] = []  # workers not created yet (created a wave at a time, see start())
        self.start_deadline, self.owns_ray = float("inf"), False

    @property
    def node_aggregators(self) -> int:
        return self.route.count

    @property
    def aggregator_restarts(self) -> int:
        return self.route.restarts

    def check(self) -> None:
        check_reachable(self.config.address)

    def start(self) -> None:
        """Ray up and the first workers created; training starts as soon as the first worker is up, and the
        others join as they come up. On a Ray this run started, workers are created a machine's cores at a time,
        each one more as one comes up: 16 actors importing torch at once on 2 cores all took ~28 s to be ready;
        one wave of 2 is ready in a few seconds. A cluster's workers are all created at once (--wait-for-workers:
        training starts once all are up, or at the start deadline)."""
        self.owns_ray = connect(self.config)
        count = self.config.workers
        self.workers = [None] * count
        self.unborn = list(range(count))
        self.booting = set(range(count))  # never started yet: a failure here is not replaced
        wave = max(1, os.cpu_count() or 1) if self.owns_ray else count
        for _ in range(min(wave, count)):
            self._launch(self.unborn.pop(0))
        first, _ = ray.wait(list(self.starting.values()), num_returns=1, timeout=READY_TIMEOUT_S)
        if not first:
            raise BackendError(f"none of the {self.config.workers} Ray workers started within "
                               f"{READY_TIMEOUT_S:.0f} s; does the cluster have a free CPU for each --workers?")
        self.start_deadline = time.monotonic() + READY_TIMEOUT_S
        self._check_starting()
        while self.config.wait_for_workers and self.booting and time.monotonic() < self.start_deadline:
            ray.wait(list(self.starting.values()), num_returns=1, timeout=1.0)
            self._check_starting()

    def _launch(self, index: int) -> None:
        """A new actor (this incarnation) for worker `index`."""
        self.workers[index] = self.make_worker(self.config, index, self.incarnations[index])
        self.starting[index] = self.workers[index].ready()
        self.last_heard[index] = time.monotonic()
        self.route.launched(index)

    @property
    def running(self) -> int:
        """Workers that are up (the others are starting, or being replaced)."""
        return len(self.workers) - len(self.starting) - len(self.unborn)

    def up_workers(self) -> list[int]:
        """Indices of the workers that are up (not starting, not yet created)."""
        return [i for i, w in enumerate(self.workers) if w is not None and i not in self.starting]

    @property
    def nodes(self) -> int:
        """Distinct nodes the started workers run on."""
        return len(set(self.worker_nodes.values()))

    def poll(self, timeout: float) -> list[Update]:
        self.replaced = set()
        self._check_starting()
        batch, returned = GradientBatch(), []
        for ref, result in self._finished(timeout):
            source, sent = self.pending.pop(ref, None), self.sent.pop(ref, None)
            if source is None:  # its worker (or aggregator) was replaced a moment ago, with its queued calls
                continue
            self.last_heard[source] = time.monotonic()
            if isinstance(result, Exception):
                self.route.failed(source, result)
                continue
            self.route.receive(source, result, sent, batch)
            returned.append(source)
        self.route.finish(batch)
        updates = [apply_batch(self.learner, batch, self.config.max_policy_lag)] if len(batch) else []
        for source in returned:
            if source not in self.replaced:  # a replacement has its calls already
                self.route.returned(source)
        self._check_silent()
        return updates

    def _finished(self, timeout: float) -> list[tuple]:
        """(ref, result or the exception its get raised) for the first finished call and, when batching, every
        other one already finished. ray.wait never raises for a failed task; ray.get of the ready ref does."""
        refs = list(self.pending)
        if not refs:  # every worker is being replaced or re-homed
            time.sleep(min(timeout, 0.1))
            return []
        ready, rest = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready and rest and self.route.take_all_ready:
            ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        try:
            return list(zip(ready, ray.get(ready, timeout=GET_TIMEOUT_S)))
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError):
            return [(ref, self._get_one(ref)) for ref in ready]

    @staticmethod
    def _get_one(ref):
        try:
            return ray.get(ref, timeout=GET_TIMEOUT_S)
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError) as exc:
            return exc

    def weights_arg(self) -> object:
        """This version's weights, packed (messages.pack_weights): inline in every task up to a limit (a MinAtar
        model's 530 KB: ~2 ms less CPU per task than the object store, experiments/ray_inline.py), larger ones one
        ray.put per version, as [ref] (an aggregator passes the reference on instead of fetching the weights)."""
        version, weights = self.published
        if version != self.learner.version:
            weights = pack_weights(self.learner.weights())
            shared = isinstance(self.route, (NodeAggregators, SyncRounds))  # a version goes to many tasks
            if len(weights) >= (INLINE_WEIGHTS_BYTES if shared else inline_limit(self.owns_ray)):
                weights = [ray.put(weights)]
            self.published = (self.learner.version, weights)
        return weights

    def submit_tasks(self, index: int, count: int) -> None:
        weights = self.weights_arg()
        arg = weights[0] if isinstance(weights, list) else weights
        now = time.monotonic()
        for _ in range(count):
            ref = self.workers[index].compute_gradients(arg)
            self.pending[ref], self.sent[ref] = index, now

    def _check_starting(self) -> None:
        """Note workers that have come up, and tell the route (an aggregator takes them over). One still waiting
        for a free CPU (its node was lost, say) is not silent: the others train on meanwhile."""
        for index, ref in list(self.starting.items()):
            if not ray.wait([ref], timeout=0)[0]:
                continue
            del self.starting[index]
            node = self._get_one(ref)
            if isinstance(node, Exception):
                if index in self.booting:  # its first start failed: a replacement would fail the same way
                    raise BackendError(f"Ray worker {index} failed to start: {self.reason_text(node)}")
                self.replace(index, node)
                continue
            self.booting.discard(index)
            if self.unborn:
                self._launch(self.unborn.pop(0))
            self.worker_nodes[index] = node
            self.last_heard[index] = time.monotonic()
            self.route.up(index, node)
        self.route.started()
        if self.booting and time.monotonic() > self.start_deadline:
            log.warning("%d of %d Ray workers have not started after %.0f s; training goes on without them (is "
                        "there a free CPU for each --workers?)", len(self.booting), len(self.workers),
                        READY_TIMEOUT_S)
            self.start_deadline = float("inf")

    def _check_silent(self) -> None:
        now = time.monotonic()
        for source in set(self.pending.values()):
            silent = now - self.last_heard.get(source, now)
            limit = self.route.silence_limit(source)
            if limit is not None and silent > limit:
                self.route.failed(source, f"silent for {silent:.0f} s")

    def replace(self, index: int, reason) -> None:
        """Kill worker `index` and start a fresh actor in its place, with the current weights."""
        if self.restarts >= MAX_REPLACEMENTS_PER_WORKER * self.config.workers:
            raise BackendError(f"Ray workers keep failing ({self.restarts} replaced; last: worker {index}, "
                               f"{self.reason_text(reason)}); no healthy worker is left")
        log.warning("Ray worker %d failed (%s); replacing it", index, self.reason_text(reason))
        self.replaced.add(index)
        self.workers[index].kill()
        self.pending = {ref: s for ref, s in self.pending.items() if s != index}  # its queued tasks die with it
        self.sent = {ref: t for ref, t in self.sent.items() if ref in self.pending}
        self.route.forget(index)
        self.incarnations[index] += 1
        self.restarts += 1
        self.worker_nodes.pop(index, None)
        self._launch(index)

    @staticmethod
    def reason_text(reason) -> str:
        return first_line(reason) if isinstance(reason, BaseException) else str(reason)

    def stop(self) -> None:
        for worker in self.workers:
            if worker is not None:
                worker.kill()
        self.route.stop()
        self.workers, self.pending, self.sent, self.starting, self.unborn = [], {}, {}, {}, []

    def close(self) -> None:
        """Shut Ray down if this run started it; a Ray the user started (or a cluster) is left running."""
        if self.owns_ray:
            self.owns_ray = False
            shutdown_local()
