"""--wait-for-workers: training starts once every Ray worker is up, not with the first one."""

from __future__ import annotations

import pytest

from a3c_ray import train
from conftest import tiny_config


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_training_starts_once_every_worker_is_up(tmp_path, ray_session):
    result = train(tiny_config(tmp_path, backend="ray", workers=3, wait_for_workers=True, stop_steps=3_000,
                               eval_interval_steps=0, report_interval_s=0.1))
    assert len(result.progress) and (result.progress["workers_running"] == 3).all()
    assert set(result.episodes["worker"]) == {0, 1, 2}
