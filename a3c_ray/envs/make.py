"""Env creation: gymnasium.make with clear errors for unknown ids, missing extras and unsupported spaces."""

from __future__ import annotations

import difflib

import gymnasium as gym

from a3c_ray.envs.suites import ExtraMissing, import_env_module, prepare
from a3c_ray.envs.suites import make as make_in_suite
from a3c_ray.errors import EnvError

SUPPORTED = "observation: Box (1-D vectors or 3-D images); action: Discrete or Box"


def make_env(env_id: str, seed: int | None = None, render_mode: str | None = None) -> gym.Env:
    """gymnasium.make with a clear error for unknown ids and unsupported spaces."""
    bare_id = import_env_module(env_id)
    try:
        prepare(bare_id)
    except ExtraMissing as exc:
        raise EnvError(str(exc)) from None
    if bare_id not in gym.registry:
        close = difflib.get_close_matches(bare_id, list(gym.registry), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see gymnasium.pprint_registry() for ids"
        raise EnvError(f"unknown env id {env_id!r}{hint}")
    env = make_in_suite(bare_id, render_mode)
    check_spaces(env, env_id)
    if seed is not None:
        env.action_space.seed(seed)
    return env


def check_spaces(env: gym.Env, env_id: str) -> None:
    obs, act = env.observation_space, env.action_space
    if not isinstance(obs, gym.spaces.Box) or len(obs.shape) not in (1, 3):
        raise EnvError(f"env {env_id!r}: observation space {obs} is not supported ({SUPPORTED})")
    if not isinstance(act, (gym.spaces.Discrete, gym.spaces.Box)) or (
        isinstance(act, gym.spaces.Box) and len(act.shape) != 1
    ):
        raise EnvError(f"env {env_id!r}: action space {act} is not supported ({SUPPORTED}, 1-D actions)")
