"""Collect an n-step rollout from an env group with the current policy (no gradients here)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from a3c_ray.core.model import ActorCritic, State, reset_where
from a3c_ray.core.normalize import Normalizer, RunningMeanStd
from a3c_ray.envs.loop_group import EnvGroup
from a3c_ray.envs.native_vector import NativeVectorGroup


@dataclass
class Rollout:
    """[T, N, ...] arrays of one rollout, observations already normalised with the statistics it was run with."""

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray  # scaled when reward normalisation is on
    terminated: np.ndarray
    truncated: np.ndarray
    valid: np.ndarray  # [T, N] False where a vector env's reset step stood in for a transition
    last_obs: np.ndarray  # [N, ...], to bootstrap the rollout's tail
    final_obs: list[tuple[int, int, np.ndarray]]  # (t, env, normalised final obs) of truncated episodes
    episodes: list[tuple[float, int]]  # finished episodes: (return, length), unscaled
    obs_moments: RunningMeanStd  # raw observations seen, for the global normaliser (empty when it is off)
    ret_moments: RunningMeanStd  # discounted returns seen, for reward scaling
    state: State = None  # recurrent state before the first step (None without a core)
    resets: np.ndarray | None = None  # [T, N] the state was zeroed before step t (a new episode started)
    last_resets: np.ndarray | None = None  # [N] the same, before the tail's bootstrap value

    @property
    def env_steps(self) -> int:
        return int(self.valid.sum())


class RolloutCollector:
    """Owns what outlives one rollout: the envs, discounted returns for reward scaling, the recurrent state."""

    def __init__(self, envs: EnvGroup | NativeVectorGroup, model: ActorCritic, normalizer: Normalizer,
                 rng: np.random.Generator):
        self.envs, self.model, self.normalizer, self.rng = envs, model, normalizer, rng
        self.discounted_returns = np.zeros(len(envs))
        self.state = model.initial_state(len(envs))
        # the next step starts a new episode: after an episode's last step, and after a vector env's reset row
        self.reset_next = np.zeros(len(envs), dtype=bool)

    def collect(self, length: int) -> Rollout:
        envs, norm, n = self.envs, self.normalizer, len(self.envs)
        obs_shape = envs.obs.shape[1:]
        first = norm.obs(envs.obs)
        obs_buf = np.empty((length, n, *obs_shape), dtype=first.dtype)
        raw_buf = np.empty((length, n, *obs_shape), dtype=np.float32) if norm.normalize_obs else None
        rewards = np.empty((length, n), dtype=np.float32)
        terminated = np.empty((length, n), dtype=bool)
        truncated = np.empty((length, n), dtype=bool)
        valid = np.ones((length, n), dtype=bool)
        resets = np.empty((length, n), dtype=bool)
        ret_buf = np.empty((length, n), dtype=np.float64)
        actions = None
        final_obs: list[tuple[int, int, np.ndarray]] = []
        episodes: list[tuple[float, int]] = []
        start_state = self.state
        self.model.draw_noise(n, self.rng)
        for t in range(length):
            if raw_buf is not None:
                raw_buf[t] = envs.obs
            obs_buf[t] = first if t == 0 else norm.obs(envs.obs)
            resets[t] = self.reset_next
            with torch.inference_mode():
                state = reset_where(self.state, torch.from_numpy(self.reset_next))
                params, self.state = self.model.act(torch.from_numpy(obs_buf[t]), state)
            action = self.model.dist.sample(params.numpy(), self.rng)
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
            self.reset_next = step.terminated | step.truncated | ~valid[t]
            for i, last in step.final_obs.items():
                final_obs.append((t, i, norm.obs(last[None])[0]))
            for i, ret, steps in step.finished:
                episodes.append((ret, steps))
                self.discounted_returns[i] = 0.0
        obs_moments, ret_moments = RunningMeanStd(obs_shape if raw_buf is not None else (0,)), RunningMeanStd(())
        if raw_buf is not None:
            obs_moments.update(raw_buf.reshape(-1, *obs_shape))
        ret_moments.update(ret_buf[valid])
        return Rollout(obs_buf, actions, rewards, terminated, truncated, valid, norm.obs(envs.obs), final_obs,
                       episodes, obs_moments, ret_moments, start_state, resets, self.reset_next.copy())
