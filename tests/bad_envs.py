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
    ("DictObs-v0", spaces.Dict({"a": BOX}), spaces.Discrete(2)),
    ("TupleAction-v0", BOX, spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2)))),
    ("MultiBinaryAction-v0", BOX, spaces.MultiBinary(3)),
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
