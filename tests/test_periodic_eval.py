"""Greedy evaluation during training: one version's weights and statistics, the best kept, stop on evaluation."""

import time

import numpy as np
import pandas as pd
import pytest

from a3c_ray import make_config, train
from a3c_ray.checkpoint import load_checkpoint
from a3c_ray.envs import make_env
from a3c_ray.evaluation import build_policy, greedy_returns
from a3c_ray.learner import Learner
from a3c_ray.model import set_flat_weights
from a3c_ray.periodic_eval import EVAL_SEED, PeriodicEvaluator
from a3c_ray.worker import RolloutWorker
from conftest import tiny_config


def test_evaluator_uses_the_weights_and_statistics_it_was_handed(tmp_path):
    config = tiny_config(tmp_path, env="Pendulum-v1", eval_episodes=2)
    learner, worker = Learner(config), RolloutWorker(config, 0)
    for _ in range(3):  # weights and normaliser statistics away from their initial values
        learner.apply_gradients(worker.compute_gradients(learner.weights()))
    taken = learner.weights()
    evaluator = PeriodicEvaluator(config, tmp_path)
    try:
        evaluator.submit(taken, env_steps=123)
        for _ in range(3):  # the learner moves on while the evaluation runs
            learner.apply_gradients(worker.compute_gradients(learner.weights()))
        deadline, result = time.monotonic() + 60, None
        while result is None and time.monotonic() < deadline:
            result = evaluator.poll(wait_s=0.5)
    finally:
        evaluator.close()
    assert result is not None and result.weights.version == taken.version == 3 and result.env_steps == 123
    model, normalizer = build_policy(config)  # the same evaluation, here, from the snapshot alone
    set_flat_weights(model, taken.params)
    normalizer.load(taken.normalizer)
    expected = greedy_returns(model, normalizer, [make_env(config.env)], 2, EVAL_SEED + config.seed * 7919)
    assert result.returns == pytest.approx(expected)
    assert learner.weights().version == 6 and not np.allclose(learner.weights().normalizer["obs_mean"],
                                                             taken.normalizer["obs_mean"])


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_best_checkpoint_is_the_best_evaluation_and_stop_on_eval_stops(tmp_path):
    config = make_config("CartPole-v1", backend="mp", seed=0, stop_return=200, stop_seconds=120,
                         eval_interval_steps=10_000, eval_episodes=5, progress_bar=False, out=str(tmp_path / "run"))
    result = train(config)
    s = result.summary
    assert s["stop_reason"] == "solved" and s["solved_by"] == "eval"
    evals = pd.read_csv(tmp_path / "run" / "evals.csv")
    assert len(evals) >= 2 and evals["return_mean"].iloc[-1] >= 200  # the run stopped on that evaluation
    assert evals["return_mean"].iloc[:-1].max() < 200  # and not before it
    best = load_checkpoint(tmp_path / "run" / "best_checkpoint.pt")
    top = evals.loc[evals["return_mean"].idxmax()]
    assert best["counters"]["eval_return_mean"] == pytest.approx(top["return_mean"])
    assert best["counters"]["version"] == top["version"] and s["best_eval_return"] == pytest.approx(top["return_mean"])
    model, _ = build_policy(config)
    model.load_state_dict(best["model"])  # a complete policy
    assert load_checkpoint(tmp_path / "run")["counters"]["version"] >= best["counters"]["version"]
