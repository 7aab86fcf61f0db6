"""The real a3c-ray command, end to end, on tiny budgets."""

import json

import numpy as np
import pandas as pd
import pytest

from a3c_ray import evaluate, load_run, load_runs
from conftest import run_cli


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_train_evaluate_plot(tmp_path):
    out = tmp_path / "run"
    done = run_cli("train", "--env", "CartPole-v1", "--backend", "serial", "--workers", "1", "--stop-steps",
                   "3000", "--out", str(out), "--no-progress-bar")
    assert done.returncode == 0, done.stderr
    assert "CartPole-v1" in done.stdout
    for name in ("config.json", "progress.csv", "episodes.csv", "summary.json", "checkpoint.pt",
                 "learning_curve.png"):
        assert (out / name).is_file(), name
    run = load_run(out)
    assert run.summary["env_steps"] >= 3000 and run.summary["stop_reason"] == "stop_steps"
    for key in ("solved", "time_to_solve_s", "env_steps_to_solve", "env_steps", "wall_s", "startup_s",
                "episode_return_mean"):
        assert key in run.summary
    assert {"time_s", "updates", "env_steps", "episodes", "episode_return_mean", "episode_len_mean",
            "policy_loss", "value_loss", "entropy", "grad_norm", "policy_lag_mean", "policy_lag_max",
            "env_steps_per_s"} <= set(run.progress.columns)
    assert list(run.episodes.columns[:6]) == ["episode", "worker", "return", "length", "env_steps", "time_s"]
    assert run.config.stop_return == 475.0  # from CartPole-v1's reward_threshold

    evaluated = run_cli("evaluate", str(out), "--episodes", "3", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    result = json.loads(evaluated.stdout)
    assert result["episodes"] == 3 and result["checkpoint"] == str(out / "checkpoint.pt")  # no evals: the last
    returns = evaluate(out, episodes=3)  # what the command printed is that checkpoint's greedy return
    assert result["mean_return"] == pytest.approx(np.mean(returns))
    assert result["std_return"] == pytest.approx(np.std(returns))

    plotted = run_cli("plot", str(out), str(out), "--out", str(tmp_path / "curves.png"))
    assert plotted.returncode == 0, plotted.stderr
    assert (tmp_path / "curves.png").stat().st_size > 1000

    stacked = load_runs([out, out])
    assert isinstance(stacked, pd.DataFrame) and {"lr", "env", "run_dir"} <= set(stacked.columns)
    assert len(stacked) == 2 * len(run.progress)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pendulum_ray_backend_via_cli(tmp_path):
    out = tmp_path / "run"
    done = run_cli("train", "--env", "Pendulum-v1", "--workers", "2", "--envs-per-worker", "2", "--stop-steps",
                   "3000", "--out", str(out), "--no-progress-bar")
    assert done.returncode == 0, done.stderr
    run = load_run(out)
    assert run.summary["backend"] == "ray" and run.summary["env_steps"] >= 3000
    assert set(run.episodes["worker"]) == {0, 1}  # both actors contributed
    s = run.summary  # the run's time is start-up (Ray's workers up) then training: neither missing nor counted twice
    assert 0 < s["startup_s"] < s["wall_s"] and 0 < s["training_s"] < s["wall_s"]
    # training_s runs to the clock reading of the run's files, taken a moment after wall_s (matplotlib's import
    # between them: ~0.3 s here)
    assert s["wall_s"] <= s["startup_s"] + s["training_s"] <= s["wall_s"] + 2.0


def test_python_api_module_entry_point_help():
    done = run_cli("train", "--help")
    assert done.returncode == 0 and "--envs-per-worker" in done.stdout
