"""Greedy evaluation of a saved run: the mode of the policy, with the saved normaliser statistics."""

from __future__ import annotations

import os

import numpy as np
import torch

from a3c_ray.checkpoint import CheckpointError, load_checkpoint
from a3c_ray.envs import make_env
from a3c_ray.model import build_model
from a3c_ray.normalize import Normalizer


def load_policy(path: str | os.PathLike):
    """Model, normaliser and config from a checkpoint; shapes are checked against the env's."""
    payload = load_checkpoint(path)
    config = payload["config"]
    env = make_env(config.env)
    model = build_model(config, env.observation_space, env.action_space)
    env.close()
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError:
        raise CheckpointError(f"checkpoint {str(path)!r} does not fit env {config.env!r}: its weights have other "
                              "shapes than this env's observation/action spaces") from None
    normalizer = Normalizer(int(env.observation_space.shape[0]), config.normalize_obs, config.normalize_reward,
                            config.gamma)
    normalizer.load(payload["normalizer"])
    return model, normalizer, config


def evaluate(run_dir: str | os.PathLike, episodes: int = 100, seed: int = 10_000) -> list[float]:
    """Returns of `episodes` greedy episodes on fresh envs seeded apart from training."""
    torch.set_num_threads(1)
    model, normalizer, config = load_policy(run_dir)
    env = make_env(config.env)
    discrete = model.log_std is None
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            with torch.inference_mode():
                x = torch.from_numpy(normalizer.obs(np.asarray(obs, dtype=np.float32)[None]))
                action = model.dist.mode(model.policy_params(x).numpy())[0]
            if not discrete:
                action = np.clip(action, env.action_space.low, env.action_space.high)
            obs, reward, terminated, truncated, _ = env.step(int(action) if discrete else action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    env.close()
    return returns
