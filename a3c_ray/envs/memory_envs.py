"""Partially observed classic control: tasks a policy needs memory (--lstm) for."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

OBSERVED = [0, 2]  # cart position and pole angle; the two velocities are left out


class CartPoleNoVelEnv(CartPoleEnv):
    """CartPole-v1 observing the cart position and the pole angle only (RL-Zoo's CartPoleNoVel): the velocities
    have to be inferred from successive observations, so a policy needs memory to balance the pole for long."""

    def __init__(self, render_mode: str | None = None):
        super().__init__(render_mode=render_mode)
        high = np.array([self.x_threshold * 2, self.theta_threshold_radians * 2], dtype=np.float32)
        self.observation_space = spaces.Box(-high, high, dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return obs[OBSERVED], info

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs[OBSERVED], reward, terminated, truncated, info
