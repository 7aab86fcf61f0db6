"""Envs this package registers with gymnasium when it is imported (in every worker process too). The env classes
load only when an env is made (their entry points are strings), so registering costs only gymnasium's import."""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

ENVS = {"a3c_ray/CartPoleNoVel-v1": dict(entry_point="a3c_ray.memory_envs:CartPoleNoVelEnv", max_episode_steps=500,
                                         reward_threshold=475.0)}


def register_envs() -> None:
    for env_id, spec in ENVS.items():
        if env_id not in registry:
            register(id=env_id, **spec)
