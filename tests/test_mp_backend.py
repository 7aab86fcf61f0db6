"""The torch.multiprocessing backend: shared optimizer state, worker death handled, no orphans."""

import json
import os
import random
import re
import signal
import threading
import time
from contextlib import contextmanager

import pytest
import torch

from a3c_ray.core.learner import Learner
from a3c_ray.run.trainer import Trainer
from conftest import tiny_config
from local_cluster import wait_for


@contextmanager
def started_backend(tmp_path):
    """A 2-worker mp backend on CartPole, driven by the test itself (no Trainer), stopped after."""
    from a3c_ray.backends.mp_backend import MultiprocessingBackend

    config = tiny_config(tmp_path, backend="mp", workers=2, envs_per_worker=4, stop_steps=None, stop_seconds=60,
                         stop_at_threshold=False)
    backend = MultiprocessingBackend(config, Learner(config))
    backend.start()
    try:
        yield backend
    finally:
        backend.stop()


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_shared_optimizer_state_is_in_shared_memory(tmp_path, optimizer):
    learner = Learner(tiny_config(tmp_path, optimizer=optimizer))
    learner.model.share_memory()
    learner.optimizer.share_memory()
    assert learner.model.flat.is_shared()  # the parameters are views of it: they are shared with it
    assert all(p.is_shared() for p in learner.model.parameters())
    state = learner.optimizer.state
    assert all(v.is_shared() for v in state.values())
    assert isinstance(state["step"], torch.Tensor)  # a shared counter, not a Python int


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_killed_worker_is_restarted_within_10s(tmp_path):
    """Killed up to the restart cap, one kill at a time, each a moment after its predecessor reported: each time
    the replacement comes within 10 s and trains (its own episodes are recorded)."""
    from a3c_ray.backends.mp_backend import MAX_RESTARTS_PER_WORKER

    config = tiny_config(tmp_path, backend="mp", workers=2, envs_per_worker=4, stop_steps=None,
                         stop_seconds=180, stop_at_threshold=False)
    trainer = Trainer(config)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    rng = random.Random(0)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and trainer.recorder.updates < 20:
            time.sleep(0.2)
        assert trainer.recorder.updates >= 20, "training never got going"
        for kill in range(1, MAX_RESTARTS_PER_WORKER + 1):
            time.sleep(rng.uniform(0.0, 0.3))
            victim = trainer.backend.processes[1]
            os.kill(victim.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            while trainer.backend.restarts < kill and time.monotonic() - killed_at < 10:
                time.sleep(0.1)
            assert trainer.backend.restarts == kill, f"dead worker (kill {kill}) not noticed within 10 s"
            replacement = trainer.backend.processes[1]
            assert replacement.pid != victim.pid and replacement.is_alive()
            episodes_then = len(trainer.recorder.episode_rows)
            assert wait_for(lambda: any(row["worker"] == 1 for row in trainer.recorder.episode_rows[episodes_then:]),
                            timeout=30), f"the replacement (kill {kill}) never finished an episode"
        pids = [p.pid for p in trainer.backend.processes]
        trainer.recorder.stop.stop_seconds = 0.0  # end the run now
    finally:
        thread.join(timeout=200)
    assert not thread.is_alive() and len(pids) == 2
    assert trainer.summary["worker_restarts"] == MAX_RESTARTS_PER_WORKER
    for pid in pids:  # no orphans: every worker process has exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_worker_killed_while_blocked_reporting_does_not_silence_the_others(tmp_path):
    """The driver stops reading, so the workers' reports fill their pipes and block them; worker 1 is killed:
    worker 0's reports still arrive and worker 1 is replaced. (Through the one queue all workers once shared, the
    killed worker's feeder thread could die holding the queue's write lock, blocked mid-write, and every other
    worker's reports stopped for good.)"""
    with started_backend(tmp_path) as backend:
        time.sleep(3)  # nobody reads: a few hundred reports fill each pipe
        os.kill(backend.processes[1].pid, signal.SIGKILL)
        backend.processes[1].join(timeout=5)
        from_worker_0, deadline = 0, time.monotonic() + 30
        while time.monotonic() < deadline and (from_worker_0 < 500 or backend.restarts == 0):
            for update in backend.poll(timeout=0.5):
                from_worker_0 += sum(info.worker == 0 for info in update.gradients)
        assert from_worker_0 >= 500 and backend.restarts == 1


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_worker_that_keeps_dying_stops_the_run_after_the_restart_cap(tmp_path):
    """Its env kills the process at the first step (bad_envs): restarted MAX_RESTARTS_PER_WORKER times, then
    `a3c-ray train` stops with exit code 1 and one error line naming the worker and the cap; its files say so."""
    from a3c_ray.backends.mp_backend import MAX_RESTARTS_PER_WORKER
    from conftest import run_cli

    out = tmp_path / "run"
    start = time.monotonic()
    done = run_cli("train", "--env", "bad_envs:DiesOnStep-v0", "--backend", "mp", "--workers", "1",
                   "--envs-per-worker", "2", "--stop-seconds", "120", "--eval-interval-steps", "0",
                   "--no-progress-bar", "--out", str(out), timeout=150)
    assert time.monotonic() - start < 100  # it gave up, not the 120 s stop
    errors = [line for line in done.stderr.splitlines() if line.startswith("a3c-ray: error:")]
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-3000:]
    assert len(errors) == 1 and re.search(rf"mp worker 0 \(pid \d+\) died with exit code 3 after "
                                          rf"{MAX_RESTARTS_PER_WORKER} restarts", errors[0]), done.stderr[-3000:]
    assert done.stderr.count("restarting it") == MAX_RESTARTS_PER_WORKER  # each restart said so
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stop_reason"] == "error" and summary["worker_restarts"] == MAX_RESTARTS_PER_WORKER
    assert summary["env_steps"] == 0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_live_workers_optimizer_lock_is_left_alone_when_another_worker_dies(tmp_path):
    """The test holds the optimizer lock as a live worker in a slow step would; worker 1 dies and is replaced, and
    the lock is still the test's to release (the driver once released any lock not free within 1 s, so the live
    holder's own release then failed and two steps could run at once)."""
    with started_backend(tmp_path) as backend:
        assert backend.lock.acquire(timeout=10)
        backend.lock_holder.value = os.getpid()  # alive, mid-step
        os.kill(backend.processes[1].pid, signal.SIGKILL)
        backend.processes[1].join(timeout=5)
        deadline = time.monotonic() + 30
        while backend.restarts == 0 and time.monotonic() < deadline:
            backend.poll(timeout=0.5)
        assert backend.restarts == 1
        backend.lock_holder.value = 0
        backend.lock.release()  # raises ValueError if the driver had released it meanwhile
        reports, deadline = 0, time.monotonic() + 30
        while reports < 20 and time.monotonic() < deadline:  # and the workers step again once it is free
            reports += sum(update.applied for update in backend.poll(timeout=0.5))
        assert reports >= 20
