"""Envs with every kind of space a3c_ray takes, registered on import (used as 'space_envs:Name-v0').

Each checks that its action is in its action space (a Discrete(start=k) action sent as 0..n-1 raises), and pays
for reading its observation: reward 1 when the action (or its first component) matches a bit hidden somewhere in
the observation, which is fresh every step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

BOX = spaces.Box(-1.0, 1.0, (3,), np.float32)
IMAGE = spaces.Box(0, 255, (8, 8, 1), np.uint8)


class SpaceEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, observation_space, action_space, render_mode: str | None = None):
        self.observation_space, self.action_space, self.render_mode = observation_space, action_space, render_mode
        self.bit = 0

    def _obs(self):
        self.bit = int(self.np_random.integers(2))
        obs = self.observation_space.sample()
        return _plant(self.observation_space, obs, self.bit)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.observation_space.seed(int(self.np_random.integers(2**31)))
        return self._obs(), {}

    def step(self, action):
        if not self.action_space.contains(_as_space(self.action_space, action)):
            raise ValueError(f"action {action!r} is not in {self.action_space}")
        first = np.asarray(action).reshape(-1)[0]
        low = getattr(self.action_space, "start", 0)
        if isinstance(self.action_space, spaces.Box):
            chosen = int(first > 0)
        else:
            chosen = int(np.asarray(first - np.asarray(low).reshape(-1)[0]) % 2)
        reward = float(chosen == self.bit)  # the bit of the observation the action answered
        return self._obs(), reward, False, False, {}

    def render(self):
        return np.full((16, 16, 3), 255 * self.bit, dtype=np.uint8)


def _as_space(space, action):
    return np.asarray(action, dtype=space.dtype) if not isinstance(space, spaces.Discrete) else action


def _plant(space, obs, bit):
    """Write the bit into the observation's first leaf, where any encoder can see it."""
    if isinstance(space, spaces.Dict):
        key = next(iter(space.spaces))
        return {**obs, key: _plant(space[key], obs[key], bit)}
    if isinstance(space, spaces.Tuple):
        return (_plant(space[0], obs[0], bit), *obs[1:])
    if isinstance(space, spaces.Discrete):
        return int(space.start) + bit
    if isinstance(space, (spaces.MultiDiscrete, spaces.MultiBinary)):
        obs = np.array(obs)
        obs.reshape(-1)[0] = bit + (np.asarray(space.start).reshape(-1)[0] if hasattr(space, "start") else 0)
        return obs
    obs = np.array(obs)
    if np.dtype(space.dtype) == np.uint8:
        obs[...] = 255 * bit
    else:
        obs.reshape(-1)[0] = space.high.reshape(-1)[0] if bit else space.low.reshape(-1)[0]
    return obs


OBSERVATIONS = {
    "Box2d": spaces.Box(-1.0, 1.0, (4, 3), np.float32),
    "Box3dFloat": spaces.Box(-1.0, 1.0, (5, 6, 7), np.float32),
    "TinyImage": spaces.Box(0, 255, (2, 2, 3), np.uint8),
    "Image": IMAGE,
    "Discrete": spaces.Discrete(5, start=3),
    "MultiDiscrete": spaces.MultiDiscrete([2, 3]),
    "MultiBinary": spaces.MultiBinary(4),
    "Dict": spaces.Dict({"flag": spaces.Discrete(2), "pos": BOX, "bits": spaces.MultiBinary(2)}),
    "Tuple": spaces.Tuple((spaces.Discrete(2), BOX)),
    "Nested": spaces.Dict({"inner": spaces.Tuple((spaces.Discrete(2), spaces.Dict({"v": BOX})))}),
    "DictImage": spaces.Dict({"image": IMAGE, "pos": BOX}),
}
ACTIONS = {
    "Discrete": spaces.Discrete(2),
    "DiscreteStart": spaces.Discrete(2, start=-1),
    "MultiDiscrete": spaces.MultiDiscrete([2, 3], start=[5, 0]),
    "MultiBinary": spaces.MultiBinary(3),
    "Box2d": spaces.Box(-1.0, 1.0, (2, 2), np.float32),
}


def env_id(observation: str, action: str = "Discrete") -> str:
    return f"space_envs:Obs{observation}-Act{action}-v0"


for _obs_name, _obs_space in OBSERVATIONS.items():
    for _act_name, _act_space in ACTIONS.items():
        _id = env_id(_obs_name, _act_name).split(":")[1]
        if _id not in gym.registry:
            gym.register(_id, entry_point=SpaceEnv, max_episode_steps=20,
                         kwargs={"observation_space": _obs_space, "action_space": _act_space})


def make_short_cartpole(max_episode_steps: int = 100, reward_scale: float = 1.0) -> gym.Env:
    """An env creator of a user's own: a registered env, with wrappers chosen here."""
    env = gym.make("CartPole-v1", max_episode_steps=max_episode_steps)
    return gym.wrappers.TransformReward(env, lambda r: r * reward_scale)
