"""Synchronous A2C on Ray (--sync): one more route for RayBackend (see ray_routes), in rounds."""

from __future__ import annotations

import time

from a3c_ray.backends.ray_routes import Fleet, received_gradients
from a3c_ray.core.gradient_batch import GradientBatch


class SyncRounds:
    """Synchronous A2C (--sync): a round sends every worker that is up one task with the same weights; the round's
    gradients are applied together, as one mean, once the last of them is in (a worker lost mid-round is left out
    of it), and the next round starts with the new weights. The first round waits for every worker's first start
    (up to the backend's start deadline), so that every update is the mean of all of them."""

    count = 0  # aggregators
    restarts = 0
    take_all_ready = True

    def __init__(self, fleet: Fleet):
        self.fleet = fleet
        self.waiting: set[int] = set()  # workers whose gradient the round still needs
        self.round = GradientBatch()

    def launched(self, index: int) -> None:
        pass  # it joins the next round

    def up(self, index: int, node: str) -> None:
        pass

    def started(self) -> None:
        """A new round, when none is in flight (the last one's gradients were applied in the previous poll)."""
        if self.waiting or len(self.round):
            return
        if self.fleet.booting and time.monotonic() < self.fleet.start_deadline:
            return  # workers still coming up for the first time
        self.waiting = set(self.fleet.up_workers())
        for index in self.waiting:
            self.fleet.submit_tasks(index, 1)

    def receive(self, source: int, result: bytes, sent: float, batch: GradientBatch) -> None:
        self.round.add(received_gradients(self.fleet, source, result, sent))
        self.waiting.discard(source)

    def finish(self, batch: GradientBatch) -> None:
        if not self.waiting and len(self.round):
            batch.merge(self.round)
            self.round = GradientBatch()

    def failed(self, source: int, reason: object) -> None:
        self.fleet.replace(source, reason)

    def returned(self, source: int) -> None:
        pass

    def silence_limit(self, source: int) -> float | None:
        return None if source in self.fleet.starting else self.fleet.config.worker_timeout_s

    def forget(self, index: int) -> None:
        self.waiting.discard(index)

    def stop(self) -> None:
        pass
