"""In-process backend: workers take turns in the driver. For tests, debugging and profiling."""

from __future__ import annotations

import time

from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import GradientBatch, Update
from a3c_ray.core.learner import Learner, apply_batch
from a3c_ray.core.worker import RolloutWorker


class SerialBackend:
    node_aggregators = aggregator_restarts = 0
    clock = staticmethod(time.perf_counter)

    def __init__(self, config: Config, learner: Learner):
        self.config, self.learner = config, learner
        self.restarts = 0
        self.nodes = 1
        self.workers: list[RolloutWorker] = []
        self.turn = 0

    @property
    def running(self) -> int:
        return len(self.workers)

    def check(self) -> None:
        pass

    def start(self) -> None:
        self.workers = [RolloutWorker(self.config, i) for i in range(self.config.workers)]

    def poll(self, timeout: float) -> list[Update]:
        """One worker's gradient in turn; with --sync, one from every worker on the same weights, their mean."""
        weights = self.learner.weights()
        if self.config.sync:
            batch = GradientBatch.of(*[worker.compute_gradients(weights) for worker in self.workers])
            return [apply_batch(self.learner, batch, self.config.max_policy_lag)]
        worker = self.workers[self.turn % len(self.workers)]
        self.turn += 1
        return [apply_batch(self.learner, worker.compute_gradients(weights), self.config.max_policy_lag)]

    def stop(self) -> None:
        for worker in self.workers:
            worker.close()
        self.workers = []

    def close(self) -> None:
        pass
