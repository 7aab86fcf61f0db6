"""Ray backend under worker failures: killed actors are replaced and training still reaches its target."""

import os
import random
import signal
import threading
import time

import pytest

from a3c_ray import make_config
from a3c_ray.core.learner import Learner, apply_batch
from a3c_ray.core.worker import RolloutWorker
from a3c_ray.run.trainer import Trainer
from conftest import tiny_config


def test_stale_gradients_are_dropped_not_applied(tmp_path):
    config = tiny_config(tmp_path)
    learner = Learner(config)
    gradients = RolloutWorker(config, 0).compute_gradients(learner.weights())
    learner.version = 5  # four versions newer than the gradient's
    update = apply_batch(learner, gradients, max_policy_lag=3)
    (info,) = update.gradients
    assert not update.applied and info.status == "stale" and info.policy_lag == 5
    assert learner.version == 5
    assert apply_batch(learner, gradients, max_policy_lag=5).applied and learner.version == 6


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_run_survives_a_worker_killed_every_few_seconds(tmp_path, ray_session):
    # The loop of single envs (not the ~2x faster batched CartPole), and the first kill lands as soon as a worker
    # is up: on a fast machine this run solves a few seconds after its workers are up, and a killer that slept
    # first could miss it (seen once in a fresh clone).
    config = make_config("CartPole-v1", seed=0, stop_return=450, stop_on_eval=False, stop_seconds=150,
                         progress_bar=False, native_vector_env=False, out=str(tmp_path / "run"))
    trainer = Trainer(config)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    kills, rng, next_kill = 0, random.Random(0), 0.0
    try:
        while thread.is_alive() and kills < 5:
            time.sleep(0.1)
            backend = trainer.backend
            up = [w for i, w in enumerate(list(getattr(backend, "workers", []))) if w is not None
                  and i not in backend.starting and i not in backend.booting]  # a first start that fails ends a run
            if not up or time.monotonic() < next_kill:
                continue
            try:  # the pid of one of the actors this test's run started
                pid = ray_session.get(rng.choice(up).actor.pid.remote(), timeout=10)
            except Exception:
                continue  # that one is being replaced already
            if not thread.is_alive():
                break
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue  # gone since it answered
            kills += 1
            next_kill = time.monotonic() + 1.0
    finally:
        thread.join(timeout=240)
    assert not thread.is_alive()
    assert kills >= 2, "the run ended before the test could kill workers"
    summary = trainer.summary
    assert summary["solved"], summary
    assert summary["worker_restarts"] >= kills - 1  # the last kill may land as the run ends
    assert trainer.recorder.progress()["worker_restarts"].max() >= 1
