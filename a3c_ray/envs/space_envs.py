"""Small tasks with the spaces a user's own problem brings, each solvable only by reading its whole observation.

DictReach: a Dict observation (a position Box and a target corner as Discrete): walk to the corner named.
MultiDiscreteMatch: a MultiDiscrete action with start -1: copy a target given in the observation, component by
component.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

CORNERS = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float32) * 0.8
MOVES = np.array([[0, 0], [-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.float32) * 0.2


class DictReachEnv(gym.Env):
    """From near the centre, reach the corner named by `target` (a Discrete(4)): +1 on arrival, -0.01 a step,
    at most 50 steps. Optimal returns are about 0.92; a policy blind to the target reaches a corner a quarter as
    often."""

    def __init__(self, render_mode: str | None = None):
        self.observation_space = spaces.Dict({"position": spaces.Box(-1.0, 1.0, (2,), np.float32),
                                              "target": spaces.Discrete(4)})
        self.action_space = spaces.Discrete(5)  # stay, left, right, down, up

    def _obs(self) -> dict:
        return {"position": self.position.copy(), "target": int(self.target)}

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.position = self.np_random.uniform(-0.1, 0.1, 2).astype(np.float32)
        self.target = self.np_random.integers(4)
        return self._obs(), {}

    def step(self, action):
        self.position = np.clip(self.position + MOVES[int(action)], -1.0, 1.0).astype(np.float32)
        arrived = bool(np.abs(self.position - CORNERS[self.target]).max() < 0.15)
        return self._obs(), (1.0 if arrived else 0.0) - 0.01, arrived, False, {}


class MultiDiscreteMatchEnv(gym.Env):
    """Each step shows a target of 3 components in {-1, 0, 1} (as a Box); the action scores 1 per component it
    matches (MultiDiscrete([3, 3, 3], start=-1)). 20 steps: at most 60; a random policy scores 20 on average."""

    def __init__(self, render_mode: str | None = None):
        self.observation_space = spaces.Box(-1.0, 1.0, (3,), np.float32)
        self.action_space = spaces.MultiDiscrete([3, 3, 3], start=[-1, -1, -1])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.target = self.np_random.integers(-1, 2, 3)
        return self.target.astype(np.float32), {}

    def step(self, action):
        if not self.action_space.contains(np.asarray(action, dtype=self.action_space.dtype)):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        reward = float((np.asarray(action) == self.target).sum())
        self.target = self.np_random.integers(-1, 2, 3)
        return self.target.astype(np.float32), reward, False, False, {}
