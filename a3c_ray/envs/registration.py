"""Envs this package registers with gymnasium: at `import a3c_ray` when gymnasium is already imported, else the
moment it is (so `import a3c_ray` alone, the path of `a3c-ray --help`, does not pay for importing gymnasium).
Their classes load only when an env is made (string entry points)."""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys

ENVS = {
    "a3c_ray/CartPoleNoVel-v1": dict(entry_point="a3c_ray.envs.memory_envs:CartPoleNoVelEnv", max_episode_steps=500,
                                     reward_threshold=475.0),
    "a3c_ray/DictReach-v0": dict(entry_point="a3c_ray.envs.space_envs:DictReachEnv", max_episode_steps=50,
                                 reward_threshold=0.85),
    "a3c_ray/MultiDiscreteMatch-v0": dict(entry_point="a3c_ray.envs.space_envs:MultiDiscreteMatchEnv",
                                          max_episode_steps=20, reward_threshold=57.0),
}


def register_envs() -> None:
    from gymnasium.envs.registration import register, registry

    for env_id, spec in ENVS.items():
        if env_id not in registry:
            register(id=env_id, **spec)


def register_when_gymnasium_loads() -> None:
    if "gymnasium" in sys.modules:
        register_envs()
    elif not any(isinstance(finder, _AfterGymnasium) for finder in sys.meta_path):
        sys.meta_path.insert(0, _AfterGymnasium())


class _AfterGymnasium(importlib.abc.MetaPathFinder):
    """Finds gymnasium with the usual finders and wraps its loader: once gymnasium has loaded, register."""

    def find_spec(self, name, path, target=None):
        if name != "gymnasium":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenRegister(spec.loader)
        return spec


class _ThenRegister(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        self.loader.exec_module(module)
        register_envs()
