"""A small group of envs stepped together in a plain loop, with explicit final observations."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from a3c_ray.envs.actions import box_action
from a3c_ray.envs.make import make_env
from a3c_ray.envs.step import StepResult, obs_array


class EnvGroup:
    """n envs stepped in lock step; resets in place so a rollout never sees a stale obs.

    A plain loop beats gymnasium's vector envs here: it keeps the truncation's final obs explicit and adds
    almost nothing to the ~9 us of a classic-control step.
    """

    def __init__(self, env_id: str, n: int, seed: int, squash_actions: bool = False):
        self.envs = [make_env(env_id, seed + i) for i in range(n)]
        self.squash = squash_actions
        first = self.envs[0]
        self.observation_space = first.observation_space
        self.action_space = first.action_space
        self.discrete = isinstance(self.action_space, gym.spaces.Discrete)
        if not self.discrete:
            self.low = self.action_space.low.astype(np.float32)
            self.high = self.action_space.high.astype(np.float32)
        self.obs = obs_array([env.reset(seed=seed + i)[0] for i, env in enumerate(self.envs)])
        self.episode_returns = np.zeros(n)
        self.episode_lengths = np.zeros(n, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.envs)

    def step(self, actions: np.ndarray) -> StepResult:
        n = len(self.envs)
        if self.discrete:
            env_actions = actions.astype(np.int64).tolist()
        else:
            env_actions = box_action(actions, self.low, self.high, self.squash)  # only on the way into env.step
        rewards = np.empty(n, dtype=np.float32)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        next_obs = self.obs.copy()  # rows are overwritten below, each with its env's obs
        final_obs: dict[int, np.ndarray] = {}
        finished: list[tuple[int, float, int]] = []
        for i, env in enumerate(self.envs):
            obs, reward, term, trunc, _ = env.step(env_actions[i])
            rewards[i] = reward
            self.episode_returns[i] += reward
            self.episode_lengths[i] += 1
            if term or trunc:
                terminated[i], truncated[i] = term, trunc and not term
                if truncated[i]:
                    final_obs[i] = obs_array([obs])[0]
                finished.append((i, float(self.episode_returns[i]), int(self.episode_lengths[i])))
                self.episode_returns[i] = 0.0
                self.episode_lengths[i] = 0
                obs, _ = env.reset()
            next_obs[i] = obs
        self.obs = next_obs
        return StepResult(next_obs, rewards, terminated, truncated, final_obs, finished)

    def close(self) -> None:
        for env in self.envs:
            env.close()
