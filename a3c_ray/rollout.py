"""Collect an n-step rollout from an EnvGroup with the current policy (no gradients here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from a3c_ray.envs import EnvGroup
from a3c_ray.model import ActorCritic
from a3c_ray.native_vector import NativeVectorGroup
from a3c_ray.normalize import Normalizer, RunningMeanStd


@dataclass
class Rollout:
    """[T, N, ...] arrays of one rollout, observations already normalised with the statistics it was run with."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray  # scaled when reward normalisation is on
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray  # [T, N] False where a vector env's reset step stood in for a transition
    last_obs: np.ndarray  # [N, obs_dim], to bootstrap the rollout's tail
    final_obs: list[tuple[int, int, np.ndarray]]  # (t, env, normalised final obs) of truncated episodes
    episodes: list[tuple[float, int]]  # finished episodes: (return, length), unscaled
    obs_moments: RunningMeanStd  # raw observations seen, for the global normaliser
    ret_moments: RunningMeanStd  # discounted returns seen, for reward scaling

    @property
    def env_steps(self) -> int:
        return int(self.valid.sum())


class RolloutCollector:
    """Owns the per-env state that outlives one rollout (envs, discounted returns for reward scaling)."""

    def __init__(self, envs: EnvGroup | NativeVectorGroup, model: ActorCritic, normalizer: Normalizer,
                 rng: np.random.Generator):
        self.envs, self.model, self.normalizer, self.rng = envs, model, normalizer, rng
        self.discounted_returns = np.zeros(len(envs))

    def collect(self, length: int) -> Rollout:
        envs, norm, n = self.envs, self.normalizer, len(self.envs)
        obs_dim = envs.obs.shape[1]
        obs_buf = np.empty((length, n, obs_dim), dtype=np.float32)
        raw_buf = np.empty((length, n, obs_dim), dtype=np.float32)
        rewards = np.empty((length, n), dtype=np.float32)
        terminated = np.empty((length, n), dtype=bool)
        truncated = np.empty((length, n), dtype=bool)
        valid = np.ones((length, n), dtype=bool)
        ret_buf = np.empty((length, n), dtype=np.float64)
        actions = None
        final_obs: list[tuple[int, int, np.ndarray]] = []
        episodes: list[tuple[float, int]] = []
        for t in range(length):
            raw_buf[t] = envs.obs
            obs_buf[t] = norm.obs(envs.obs)
            with torch.inference_mode():
                params = self.model.policy_params(torch.from_numpy(obs_buf[t])).numpy()
            action = self.model.dist.sample(params, self.rng)
            if actions is None:
                actions = np.empty((length, *action.shape), dtype=action.dtype)
            actions[t] = action
            step = envs.step(action)
            self.discounted_returns = self.discounted_returns * norm.gamma + step.rewards
            ret_buf[t] = self.discounted_returns
            rewards[t] = norm.reward(step.rewards)
            terminated[t], truncated[t] = step.terminated, step.truncated
            if step.valid is not None:
                valid[t] = step.valid
            for i, last in step.final_obs.items():
                final_obs.append((t, i, norm.obs(last[None])[0]))
            for i, ret, steps in step.finished:
                episodes.append((ret, steps))
                self.discounted_returns[i] = 0.0
        obs_moments, ret_moments = RunningMeanStd((obs_dim,)), RunningMeanStd(())
        obs_moments.update(raw_buf.reshape(-1, obs_dim))
        ret_moments.update(ret_buf[valid])
        return Rollout(obs_buf, actions, rewards, terminated, truncated, valid, norm.obs(envs.obs), final_obs, episodes,
                       obs_moments, ret_moments)
