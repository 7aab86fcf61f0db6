"""Envs with spaces a3c_ray does not support, registered on import (used as 'bad_envs:Name-v0')."""

import gymnasium as gym
import numpy as np
from gymnasium import spaces


class _SpaceEnv(gym.Env):
    def __init__(self, observation_space, action_space):
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action):
        return self.observation_space.sample(), 0.0, False, False, {}


BOX = spaces.Box(-1, 1, (3,), np.float32)
for name, obs, act in [
    ("TextObs-v0", spaces.Dict({"a": BOX, "note": spaces.Text(8)}), spaces.Discrete(2)),
    ("TupleAction-v0", BOX, spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2)))),
    ("DictAction-v0", BOX, spaces.Dict({"move": spaces.Discrete(2)})),
]:
    if name not in gym.registry:
        gym.register(name, entry_point=_SpaceEnv, kwargs={"observation_space": obs, "action_space": act},
                     max_episode_steps=10)


class _NanRewardEnv(_SpaceEnv):
    """Supported spaces, but every reward is NaN: every loss and gradient is non-finite."""

    def __init__(self):
        super().__init__(BOX, spaces.Discrete(2))

    def step(self, action):
        return self.observation_space.sample(), float("nan"), False, False, {}


if "NanReward-v0" not in gym.registry:
    gym.register("NanReward-v0", entry_point=_NanRewardEnv, max_episode_steps=10)


def _needs_a_missing_package(**kwargs):
    """As gymnasium's box2d and mujoco envs fail when their package is not installed."""
    raise gym.error.DependencyNotInstalled('Box2D is not installed, you can install it by run `pip install swig` '
                                           'followed by `pip install "gymnasium[box2d]"`')


if "MissingDependency-v0" not in gym.registry:
    gym.register("MissingDependency-v0", entry_point=_needs_a_missing_package, max_episode_steps=10)
