"""Pixel suites from optional extras: MinAtar (`MinAtar/...`) and Atari (`ALE/...`, ale-py, whose wheel carries the
ROMs, so nothing is downloaded). Their ids register on first use; a missing extra is one clear error.

Atari gets the standard preprocessing (Machado et al. 2018 / SB3's AtariWrapper without reward clipping): 30
no-op starts, the max of the last 2 of every 4 frames, 84x84 grayscale, 4 frames stacked (uint8, CHW). v5's
sticky actions (0.25) stay. MinAtar observations (10x10 boolean channels, HWC) go to the CNN as they are.

Also 'module:Env-v0' ids, whose module registers the env. Nothing here imports torch: the CLI resolves ids before
it starts Ray, and torch's import (~1.2 s) is better spent while Ray starts.
"""

from __future__ import annotations

import importlib
import os
import sys

import gymnasium as gym

from a3c_ray.errors import EnvError

SUITES = {"ALE/": ("ale_py", "atari"), "MinAtar/": ("minatar", "minatar")}


def import_env_module(env_id: str) -> str:
    """Import the module of a 'module:Env-v0' id (registering the env) and return the bare id."""
    if ":" not in env_id:
        return env_id
    module, _, bare_id = env_id.partition(":")
    try:
        _import_here_too(module)
    except Exception as exc:
        raise EnvError(
            f"env {env_id!r}: module {module!r} failed to import ({type(exc).__name__}: {exc}); "
            "check it is installed and on PYTHONPATH"
        ) from None
    return bare_id


def _import_here_too(module: str) -> None:
    """Import `module`, also from the working directory: `python -m` and `python -c` put it on sys.path, the
    installed `a3c-ray` command does not, so a run trained from a directory holding its env module is evaluated
    from there too."""
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if exc.name != module.split(".")[0] or cwd in sys.path or "" in sys.path:
            raise
        sys.path.append(cwd)  # last: it never shadows an installed module
        importlib.import_module(module)


class ExtraMissing(ImportError):
    pass


def prepare(env_id: str) -> None:
    """Register the suite of `env_id`, if it belongs to one, importing its package."""
    for prefix, (package, extra) in SUITES.items():
        if not env_id.startswith(prefix) or env_id in gym.registry:
            continue
        try:
            if package == "ale_py":
                import ale_py

                gym.register_envs(ale_py)
            else:
                import minatar.gym

                minatar.gym.register_envs()
        except ImportError:
            raise ExtraMissing(f"env {env_id!r} needs the {extra} extra: pip install \"a3c-ray[{extra}]\"") from None


def make(env_id: str, render_mode: str | None = None, kwargs: dict | None = None) -> gym.Env:
    """gymnasium.make(env_id, **kwargs), with Atari's preprocessing for ALE ids."""
    options = {**(kwargs or {}), **({"render_mode": render_mode} if render_mode else {})}  # not every env takes it
    if not env_id.startswith("ALE/"):
        return gym.make(env_id, disable_env_checker=True, **options)
    env = gym.make(env_id, **{"frameskip": 1, **options}, disable_env_checker=True)  # the wrapper below skips frames
    env = gym.wrappers.AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, grayscale_obs=True,
                                          terminal_on_life_loss=False, scale_obs=False)
    return gym.wrappers.FrameStackObservation(env, 4)


def reward_threshold(env_id: str) -> float | None:
    """The env's registered reward_threshold (None without one, or for an id that is not registered: its
    error comes, clearly, when the env is made)."""
    try:
        spec = gym.spec(import_env_module(env_id))
    except (EnvError, gym.error.Error):  # reported clearly when the env is made
        return None
    return None if spec.reward_threshold is None else float(spec.reward_threshold)
