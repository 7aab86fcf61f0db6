"""Ray backend under worker failures: killed actors are replaced and training still reaches its target."""

import logging
import os
import random
import signal
import threading
import time

import pytest

from a3c_ray import make_config, train
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


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_silent_worker_is_replaced_after_the_worker_timeout(tmp_path, ray_session, caplog):
    """Worker 1's first actor never returns a task (its env's step hangs, see bad_envs); after --worker-timeout-s
    it is replaced, its replacement trains, and worker 0 trained all along."""
    timeout = 3.0
    config = make_config("bad_envs:SilentFirstWorker-v0", workers=2, envs_per_worker=2, rollout_length=8, seed=0,
                         worker_timeout_s=timeout, stop_seconds=timeout + 9, eval_interval_steps=0,
                         progress_bar=False, report_interval_s=0.5, out=str(tmp_path / "run"))
    with caplog.at_level(logging.WARNING, logger="a3c_ray.backends.ray_backend"):
        result = train(config)
    s = result.summary
    assert s["stop_reason"] == "stop_seconds" and s["worker_restarts"] == 1, s
    warnings = [r.getMessage() for r in caplog.records if "replacing it" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].startswith("Ray worker 1 failed (silent for "), warnings
    silent_for = float(warnings[0].split("silent for ")[1].split(" s")[0])
    assert timeout <= silent_for < timeout + 5  # replaced once the timeout had passed, and soon after
    episodes = result.episodes
    first, second = episodes[episodes["worker"] == 0], episodes[episodes["worker"] == 1]
    assert len(second) > 0, "the replacement never trained"
    assert second["time_s"].min() >= timeout  # nothing ever came from the silent actor
    assert first["time_s"].min() < timeout and len(first) > len(second)  # worker 0 trained meanwhile
