"""Env creation: gymnasium.make with clear errors for unknown ids, missing extras and unsupported spaces."""

from __future__ import annotations

import difflib

import gymnasium as gym

from a3c_ray.envs.creators import find_creator
from a3c_ray.envs.spaces import ActionCodec, observation_layout
from a3c_ray.envs.suites import ExtraMissing, import_env_module, prepare
from a3c_ray.envs.suites import make as make_in_suite
from a3c_ray.errors import EnvError, first_line


def make_env(env_id: str, seed: int | None = None, render_mode: str | None = None,
             kwargs: dict | None = None) -> gym.Env:
    """gymnasium.make(env_id, **kwargs) with a clear error for unknown ids, bad kwargs, a missing optional
    dependency and unsupported spaces."""
    bare_id = import_env_module(env_id)
    try:
        prepare(bare_id)
    except ExtraMissing as exc:
        raise EnvError(str(exc)) from None
    creator = find_creator(env_id) if bare_id not in gym.registry else None
    if creator is not None:
        env = _created(creator, env_id, render_mode, kwargs or {})
        check_spaces(env, env_id)
        return env
    if bare_id not in gym.registry:
        close = difflib.get_close_matches(bare_id, list(gym.registry), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "; see gymnasium.pprint_registry() for ids"
        raise EnvError(f"unknown env id {env_id!r}{hint}")
    try:
        env = make_in_suite(bare_id, render_mode, kwargs or {})
    except gym.error.DependencyNotInstalled as exc:
        raise EnvError(f"env {env_id!r} needs a package that is not installed: {first_line(exc)}") from None
    except TypeError as exc:
        if not kwargs:
            raise
        raise EnvError(f"env {env_id!r} does not take --env-kwargs {kwargs} ({first_line(exc)})") from None
    check_spaces(env, env_id)
    if seed is not None:
        env.action_space.seed(seed)
    return env


def _created(creator, env_id: str, render_mode: str | None, kwargs: dict) -> gym.Env:
    """An env from a creator (a3c_ray.envs.creators), checked to be one."""
    try:
        env = creator(**kwargs, **({"render_mode": render_mode} if render_mode else {}))
    except TypeError as exc:
        raise EnvError(f"env creator {env_id!r} does not take these arguments {sorted(kwargs)}"
                       f"{' and render_mode' if render_mode else ''} ({first_line(exc)})") from None
    if not isinstance(env, gym.Env):
        raise EnvError(f"env creator {env_id!r} returned a {type(env).__name__}, not a gymnasium.Env")
    return env


def check_spaces(env: gym.Env, env_id: str) -> None:
    """Refuse, in one line each, an observation or action space the core cannot handle."""
    observation_layout(env.observation_space, env_id)
    ActionCodec(env.action_space, env_id=env_id)
