"""The torch.multiprocessing backend: shared optimizer state, worker death handled, no orphans."""

import os
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
