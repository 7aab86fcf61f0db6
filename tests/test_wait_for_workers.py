"""--wait-for-workers: training starts once every Ray worker is up, not with the first one."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_cli


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_training_starts_once_every_worker_is_up(tmp_path):
    """A Ray the run starts creates a machine's cores' worth of workers at a time (2 here): the third comes up
    seconds after the first, which training would otherwise start with."""
    out = tmp_path / "run"
    done = run_cli("train", "--env", "CartPole-v1", "--workers", "3", "--wait-for-workers", "--envs-per-worker", "2",
                   "--stop-steps", "3000", "--eval-interval-steps", "0", "--report-interval-s", "0.1",
                   "--no-progress-bar", "--out", str(out), timeout=200)
    assert done.returncode == 0, done.stderr
    progress, episodes = pd.read_csv(out / "progress.csv"), pd.read_csv(out / "episodes.csv")
    assert len(progress) and (progress["workers_running"] == 3).all()
    assert set(episodes["worker"]) == {0, 1, 2}
