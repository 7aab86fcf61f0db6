"""The learner verb of A3C: apply a worker's gradients to the global network and publish new weights."""

from __future__ import annotations

import torch

from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import GradientBatch, Update
from a3c_ray.core.messages import Gradients, Weights
from a3c_ray.core.model import ActorCritic, build_model, get_flat_weights
from a3c_ray.core.normalize import normalizer_for
from a3c_ray.core.optim import FlatOptimizer
from a3c_ray.envs.make import make_env


def build_optimizer(config: Config, model: ActorCritic) -> FlatOptimizer:
    """Adam or RMSprop (the A3C paper's, SB3 A2C's) over the model's flat parameter vector."""
    return FlatOptimizer(config.optimizer, model.flat.numel(), config.lr, config.optimizer_eps)


class Learner:
    """Global model, optimizer and normaliser statistics, with a version bumped on every apply."""

    def __init__(self, config: Config):
        env = make_env(config.env, kwargs=config.env_kwargs)
        self.config = config
        self.model: ActorCritic = build_model(config, env.observation_space, env.action_space)
        self.normalizer = normalizer_for(config, env.observation_space)
        env.close()
        self.optimizer = build_optimizer(config, self.model)
        self.version = 0

    def apply_gradients(self, gradients: Gradients | GradientBatch, max_policy_lag: int | None = None) -> int:
        """One optimizer step of the flat parameter vector with a worker's gradient, or with the mean of a batch's
        finite gradients that are at most `max_policy_lag` versions old; returns the version after it, which is
        unchanged when nothing was left to apply. Normaliser moments of every finite gradient are merged."""
        batch = gradients if isinstance(gradients, GradientBatch) else GradientBatch.of(gradients)
        mean = batch.mean_gradient(self.version, max_policy_lag)
        delta = batch.normalizer_delta()
        if delta:
            self.normalizer.merge(delta)
        if mean is None:
            return self.version
        self.optimizer.step(self.model.flat, torch.from_numpy(mean), self.lr_factor(batch))
        self.version += 1
        return self.version

    def lr_factor(self, batch: GradientBatch) -> float:
        """--lr-per-update: 1, 1 / the mean policy lag of the applied gradients (at least 1), or the square root
        of their count."""
        rule = self.config.lr_per_update
        if rule == "constant":
            return 1.0
        applied = [info.policy_lag for info in batch.infos if not info.status]
        return 1.0 / max(1.0, sum(applied) / len(applied)) if rule == "lag" else len(applied) ** 0.5

    def set_progress(self, env_steps: int) -> float:
        """The learning rate for this point of the run (--lr-schedule linear: falls to 0 at --stop-steps)."""
        lr = self.config.lr
        if self.config.lr_schedule == "linear":
            lr *= max(0.0, 1.0 - env_steps / self.config.stop_steps)
        self.optimizer.lr = lr
        return lr

    def weights(self) -> Weights:
        return Weights(self.version, get_flat_weights(self.model), self.normalizer.state())


def apply_batch(learner: Learner, gradients: Gradients | GradientBatch, max_policy_lag: int | None = None) -> Update:
    """The driver-side step of the serial and Ray backends: one optimizer step with the finite, fresh-enough
    gradients (their mean), reported with every gradient's lag and status."""
    batch = gradients if isinstance(gradients, GradientBatch) else GradientBatch.of(gradients)
    before = learner.version
    return Update(batch.infos, learner.apply_gradients(batch, max_policy_lag) != before)
