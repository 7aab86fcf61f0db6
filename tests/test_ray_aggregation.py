"""Node aggregators: on by themselves from 64 workers, gradients reach the driver as per-node sums, training still
works, a lost one is replaced."""

import os
import signal
import threading
import time

import pytest

from a3c_ray import make_config, train
from a3c_ray.run.trainer import Trainer
from conftest import tiny_config


@pytest.mark.parametrize("workers, node_aggregators, route", [
    (64, None, "NodeAggregators"), (63, None, "DirectTasks"), (200, None, "NodeAggregators"),
    (64, False, "DirectTasks"), (2, True, "NodeAggregators")])
def test_aggregators_turn_on_by_themselves_from_64_workers(tmp_path, monkeypatch, workers, node_aggregators, route):
    """The route is chosen when the backend is built, from the config alone: building it starts no Ray."""
    import ray

    from a3c_ray.backends import make_backend, ray_backend
    from a3c_ray.core.learner import Learner

    def no_ray(*args, **kwargs):
        raise AssertionError("building the Ray backend started Ray")

    monkeypatch.setattr(ray, "init", no_ray)
    was_up = ray.is_initialized()
    config = tiny_config(tmp_path, backend="ray", workers=workers, node_aggregators=node_aggregators)
    backend = make_backend(config, Learner(config))
    assert isinstance(backend, ray_backend.RayBackend)
    assert type(backend.route).__name__ == route
    assert backend.node_aggregators == 0 and backend.workers == []  # none started yet
    assert ray.is_initialized() == was_up


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_cartpole_learns_through_an_aggregator(tmp_path, ray_session):
    config = make_config("CartPole-v1", seed=0, workers=2, node_aggregators=True, stop_return=300,
                         stop_seconds=90, progress_bar=False, out=str(tmp_path / "run"))
    result = train(config)
    assert result.summary["solved"], result.summary
    assert set(result.episodes["worker"]) == {0, 1}
    assert result.summary["gradients"] >= result.summary["updates"] > 0
    assert result.summary["node_aggregators"] == 1  # one node here: its aggregator ran to the end,
    assert (result.progress["node_aggregators"] == 1).all()  # and from the first progress row
    assert result.summary["aggregator_restarts"] == 0


@pytest.mark.slow
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
