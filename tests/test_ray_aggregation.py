"""Node aggregators: gradients reach the driver as per-node sums, training still works, a lost one is replaced."""

import os
import signal
import threading
import time

import pytest

from a3c_ray import make_config, train
from a3c_ray.run.trainer import Trainer

pytestmark = pytest.mark.slow


@pytest.mark.timeout(240)
def test_cartpole_learns_through_an_aggregator(tmp_path, ray_session):
    config = make_config("CartPole-v1", seed=0, workers=2, node_aggregators=True, stop_return=300,
                         stop_seconds=90, progress_bar=False, out=str(tmp_path / "run"))
    result = train(config)
    assert result.summary["solved"], result.summary
    assert set(result.episodes["worker"]) == {0, 1}
    assert result.summary["gradients"] >= result.summary["updates"] > 0
    assert result.progress["gradients_per_update"].max() >= 1
    assert result.summary["aggregator_restarts"] == 0


@pytest.mark.timeout(240)
def test_a_killed_aggregator_is_replaced_and_training_goes_on(tmp_path, ray_session):
    config = make_config("CartPole-v1", seed=1, workers=2, node_aggregators=True, stop_steps=None,
                         stop_seconds=40, stop_at_threshold=False, progress_bar=False, out=str(tmp_path / "run"))
    trainer = Trainer(config)
    thread = threading.Thread(target=trainer.run)
    thread.start()
    try:
        deadline = time.monotonic() + 120
        while trainer.recorder.gradients < 20 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert trainer.recorder.gradients >= 20, "training never got going"
        (agg,) = trainer.backend.route.aggregators.values()
        os.kill(ray_session.get(agg.actor.ready.remote(), timeout=30), signal.SIGKILL)  # its own pid
        killed_at = time.monotonic()
        while trainer.backend.aggregator_restarts == 0 and time.monotonic() - killed_at < 30:
            time.sleep(0.1)
        assert trainer.backend.aggregator_restarts == 1
        steps, handed_over = trainer.recorder.env_steps, time.monotonic()
        while trainer.recorder.env_steps == steps and time.monotonic() - handed_over < 60:
            time.sleep(0.2)
        assert trainer.recorder.env_steps > steps  # the workers carry on under the new aggregator
    finally:
        thread.join(timeout=120)
    assert not thread.is_alive()
    assert trainer.summary["aggregator_restarts"] == 1 and trainer.summary["stop_reason"] == "stop_seconds"
    assert trainer.summary["worker_restarts"] == 0  # its workers were handed over, not replaced
