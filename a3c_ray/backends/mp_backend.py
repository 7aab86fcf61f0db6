"""torch.multiprocessing backend (Hogwild, as the original): workers step a shared-memory global model.

Each worker process computes gradients with the core's RolloutWorker and steps the shared model's flat parameter
vector with the shared optimizer, whose whole state (step counter included) lives in shared memory. The
optimizer step holds a lock, so Adam's moments are never torn; weight reads are lock-free (Hogwild).
The driver only collects reports and merges normaliser statistics, each worker's through a pipe of its own. Workers
share no lock but the optimizer's, which the driver frees if its holder dies: a worker killed holding a shared
queue's write lock, or an Event's, stopped the others for good (5 of 30 and 13 of 40 kills in two-process tests).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from multiprocessing.connection import Connection, wait

import torch
import torch.multiprocessing as mp

from a3c_ray.backends.mp_worker import SharedNormalizerState, worker_main
from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import Update
from a3c_ray.core.learner import Learner
from a3c_ray.errors import BackendError
from a3c_ray.plumbing.spawn import EXIT_SCRIPT_REIMPORTED, NO_MAIN_GUARD

JOIN_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 120.0
log = logging.getLogger(__name__)
MAX_RESTARTS_PER_WORKER = 3


class MultiprocessingBackend:
    node_aggregators = aggregator_restarts = 0
    clock = staticmethod(time.perf_counter)

    def __init__(self, config: Config, learner: Learner):
        self.config, self.learner = config, learner
        self.ctx = mp.get_context("spawn")
        self.processes: list = []
        self.channels: list[Connection | None] = []  # each worker's report pipe (None once it has closed)
        self.pending: deque[tuple] = deque()  # reports received and not yet taken
        self.early: deque = deque()  # updates that came in while waiting for the workers to be ready
        self.incarnations = [0] * config.workers
        self.restarts = 0
        self.nodes = 1

    @property
    def running(self) -> int:
        """Worker processes alive now (a dead one is restarted at the next poll)."""
        return sum(process.is_alive() for process in self.processes)

    def check(self) -> None:
        pass

    def start(self) -> None:
        self.learner.model.share_memory()
        self.learner.optimizer.share_memory()  # its state tensors; the workers get the same object
        # no lock of its own (see above): every increment happens under self.lock
        self.version = self.ctx.Value("q", self.learner.version, lock=False)
        self.lock = self.ctx.Lock()
        self.lock_holder = self.ctx.Value("q", 0, lock=False)  # pid of the worker in the optimizer step, or 0
        self.normalizer = SharedNormalizerState(self.learner.normalizer.obs_rms.mean.shape[0])
        self.normalizer.write(self.learner.normalizer.state())
        self.stop_flag = self.ctx.Value("b", 0, lock=False)  # not an Event (see above)
        self.lr = torch.tensor([self.learner.optimizer.lr], dtype=torch.float64).share_memory_()
        self.channels = [None] * self.config.workers
        self.processes = [self._spawn(i) for i in range(self.config.workers)]
        self._wait_ready()

    def _wait_ready(self) -> None:
        """Block until every worker has built its envs and model, so training time starts when stepping does."""
        waiting = set(range(self.config.workers))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while waiting:
            if time.monotonic() > deadline:
                raise BackendError(f"mp workers {sorted(waiting)} did not start within {READY_TIMEOUT_S:.0f} s")
            self._receive(0.5)
            self._check_started(waiting)  # each pass: one worker's reports must not hide another's death
            for kind, body in self.pending:
                if kind == "ready":
                    waiting.discard(body)
                else:
                    self.early.append(body)
            self.pending.clear()

    def _check_started(self, waiting: set[int]) -> None:
        """A worker that exits before it is ready will not do better on a restart: fail now, saying why."""
        for index in sorted(waiting):
            process = self.processes[index]
            if process.is_alive():
                continue
            if process.exitcode == EXIT_SCRIPT_REIMPORTED:
                raise BackendError(NO_MAIN_GUARD)
            raise BackendError(f"mp worker {index} (pid {process.pid}) exited with code {process.exitcode} during "
                               "start-up, before it was ready; see its output above")

    def _spawn(self, index: int):
        """Start worker `index` with a new report pipe; its predecessor's is read to the end and closed."""
        if self.channels[index] is not None:
            self._drain(self.channels[index])
        reader, writer = self.ctx.Pipe(duplex=False)
        process = self.ctx.Process(
            target=worker_main, name=f"a3c-mp-worker-{index}", daemon=True,
            args=(self.config, index, self.incarnations[index], self.learner.model, self.learner.optimizer,
                  self.version, (self.lock, self.lock_holder), self.normalizer, writer, self.stop_flag, self.lr))
        process.start()
        writer.close()  # the worker holds the only writing end, so its death reads as EOF here
        self.channels[index] = reader
        return process

    def _receive(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a readable pipe; add what each holds (64 at most) to `pending`."""
        open_channels = [channel for channel in self.channels if channel is not None]
        if not open_channels:  # every worker gone: the caller restarts them after this wait
            time.sleep(timeout)
            return bool(self.pending)
        for channel in wait(open_channels, timeout=timeout):
            self._drain(channel, at_most=64)
        return bool(self.pending)

    def _drain(self, channel: Connection, at_most: int | None = None) -> None:
        """Move what `channel` holds (up to `at_most` reports) to `pending`. Closed after: one at its end (its
        worker exited, or died mid-message: nothing more will come), and one read with no limit (a dead worker's)."""
        taken = 0
        try:
            while (at_most is None or taken < at_most) and channel.poll():
                self.pending.append(channel.recv())
                taken += 1
        except (EOFError, OSError):
            at_most = None
        if at_most is None:
            channel.close()
            self.channels[self.channels.index(channel)] = None

    def poll(self, timeout: float) -> list[Update]:
        """Block for the first report (up to `timeout`), then take whatever else is already queued."""
        updates: list[Update] = []
        deadline = time.monotonic() + timeout
        while len(updates) < 4 * self.config.workers:
            body = self._next_update(0.0 if updates else min(0.5, deadline - time.monotonic()))
            if body is None:
                self._check_workers()
                if updates or time.monotonic() >= deadline:
                    break
                continue
            update, delta = body
            if delta:
                self.learner.normalizer.merge(delta)
            updates.append(update)
        self._check_workers()  # also when reports kept coming: a busy driver still notices a dead worker
        self.normalizer.write(self.learner.normalizer.state())
        self.lr[0] = self.learner.optimizer.lr
        self.learner.version = self.version.value
        return updates

    def _next_update(self, timeout: float):
        if self.early:
            return self.early.popleft()
        if not self.pending:
            self._receive(max(timeout, 0.0))
        while self.pending:
            kind, body = self.pending.popleft()
            if kind == "update":  # a restarted worker's "ready" carries nothing to record
                return body
        return None

    def _check_workers(self) -> None:
        """A dead worker is restarted (a few times); past that the run stops with its exit code."""
        for index, process in enumerate(self.processes):
            if process.is_alive():
                continue
            if self.incarnations[index] >= MAX_RESTARTS_PER_WORKER:
                raise BackendError(f"mp worker {index} (pid {process.pid}) died with exit code {process.exitcode} "
                                   f"after {MAX_RESTARTS_PER_WORKER} restarts; see its log above")
            log.warning("mp worker %d (pid %s) died with exit code %s; restarting it", index, process.pid,
                        process.exitcode)
            self._free_orphaned_lock(process.pid)
            self.incarnations[index] += 1
            self.processes[index] = self._spawn(index)
            self.restarts += 1  # counted once the replacement exists

    def _free_orphaned_lock(self, dead_pid: int) -> None:
        """A worker killed mid optimizer step leaves the lock held for good: released when the dead worker is the
        recorded holder (the torn step is tolerated, as in Hogwild), never a live worker's, however slow its step.
        Held 5 s with no holder recorded: the dead worker died between taking it and recording itself."""
        if self.lock_holder.value != dead_pid:
            if self.lock.acquire(timeout=5.0):
                self.lock.release()
                return
            if self.lock_holder.value != 0:
                return  # a live worker's, mid-step
        log.warning("the shared optimizer lock was held by the dead worker (pid %d); releasing it", dead_pid)
        self.lock_holder.value = 0
        self.lock.release()

    def stop(self) -> None:
        if not self.processes:
            return
        self.stop_flag.value = 1
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        while any(p.is_alive() for p in self.processes) and time.monotonic() < deadline:
            self._receive(0.05)  # drain, or a worker blocks in its last send
            self.pending.clear()
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join(timeout=JOIN_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join(timeout=JOIN_TIMEOUT_S)
        self.learner.version = self.version.value
        for channel in self.channels:
            if channel is not None:
                channel.close()
        self.channels, self.processes = [], []
        self.pending.clear()
        self.early.clear()

    def close(self) -> None:
        pass
