"""Greedy evaluation during training, in a process of its own (SB3's EvalCallback, off the critical path).

The driver hands the evaluator the weights and normaliser statistics of one version (a Weights, taken together)
and reads the result when it is ready; it never waits for it. One evaluation runs at a time. Each round starts
its episodes from new seeds, so picking the best round does not pick the luckiest starts over and over.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from a3c_ray.config import Config
from a3c_ray.core.messages import Weights
from a3c_ray.core.model import set_flat_weights
from a3c_ray.errors import EvalError
from a3c_ray.plumbing.interrupts import leave_terminal_signals_to_the_driver
from a3c_ray.plumbing.spawn import EXIT_SCRIPT_REIMPORTED, NO_MAIN_GUARD, start_in
from a3c_ray.run.checkpoint import save_checkpoint
from a3c_ray.run.evaluation import build_policy, greedy_returns, make_eval_envs
from a3c_ray.run.run_dir import BEST_CHECKPOINT_NAME

if TYPE_CHECKING:  # the evaluation process imports this module: pandas (~0.5 s) stays out of its start-up
    from a3c_ray.run.recorder import Recorder

EVAL_SEED = 20_000  # training envs use seed + 1000 * worker, `a3c-ray evaluate` 10_000 + k


@dataclass
class EvalResult:
    weights: Weights  # what was evaluated: parameters and normaliser statistics of one version
    env_steps: int  # training env steps when the weights were taken
    returns: list[float]
    seconds: float  # how long the evaluation itself took

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


def serve(config: Config, requests, results) -> None:
    """Body of the evaluation process: build the env and model once, then evaluate what arrives."""
    leave_terminal_signals_to_the_driver()
    torch.set_num_threads(1)
    model, normalizer = build_policy(config)
    envs = make_eval_envs(config, config.eval_episodes)
    signal.signal(signal.SIGTERM, lambda signum, frame: _close_and_exit(envs))  # the driver's close(), mid-round
    for round_, (params, stats) in enumerate(_requests(requests)):
        start = time.perf_counter()
        set_flat_weights(model, params)
        normalizer.load(stats)
        returns = greedy_returns(model, normalizer, envs, config.eval_episodes,
                                 EVAL_SEED + config.seed * 7919 + round_ * config.eval_episodes)
        results.put((returns, time.perf_counter() - start))
    envs.close()


def _close_and_exit(envs) -> None:
    """End at once, yet close the envs: a user's env may hold a file or a process of its own."""
    envs.close()
    os._exit(0)


def _requests(requests):
    """What the driver sends, until its None, or until the driver is gone: one that died in a crash never sends
    the None, and this process went on holding the terminal's output (seen: a command piping the CLI's output
    waited 10 minutes on it)."""
    parent = multiprocessing.parent_process()
    while True:
        try:
            request = requests.get(timeout=1.0)
        except queue.Empty:
            if parent is not None and not parent.is_alive():
                return
            continue
        if request is None:
            return
        yield request


class PeriodicEvaluator:
    def __init__(self, config: Config, run_dir: Path):
        ctx = multiprocessing.get_context("spawn")
        self.requests, self.results = ctx.Queue(), ctx.Queue()
        self.process = ctx.Process(target=serve, args=(config, self.requests, self.results), daemon=True,
                                   name="a3c-eval")
        start_in(self.process, run_dir)  # starts while the backend starts: its imports overlap the workers'
        self.running: tuple[Weights, int] | None = None

    @property
    def busy(self) -> bool:
        return self.running is not None

    def submit(self, weights: Weights, env_steps: int) -> None:
        """Evaluate these weights next (call when not busy)."""
        self.running = (weights, env_steps)
        self.requests.put((weights.params, weights.normalizer))

    def poll(self, wait_s: float = 0.0) -> EvalResult | None:
        """The finished evaluation, if there is one, waiting up to `wait_s` for it (0: never blocks)."""
        if self.running is None:
            return None
        try:
            returns, seconds = self.results.get(timeout=wait_s) if wait_s > 0 else self.results.get_nowait()
        except queue.Empty:
            if not self.process.is_alive():
                raise EvalError(self._death()) from None
            return None
        (weights, env_steps), self.running = self.running, None
        return EvalResult(weights, env_steps, returns, seconds)

    def _death(self) -> str:
        if self.process.exitcode == EXIT_SCRIPT_REIMPORTED:
            return NO_MAIN_GUARD
        return (f"the evaluation process (pid {self.process.pid}) died with exit code {self.process.exitcode}; "
                "see its output above, or pass --eval-interval-steps 0 to train without it")

    def close(self) -> None:
        if self.requests is None:  # closed already
            return
        if self.process.is_alive():  # no result of it is still wanted: no waiting for its round to end (~0.5 s
            self.process.terminate()  # on CartPole) or for its interpreter's exit; SIGTERM closes its envs
            self.process.join(timeout=2.0)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=2.0)
        for channel in (self.requests, self.results):
            channel.cancel_join_thread()
            channel.close()
        # their semaphores are released (and unregistered from multiprocessing's resource tracker) when the queues
        # go, now: if Ray's teardown then crashes this process, the tracker has nothing to warn about on stderr
        # beside the supervisor's one line
        self.requests = self.results = None


class EvaluationSchedule:
    """Every --eval-interval-steps env steps, the learner's current weights and statistics go to the evaluator;
    results are recorded, and the best weights saved as best_checkpoint.pt.

    The evaluator shares the machine with the workers, so it may take at most DUTY of the wall time: after an
    evaluation that took d seconds, the next one waits d * (1 / DUTY - 1) seconds at least (a long episode of a
    good policy costs more than the interval's worth of training).

    A round that reaches --stop-return is confirmed before it solves the run: the same weights are evaluated again
    at once on fresh seeds, and the run is solved only when that second round reaches it too. Picking the first
    of many noisy 10-episode rounds that crosses the line picks luck: a Pendulum run stopped on a -172 round whose
    policy scored -439 over 100 episodes. Both rounds are recorded as one row (twice the episodes)."""

    DUTY = 0.25

    def __init__(self, config: Config, run_dir: Path, env_steps: int, blocking: bool = False):
        """blocking: training waits for each evaluation (and its confirmation), so that each lands exactly on the
        grid of --eval-interval-steps; no duty cap is needed then."""
        self.config, self.run_dir, self.blocking = config, run_dir, blocking
        self.next_at = env_steps + config.eval_interval_steps
        self.not_before = 0.0  # clock time the duty cap allows the next evaluation at
        self.evaluator = PeriodicEvaluator(config, run_dir)
        self.model = None  # built on the first best result, to write its state dict
        self.candidate: EvalResult | None = None  # a round that reached the threshold, awaiting its confirmation

    def step(self, learner, recorder: Recorder, now: float) -> None:
        self._record(self.evaluator.poll(), recorder, now)
        if not self.evaluator.busy and recorder.env_steps >= self.next_at and now >= self.not_before:
            self.evaluator.submit(learner.weights(), recorder.env_steps)
            self.next_at = recorder.env_steps + self.config.eval_interval_steps
        while self.blocking and self.evaluator.busy:  # a confirmation round keeps it busy: awaited too
            self._record(self.evaluator.poll(wait_s=1.0), recorder, now)

    def finish(self, recorder: Recorder, clock, wait_s: float = 60.0) -> None:
        """At the end of a run: the evaluation still running is awaited (up to `wait_s`) and recorded, with its
        confirmation round when it reached the threshold."""
        self._record(self.evaluator.poll(wait_s), recorder, clock())
        if self.candidate is not None:
            self._record(self.evaluator.poll(wait_s), recorder, clock())

    def _record(self, result: EvalResult | None, recorder: Recorder, now: float) -> None:
        if result is None:
            return
        if not self.blocking:
            self.not_before = now + result.seconds * (1 / self.DUTY - 1)
        confirmed_mean = None
        if self.candidate is not None:  # `result` is the confirmation round of the candidate's weights
            confirmed_mean = result.mean
            result = EvalResult(result.weights, result.env_steps, self.candidate.returns + result.returns,
                                self.candidate.seconds + result.seconds)
            self.candidate = None
        elif self.config.solved_by_eval and recorder.stop.reaches_return(result.mean):
            self.candidate = result
            self.evaluator.submit(result.weights, result.env_steps)
            return
        if recorder.record_eval(result.weights.version, result.env_steps, result.returns, now, confirmed_mean):
            self._save_best(result)

    def _save_best(self, result: EvalResult) -> None:
        if self.model is None:
            self.model = build_policy(self.config)[0]
        set_flat_weights(self.model, result.weights.params)
        save_checkpoint(self.run_dir / BEST_CHECKPOINT_NAME, config=self.config, model_state=self.model.state_dict(),
                        optimizer_state={}, normalizer_state=result.weights.normalizer,
                        counters={"version": result.weights.version, "env_steps": result.env_steps,
                                  "eval_return_mean": result.mean, "eval_return_std": result.std,
                                  "eval_episodes": len(result.returns)})

    def close(self) -> None:
        self.evaluator.close()
