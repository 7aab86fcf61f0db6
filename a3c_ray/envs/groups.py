"""The env layer's front door for workers: the fastest group of n envs that gives the same env."""

from __future__ import annotations

from a3c_ray.envs.loop_group import EnvGroup
from a3c_ray.envs.native_vector import NativeVectorGroup, has_native_vector
from a3c_ray.envs.pendulum_vector import PendulumVector, numpy_pendulum

EnvGroupLike = EnvGroup | NativeVectorGroup | PendulumVector


def make_env_group(env_id: str, n: int, seed: int, native_vector: bool = True,
                   squash_actions: bool = False, kwargs: dict | None = None) -> EnvGroupLike:
    """The fastest group that gives the same env: gymnasium's vector env when there is one, our batched Pendulum,
    else the loop (always, with env kwargs)."""
    if native_vector and not kwargs and has_native_vector(env_id):  # kwargs: the env as gymnasium.make builds it
        return NativeVectorGroup(env_id, n, seed)
    if numpy_pendulum(env_id, native_vector, kwargs):
        return PendulumVector(n, seed, squash_actions)
    return EnvGroup(env_id, n, seed, squash_actions, kwargs)
