"""Stop a run and resume it: counters continue and the return curve does not restart from scratch."""

import pandas as pd
import pytest
import torch

from a3c_ray import make_config, train
from a3c_ray.run.checkpoint import load_checkpoint
from a3c_ray.run.run_dir import resume_config


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_resume_continues_counters_and_learning(tmp_path):
    out = tmp_path / "run"
    first = train(make_config("CartPole-v1", stop_at_threshold=False, backend="mp", seed=0, stop_steps=100_000,
                              progress_bar=False, out=str(out)))
    before = load_checkpoint(out)
    version, steps, episodes = before["counters"]["version"], first.summary["env_steps"], len(first.episodes)
    late_return = first.episodes["return"].tail(50).mean()
    assert late_return > 60  # it learned something worth keeping

    second = train(resume_config(out, stop_steps=150_000), resume=True)
    assert second.summary["env_steps"] >= 150_000
    assert second.summary["updates"] > version  # the weight version continued, not restarted
    new = second.episodes.iloc[episodes:]
    assert len(second.episodes) > episodes and new["episode"].iloc[0] == episodes
    assert new["env_steps"].min() > steps and new["time_s"].min() >= first.summary["training_s"] - 1e-6
    # picks up where it was, not from scratch. The first episodes to end after a start are its shortest ones: the
    # resumed run's first 30 against the first run's last 50 was unfair (once 144 against half of 300.6). Against
    # the first run's own first 30 (from scratch, ~22) the bias is the same; and they keep a fair part of the
    # level learned
    fresh_start = first.episodes["return"].head(30).mean()
    assert new["return"].head(30).mean() > max(3 * fresh_start, 0.3 * late_return)
    on_disk = pd.read_csv(out / "episodes.csv")
    assert len(on_disk) == len(second.episodes)  # appended, not replaced
    assert len(pd.read_csv(out / "progress.csv")) == len(second.progress) > len(first.progress)
    after = torch.load(out / "checkpoint.pt", weights_only=True)
    assert after["counters"]["env_steps"] == second.summary["env_steps"]


def test_resume_from_a_relative_path_keeps_an_absolute_run_dir(tmp_path, monkeypatch):
    from conftest import tiny_config

    train(tiny_config(tmp_path, stop_steps=200))
    monkeypatch.chdir(tmp_path)  # a driver's cwd can vanish and be re-created later (spawn.start_in)
    result = train(resume_config("run", stop_steps=400), resume=True)
    assert result.run_dir == tmp_path / "run" and result.run_dir.is_absolute()
    assert result.summary["env_steps"] >= 400
