"""The torch.multiprocessing backend: shared optimizer state, worker death handled, no orphans."""

import os
import signal
import threading
import time

import pytest
import torch

from a3c_ray.backends.mp_backend import share_optimizer_state
from a3c_ray.learner import Learner
from a3c_ray.trainer import Trainer
from conftest import tiny_config


def test_shared_optimizer_state_is_in_shared_memory(tmp_path):
    learner = Learner(tiny_config(tmp_path, optimizer="adam"))
    learner.model.share_memory()
    states = share_optimizer_state(learner.optimizer)
    assert states and all(v.is_shared() for s in states for v in s.values())
    assert all(isinstance(s["step"], torch.Tensor) for s in states)  # a shared counter, not a Python int


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_killed_worker_is_restarted_within_10s(tmp_path):
    config = tiny_config(tmp_path, backend="mp", workers=2, envs_per_worker=4, stop_steps=None,
                         stop_seconds=40, stop_return=None)
    trainer = Trainer(config)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and trainer.recorder.updates < 20:
            time.sleep(0.2)
        assert trainer.recorder.updates >= 20, "training never got going"
        victim = trainer.backend.processes[1]
        os.kill(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        while trainer.backend.restarts == 0 and time.monotonic() - killed_at < 10:
            time.sleep(0.1)
        assert trainer.backend.restarts == 1, "the dead worker was not noticed within 10 s"
        replacement = trainer.backend.processes[1]
        assert replacement.pid != victim.pid and replacement.is_alive()
        steps_then = trainer.recorder.env_steps
        time.sleep(3)
        assert trainer.recorder.env_steps > steps_then  # training went on
        pids = [p.pid for p in trainer.backend.processes]
    finally:
        thread.join(timeout=120)
    assert not thread.is_alive()
    assert trainer.summary["worker_restarts"] == 1
    for pid in pids:  # no orphans: every worker process has exited
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
