"""The torch.multiprocessing backend: shared optimizer state, worker death handled, no orphans."""

import json
import os
import re
import signal
import threading
import time

import pytest
import torch

from a3c_ray.core.learner import Learner
from a3c_ray.run.trainer import Trainer
from conftest import tiny_config


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
    """Killed up to the restart cap, one kill at a time: each time the replacement comes within 10 s and training
    goes on. (A worker killed while holding a shared report queue's write lock once silenced the other one for good;
    each kill is another chance to land there.)"""
    from a3c_ray.backends.mp_backend import MAX_RESTARTS_PER_WORKER

    config = tiny_config(tmp_path, backend="mp", workers=2, envs_per_worker=4, stop_steps=None,
                         stop_seconds=30, stop_at_threshold=False)
    trainer = Trainer(config)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and trainer.recorder.updates < 20:
            time.sleep(0.2)
        assert trainer.recorder.updates >= 20, "training never got going"
        for kill in range(1, MAX_RESTARTS_PER_WORKER + 1):
            victim = trainer.backend.processes[1]
            os.kill(victim.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            while trainer.backend.restarts < kill and time.monotonic() - killed_at < 10:
                time.sleep(0.1)
            assert trainer.backend.restarts == kill, f"dead worker (kill {kill}) not noticed within 10 s"
            replacement = trainer.backend.processes[1]
            assert replacement.pid != victim.pid and replacement.is_alive()
            steps_then = trainer.recorder.env_steps
            time.sleep(3)
            assert trainer.recorder.env_steps > steps_then, f"no env steps in 3 s after kill {kill}"
        pids = [p.pid for p in trainer.backend.processes]
    finally:
        thread.join(timeout=120)
    assert not thread.is_alive()
    assert trainer.summary["worker_restarts"] == MAX_RESTARTS_PER_WORKER
    for pid in pids:  # no orphans: every worker process has exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


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
