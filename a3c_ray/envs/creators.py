"""Env creators from Python: `env=` a module-level function that returns an env, or a functools.partial of one
with keyword arguments, so that wrappers and construction are the user's own code.

A creator is recorded by name, 'module:function', with the partial's keywords in env_kwargs: config.json stays
plain JSON, and every process (Ray and mp workers, the evaluator, `a3c-ray evaluate` later) imports the function
and calls it itself. The same 'module:function' works as `--env` on the command line.
"""

from __future__ import annotations

import functools
import importlib
import json
from collections.abc import Callable
from typing import Any

from a3c_ray.errors import ConfigError


def creator_reference(creator: Callable) -> tuple[str, dict[str, Any]]:
    """('module:function', its keyword arguments) for a creator, or a ConfigError saying what would work."""
    kwargs: dict[str, Any] = {}
    if isinstance(creator, functools.partial):
        if creator.args:
            raise ConfigError(f"env={creator!r}: bind the creator's arguments by keyword "
                              "(functools.partial(make_env, size=5)), so they can be recorded in config.json")
        kwargs, creator = dict(creator.keywords), creator.func
    module, name = getattr(creator, "__module__", None), getattr(creator, "__qualname__", "")
    if not module or module == "__main__" or not name.isidentifier():
        raise ConfigError(f"env={creator!r}: an env creator must be a function defined at module level in an "
                          "importable module (not in __main__, not a lambda or a nested function): every worker "
                          "imports it by name. Move it to a module of its own")
    try:
        json.dumps(kwargs)
    except TypeError as exc:
        raise ConfigError(f"env={creator.__name__}: its keyword arguments must be JSON values ({exc})") from None
    return f"{module}:{name}", kwargs


def find_creator(env_id: str) -> Callable | None:
    """The function a 'module:function' id names (its module already imported), or None for an env id."""
    module, _, name = env_id.rpartition(":")
    if not module or not name.isidentifier():
        return None
    found = getattr(importlib.import_module(module), name, None)
    return found if callable(found) and not isinstance(found, type) else None
