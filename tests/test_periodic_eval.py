"""Greedy evaluation during training: one version's weights and statistics, the best kept, stop on evaluation."""

import time

import numpy as np
import pandas as pd
import pytest

from a3c_ray import make_config, train
from a3c_ray.core.learner import Learner
from a3c_ray.core.model import set_flat_weights
from a3c_ray.core.worker import RolloutWorker
from a3c_ray.envs.make import make_env
from a3c_ray.run import periodic_eval
from a3c_ray.run.checkpoint import load_checkpoint
from a3c_ray.run.evaluation import build_policy, greedy_returns
from a3c_ray.run.periodic_eval import EVAL_SEED, EvalResult, EvaluationSchedule, PeriodicEvaluator
from a3c_ray.run.recorder import Recorder
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
    # evaluations from 2,500 env steps, so that a first one comes before any policy can pass 200 (mp's runs differ
    # run to run: one passed at its first evaluation, ~11.8k env steps, with evaluations every 10,000)
    config = make_config("CartPole-v1", backend="mp", seed=0, stop_return=200, stop_seconds=120,
                         eval_interval_steps=2_500, eval_episodes=5, progress_bar=False, out=str(tmp_path / "run"))
    result = train(config)
    s = result.summary
    assert s["stop_reason"] == "solved" and s["solved_by"] == "eval"
    evals = pd.read_csv(tmp_path / "run" / "evals.csv")
    assert len(evals) >= 2 and evals["return_mean"].iloc[-1] >= 200  # the run stopped on that evaluation,
    assert evals["episodes"].iloc[-1] == 10  # a round of 5 and its confirmation on fresh seeds
    single = evals.iloc[:-1][evals["episodes"].iloc[:-1] == 5]
    assert (single["return_mean"] < 200).all()  # no lone round reached 200 before (it would have been confirmed)
    best = load_checkpoint(tmp_path / "run" / "best_checkpoint.pt")
    top = evals.loc[evals["return_mean"].idxmax()]
    assert best["counters"]["eval_return_mean"] == pytest.approx(top["return_mean"])
    assert best["counters"]["version"] == top["version"] and s["best_eval_return"] == pytest.approx(top["return_mean"])
    model, _ = build_policy(config)
    model.load_state_dict(best["model"])  # a complete policy
    assert load_checkpoint(tmp_path / "run")["counters"]["version"] >= best["counters"]["version"]


class ScriptedEvaluator:
    """Stands in for the evaluation process: hands back the rounds it was given, in order."""

    def __init__(self, rounds: list[list[float]]):
        self.rounds, self.submitted, self.running = rounds, [], None

    @property
    def busy(self) -> bool:
        return self.running is not None

    def submit(self, weights, env_steps: int) -> None:
        self.submitted.append(env_steps)
        self.running = (weights, env_steps)

    def poll(self, wait_s: float = 0.0):
        if self.running is None:
            return None
        (weights, env_steps), self.running = self.running, None
        return EvalResult(weights, env_steps, self.rounds.pop(0), 0.0)


@pytest.mark.parametrize("second, solved", [([150.0] * 5, False), ([260.0] * 5, True)])
def test_a_round_that_reaches_the_threshold_solves_only_when_its_confirmation_does(tmp_path, monkeypatch, second,
                                                                                    solved):
    config = tiny_config(tmp_path, stop_return=200.0, eval_interval_steps=100, eval_episodes=5)
    scripted = ScriptedEvaluator([[250.0] * 5, second])
    monkeypatch.setattr(periodic_eval, "PeriodicEvaluator", lambda *args: scripted)
    learner, recorder = Learner(config), Recorder(config)
    schedule = EvaluationSchedule(config, tmp_path, env_steps=0)
    recorder.env_steps = 100
    schedule.step(learner, recorder, now=0.0)  # the first round goes out
    schedule.step(learner, recorder, now=0.0)  # it reached 200: the same weights go out again, nothing recorded
    assert scripted.submitted == [100, 100] and recorder.eval_rows == [] and recorder.stop.solved_at is None
    schedule.step(learner, recorder, now=0.0)  # the confirmation is back: one row of both rounds
    assert len(recorder.eval_rows) == 1 and recorder.eval_rows[0]["episodes"] == 10
    assert recorder.eval_rows[0]["return_mean"] == pytest.approx((250 + second[0]) / 2)
    assert (recorder.stop.solved_at is not None) == solved


ORPHAN = """
import os, sys
from a3c_ray.config import make_config
from a3c_ray.run.periodic_eval import PeriodicEvaluator

if __name__ == "__main__":
    evaluator = PeriodicEvaluator(make_config("CartPole-v1", stop_steps=100), sys.argv[1])
    print(evaluator.process.pid, flush=True)
    evaluator.process.join(timeout=5)  # it is up and waiting for weights
    os._exit(1)  # the driver dies without closing it, as in a crash
"""


def test_the_evaluation_process_ends_when_the_driver_dies_without_closing_it(tmp_path):
    import subprocess
    import sys

    import psutil

    script = tmp_path / "driver.py"
    script.write_text(ORPHAN)
    done = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=120)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 30
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    if alive:
        psutil.Process(pid).kill()
    assert not alive, "the evaluation process outlived its driver"
