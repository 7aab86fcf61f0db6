"""Greedy evaluation: the mode of the policy, with the normaliser statistics of the same weights.

`evaluate(run_dir)` reads a saved run (its best-evaluated checkpoint when it has one); `greedy_returns` is the
episode loop that it and the evaluation during training (a3c_ray.periodic_eval) share.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from a3c_ray.checkpoint import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, CheckpointError, load_checkpoint
from a3c_ray.distributions import box_action
from a3c_ray.envs import make_env
from a3c_ray.model import ActorCritic, build_model
from a3c_ray.normalize import Normalizer, normalizer_for
from a3c_ray.video import check_video_path, first_frame, write_video

EVALUATE_SEED = 10_000  # far from the training envs' seeds (seed + 1000 * worker + env index)


def load_policy(path: str | os.PathLike, which: str = "best"):
    """Model, normaliser and config from a checkpoint (a run directory: its best checkpoint, or with
    which="last" its latest); shapes are checked against the env's."""
    payload = load_checkpoint(checkpoint_path(path, which))
    config = payload["config"]
    model, normalizer = build_policy(config)
    try:
        model.load_state_dict(payload["model"])
    except RuntimeError:
        raise CheckpointError(f"checkpoint {str(path)!r} does not fit env {config.env!r}: its weights have other "
                              "shapes than this env's observation/action spaces") from None
    normalizer.load(payload["normalizer"])
    return model, normalizer, config


def checkpoint_path(path: str | os.PathLike, which: str = "best") -> Path:
    """A file as given; in a run directory, best_checkpoint.pt (when the run evaluated during training) unless
    which="last", else checkpoint.pt."""
    path = Path(path)
    if not path.is_dir():
        return path
    best = path / BEST_CHECKPOINT_NAME
    return best if which == "best" and best.is_file() else path / CHECKPOINT_NAME


def build_policy(config) -> tuple[ActorCritic, Normalizer]:
    env = make_env(config.env)
    model = build_model(config, env.observation_space, env.action_space)
    normalizer = normalizer_for(config, env.observation_space)
    env.close()
    return model, normalizer


def greedy_returns(model: ActorCritic, normalizer: Normalizer, env, episodes: int, seed: int,
                   frames: list | None = None, squash_actions: bool = False) -> list[float]:
    """Returns of `episodes` episodes of the policy's mode, the k-th started with seed + k. With `frames`, the
    first episode's rendered frames (reset included) are appended to it (the env renders rgb_array)."""
    discrete = model.log_std is None
    returns = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        filming = frames is not None and k == 0
        if filming:
            frames.append(first_frame(env))
        state = model.initial_state(1)  # the recurrent state, carried through the episode
        total, done = 0.0, False
        while not done:
            with torch.inference_mode():
                x = torch.from_numpy(normalizer.obs(np.asarray(obs)[None]))
                params, state = model.act(x, state)
                action = model.dist.mode(params.numpy())[0]
            if not discrete:
                action = box_action(action, env.action_space.low, env.action_space.high, squash_actions)
            obs, reward, terminated, truncated, _ = env.step(int(action) if discrete else action)
            if filming:
                frames.append(env.render())
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def evaluate(run_dir: str | os.PathLike, episodes: int = 100, seed: int = EVALUATE_SEED,
             which: str = "best", video: str | os.PathLike | None = None) -> list[float]:
    """Returns of `episodes` greedy episodes on fresh envs seeded apart from training; with `video`, the first
    episode is also written to that .gif or .mp4 (see a3c_ray.video)."""
    torch.set_num_threads(1)
    if video is not None:
        check_video_path(Path(video))
    model, normalizer, config = load_policy(run_dir, which)
    env = make_env(config.env, render_mode="rgb_array" if video is not None else None)
    frames: list | None = [] if video is not None else None
    try:
        returns = greedy_returns(model, normalizer, env, episodes, seed, frames, config.squash_actions)
        if video is not None:
            write_video(frames, Path(video), env.metadata.get("render_fps") or 30)
        return returns
    finally:
        env.close()
