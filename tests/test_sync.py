"""--sync, synchronous A2C: every update is the mean of one gradient from every worker, all on the same weights
(policy lag 0); on Ray and serial, refused on mp."""

from __future__ import annotations

import pytest

from a3c_ray import train
from a3c_ray.errors import ConfigError
from conftest import run_cli, tiny_config


def check_rounds(result, workers: int) -> None:
    progress = result.progress.dropna(subset=["gradients_per_update"])
    assert len(progress) and (progress["gradients_per_update"] == workers).all()  # every worker, every update
    assert (progress["policy_lag_max"] == 0).all()  # all on the weights of the update before
    assert result.summary["gradients"] == workers * result.summary["updates"]


@pytest.mark.timeout(120)
def test_serial_sync_applies_one_mean_of_every_workers_gradient(tmp_path):
    result = train(tiny_config(tmp_path, workers=3, sync=True, stop_steps=2_000, eval_interval_steps=0))
    check_rounds(result, 3)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_ray_sync_rounds_learn_cartpole(tmp_path, ray_session):
    result = train(tiny_config(tmp_path, backend="ray", workers=2, sync=True, envs_per_worker=8, rollout_length=16,
                               stop_steps=None, stop_return=300, stop_seconds=90, eval_interval_steps=0,
                               stop_on_eval=False, report_interval_s=0.5))
    check_rounds(result, 2)
    assert result.summary["solved"]


@pytest.mark.parametrize("args", [["--backend", "mp"], ["--node-aggregators"]])
def test_sync_is_refused_where_it_cannot_hold(tmp_path, args):
    done = run_cli("train", "--env", "CartPole-v1", "--sync", *args, "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--sync" in done.stderr and "Hogwild" in done.stderr


def test_sync_from_64_workers_takes_rounds_not_aggregators():
    from a3c_ray.backends.ray_backend import RayBackend
    from a3c_ray.backends.ray_sync import SyncRounds
    from a3c_ray.config import make_config

    config = make_config("CartPole-v1", workers=64, sync=True)
    assert isinstance(RayBackend(config, learner=None).route, SyncRounds)
    with pytest.raises(ConfigError):
        make_config("CartPole-v1", backend="mp", sync=True).validate()
