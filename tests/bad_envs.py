"""Envs with spaces a3c_ray does not support, or that misbehave, registered on import (used as 'bad_envs:Name-v0')."""

import os
import time

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


class _SilentFirstWorkerEnv(_SpaceEnv):
    """Steps hang for good in the first incarnation of worker 1 of a seed-0 run (its envs are seeded 1000 + i, see
    a3c_ray.core.worker.worker_seed; its replacement's 101000 + i): a worker that never answers. Every other env
    steps normally."""

    def __init__(self):
        super().__init__(BOX, spaces.Discrete(2))
        self.silent = False

    def reset(self, *, seed=None, options=None):
        if seed is not None:
            self.silent = 1000 <= seed < 2000
        return super().reset(seed=seed, options=options)

    def step(self, action):
        while self.silent:
            time.sleep(1.0)
        return super().step(action)


class _DiesOnStepEnv(_SpaceEnv):
    """Its process exits (code 3) at the first step: a worker that comes up, then dies every time."""

    def __init__(self):
        super().__init__(BOX, spaces.Discrete(2))

    def step(self, action):
        os._exit(3)


for name, entry in [("SilentFirstWorker-v0", _SilentFirstWorkerEnv), ("DiesOnStep-v0", _DiesOnStepEnv)]:
    if name not in gym.registry:
        gym.register(name, entry_point=entry, max_episode_steps=10)
