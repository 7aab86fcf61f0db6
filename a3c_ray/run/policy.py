"""The policy you trained, in your hands: `a3c_ray.load_policy(run)` and SB3's `predict` signature.

    policy = a3c_ray.load_policy("runs/my-run")          # its best-evaluated checkpoint, or which="last"
    action, state = policy.predict(obs, deterministic=True)

One observation or a batch (an array with a leading batch axis; a Dict of such arrays), raw as the env gives it:
the observation's encoding and the run's normaliser are inside. With --lstm, `state` is the core's (h, c), [n, H]
each; pass it back with the next call, and `episode_start` (one bool per row) where a new episode begins.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from a3c_ray.core.model import ActorCritic, reset_where
from a3c_ray.core.normalize import Normalizer
from a3c_ray.envs.spaces import ActionCodec, observation_layout

State = tuple[np.ndarray, np.ndarray] | None


class Policy:
    def __init__(self, model: ActorCritic, normalizer: Normalizer, config, observation_space: gym.Space,
                 action_space: gym.Space, seed: int = 0):
        self.model, self.normalizer, self.config = model.eval(), normalizer, config
        self.observation_space, self.action_space = observation_space, action_space
        self.layout = observation_layout(observation_space, config.env)
        self.actions = ActionCodec(action_space, config.squash_actions, config.env)
        self.rng = np.random.default_rng(seed)

    @property
    def recurrent(self) -> bool:
        return self.model.recurrent

    def predict(self, observation: Any, state: State = None, episode_start: Any = None,
                deterministic: bool = False) -> tuple[Any, State]:
        """The action for one observation (or one per row of a batch), and the recurrent state after it (None
        without --lstm). deterministic=True takes the policy's mode (greedy evaluation's action)."""
        batch = is_batch(observation, self.observation_space)
        rows = unbatch(observation, self.observation_space) if batch else [observation]
        obs = torch.from_numpy(self.normalizer.obs(self.layout.encode_batch(rows)))
        core_state = self._state(state, episode_start, len(rows))
        self.model.noise_weights = None  # gSDE: a sample draws its own noise
        with torch.inference_mode():
            params, after = self.model.act(obs, core_state)
        params = params.numpy()
        sampled = self.model.dist.mode(params) if deterministic else self.model.dist.sample(params, self.rng)
        actions = self.actions.to_env(sampled)
        new_state = None if after is None else (after[0].numpy().copy(), after[1].numpy().copy())
        return (np.stack([np.asarray(a) for a in actions]) if batch else np.asarray(actions[0])), new_state

    def _state(self, state: State, episode_start: Any, n: int):
        if not self.recurrent:
            return None
        if state is None:
            return self.model.initial_state(n)
        core = torch.as_tensor(np.asarray(state[0], np.float32)), torch.as_tensor(np.asarray(state[1], np.float32))
        if episode_start is not None:
            core = reset_where(core, torch.as_tensor(np.asarray(episode_start, dtype=bool).reshape(n)))
        return core


def is_batch(observation: Any, space: gym.Space) -> bool:
    """Whether `observation` is a batch of `space`'s observations (a leading axis) or one of them."""
    if isinstance(space, gym.spaces.Dict):
        key = next(iter(space.spaces))
        return is_batch(observation[key], space[key])
    if isinstance(space, gym.spaces.Tuple):
        return is_batch(observation[0], space[0])
    shape = np.shape(observation)
    expected = () if isinstance(space, gym.spaces.Discrete) else tuple(space.shape)
    if shape == expected:
        return False
    if shape[1:] == expected:
        return True
    raise ValueError(f"an observation of shape {shape} is neither one of {space} (shape {expected}) nor a batch "
                     f"of them (shape (n, *{expected}))")


def unbatch(observation: Any, space: gym.Space) -> list:
    """A batch of observations as a list of single ones (Dict and Tuple batches split leaf by leaf)."""
    if isinstance(space, gym.spaces.Dict):
        parts = {key: unbatch(observation[key], sub) for key, sub in space.spaces.items()}
        return [dict(zip(parts, values)) for values in zip(*parts.values())]
    if isinstance(space, gym.spaces.Tuple):
        return [tuple(values) for values in zip(*(unbatch(o, sub) for o, sub in zip(observation, space.spaces)))]
    return list(np.asarray(observation))


def load_policy(path: str | os.PathLike, which: str = "best", seed: int = 0) -> Policy:
    """The Policy in a run directory (its best-evaluated checkpoint; which="last": its latest) or a checkpoint
    file. Loading never runs code from the file (torch.load with weights_only=True)."""
    from a3c_ray.run.evaluation import load_model

    model, normalizer, config = load_model(path, which)  # made the env once, for the model's spaces
    return Policy(model, normalizer, config, model.observation_space, model.action_space, seed=seed)
