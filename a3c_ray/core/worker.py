"""The worker verb of A3C: given weights, run a rollout and return gradients. Every backend runs this class."""

from __future__ import annotations

import time

import numpy as np
import torch

from a3c_ray.config import Config
from a3c_ray.core.loss import a3c_loss
from a3c_ray.core.messages import Gradients, Weights, encode
from a3c_ray.core.model import ActorCritic, build_model, get_flat_grads, set_flat_weights
from a3c_ray.core.normalize import moments_state, normalizer_for
from a3c_ray.core.rollout import Rollout, RolloutCollector
from a3c_ray.envs.groups import make_env_group


def worker_seed(config: Config, index: int, incarnation: int = 0) -> int:
    """Distinct seeds per worker, and per restart of a worker so a replacement does not replay its past."""
    return config.seed + 1000 * index + 100_000 * incarnation


class RolloutWorker:
    """Holds envs and a local model copy. Stateless between calls except for the envs' progress."""

    def __init__(self, config: Config, index: int, incarnation: int = 0, model: ActorCritic | None = None):
        """`model`: a model to share with other workers of one process (the virtual backend's, which run one task
        at a time); by default the worker builds its own copy."""
        torch.set_num_threads(1)  # one thread per worker process: 2 cores, no oversubscription
        seed = worker_seed(config, index, incarnation)
        torch.manual_seed(seed)
        self.config, self.index = config, index
        self.envs = make_env_group(config.env, config.envs_per_worker, seed, config.native_vector_env,
                                   config.squash_actions, config.env_kwargs)
        self.model = model if model is not None else build_model(config, self.envs.observation_space,
                                                                 self.envs.action_space)
        self.normalizer = normalizer_for(config, self.envs.observation_space)
        self.collector = RolloutCollector(self.envs, self.model, self.normalizer, np.random.default_rng(seed))

    def compute_gradients(self, weights: Weights) -> Gradients:
        """Load `weights`, collect one rollout with them, and return the gradient of its loss."""
        start = time.perf_counter()
        set_flat_weights(self.model, weights.params)
        self.normalizer.load(weights.normalizer)
        rollout = self.collector.collect(self.config.rollout_length)
        gradients = self.gradients_for(rollout, weights.version)
        # where a task's time goes: here, and (set by whoever sent the task) from sending it to its result
        gradients.metrics["compute_s"] = gradients.metrics["round_trip_s"] = time.perf_counter() - start
        return gradients

    def gradients_for(self, rollout: Rollout, version: int) -> Gradients:
        """Gradient of one rollout's loss. Grads are zeroed first, so calls never accumulate (the original's bug)."""
        self.model.grads.zero()
        loss, metrics = a3c_loss(self.model, rollout, self.config)
        loss.backward()
        metrics["grad_norm"] = self.model.grads.clip_norm(self.config.max_grad_norm)
        return Gradients(self.index, version, encode(get_flat_grads(self.model), self.config.grad_dtype),
                         rollout.env_steps, rollout.episodes,
                         metrics, moments_state(rollout.obs_moments, rollout.ret_moments))

    def close(self) -> None:
        self.envs.close()
