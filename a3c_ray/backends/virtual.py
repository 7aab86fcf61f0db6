"""Virtual backend (--backend virtual): N asynchronous workers simulated in one process, on a simulated clock.

What it answers: how learning goes with 64 or 256 workers (policy lag, gradients per update, env steps to
solve) on a machine with 2 cores. The learning is real; only the time is simulated:
- Each virtual worker has its own envs, random stream and recurrent state, and shares the one model copy (it runs
  one task at a time). A task is sent with the weights current at that moment; its gradient depends only on those
  weights and the worker's envs, so it is computed at once, and delivered at
  max(sent + latency/2, the worker free) + its task time + latency/2 (the task time drawn as ClusterModel says).
- The driver is one server: when the route has something for it, it takes every gradient that has arrived (the
  Ray backend's batched-apply rule), applies it through the same GradientBatch and Learner, and spends its
  service time on it (per gradient and per update) before it sends the next tasks.
- Node aggregators (on from 64 workers, as on Ray) group ClusterModel.node_size workers each.
Run files are as any backend's; their times (time_s, training_s) are simulated seconds on that cluster.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Any

from a3c_ray.backends.protocol import batches_gradients, uses_node_aggregators
from a3c_ray.backends.virtual_model import ClusterModel, TaskTimes
from a3c_ray.backends.virtual_routes import AggregatorRoute, DirectRoute, SyncRoute
from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import Update
from a3c_ray.core.learner import Learner, apply_batch
from a3c_ray.core.messages import Gradients, Weights
from a3c_ray.core.worker import RolloutWorker


class VirtualBackend:
    restarts = aggregator_restarts = 0

    def __init__(self, config: Config, learner: Learner):
        self.config, self.learner = config, learner
        self.model = ClusterModel.of(config.virtual)
        self.times = TaskTimes(self.model, config.seed)
        self.workers = config.workers
        self.tasks_per_worker, self.batch_gradients = config.tasks_per_worker, batches_gradients(config)
        self.route = SyncRoute(self) if config.sync else \
            AggregatorRoute(self) if uses_node_aggregators(config) else DirectRoute(self)
        self.rollout_workers: list[RolloutWorker] = []
        self.free_at = [0.0] * config.workers  # when each worker has finished the tasks it was sent
        self.events: list[tuple[float, int, Any, tuple]] = []
        self.order = itertools.count()  # ties in time are taken in the order they were pushed
        self.now = 0.0  # the driver's simulated clock, seconds

    @property
    def running(self) -> int:
        return len(self.rollout_workers)

    @property
    def nodes(self) -> int:
        return -(-self.workers // self.model.node_size)

    @property
    def node_aggregators(self) -> int:
        return self.route.node_count if isinstance(self.route, AggregatorRoute) else 0

    def clock(self) -> float:
        return self.now

    def check(self) -> None:
        pass

    def start(self) -> None:
        shared = None  # the first worker builds the model copy every other one shares
        for index in range(self.workers):
            worker = RolloutWorker(self.config, index, model=shared)
            shared = worker.model
            self.rollout_workers.append(worker)
        self.route.start(self.weights())

    def weights(self) -> Weights:
        return self.learner.weights()

    def submit(self, index: int, weights: Weights, at: float) -> None:
        gradients = self.rollout_workers[index].compute_gradients(weights)
        half = self.model.latency_ms / 2000.0
        done = max(at + half, self.free_at[index]) + self.times.draw(gradients.metrics["compute_s"])
        self.free_at[index] = done
        gradients.metrics["round_trip_s"] = done + half - at
        self.push(done + half, self._arrived, index, gradients)

    def _arrived(self, time: float, index: int, gradients: Gradients) -> None:
        self.route.arrive(time, index, gradients)

    def push(self, time: float, handler, *args: Any) -> None:
        heapq.heappush(self.events, (time, next(self.order), handler, args))

    def _next_event(self) -> None:
        time, _, handler, args = heapq.heappop(self.events)
        handler(time, *args)

    def poll(self, timeout: float) -> list[Update]:
        """The driver's next step: wait (in simulated time) for the route to have something, take everything that
        has arrived by then, apply it, and pay the driver's service time before the next tasks go out."""
        while self.route.due() is None and self.events:
            self._next_event()
        due = self.route.due()
        if due is None:
            return []
        self.now = max(self.now, due)
        while self.events and self.events[0][0] <= self.now:
            self._next_event()
        sources, batch, service_ms = self.route.take(self.now)
        update = apply_batch(self.learner, batch, self.config.max_policy_lag) if len(batch) else None
        self.now += (service_ms + self.model.driver_ms_per_update * (update is not None)) / 1000.0
        self.route.resume(sources, self.weights(), self.now)
        return [update] if update is not None else []

    def stop(self) -> None:
        for worker in self.rollout_workers:
            worker.close()
        self.rollout_workers = []

    def close(self) -> None:
        pass
