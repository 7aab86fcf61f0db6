"""Defaults that follow the worker count: envs per worker shrink so all workers together step the tuned count."""

from __future__ import annotations

from a3c_ray.config import make_config


def test_envs_per_worker_follow_the_worker_count():
    envs = {n: make_config("CartPole-v1", workers=n).envs_per_worker for n in (1, 2, 4, 16, 64, 256)}
    assert envs == {1: 32, 2: 32, 4: 16, 16: 4, 64: 1, 256: 1}  # the preset's 32 were tuned with 2 workers
    assert make_config("Acrobot-v1", workers=4).envs_per_worker == 4  # the generic 8, likewise
    assert make_config("CartPole-v1", workers=64, envs_per_worker=8).envs_per_worker == 8  # given: kept
