"""Greedy evaluation: the mode of the policy, with the normaliser statistics of the same weights.

`evaluate(run_dir)` reads a saved run (its best-evaluated checkpoint when it has one); `greedy_returns` is the
episode loop that it and the evaluation during training (a3c_ray.run.periodic_eval) share.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from a3c_ray.core.model import ActorCritic, build_model, select_state
from a3c_ray.core.normalize import Normalizer, normalizer_for
from a3c_ray.envs.make import make_env
from a3c_ray.envs.pendulum_vector import PendulumEpisodes, numpy_pendulum
from a3c_ray.envs.spaces import ActionCodec, observation_layout
from a3c_ray.errors import CheckpointError
from a3c_ray.run.checkpoint import load_checkpoint
from a3c_ray.run.run_dir import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME
from a3c_ray.run.video import check_video_path, first_frame, write_video

EVALUATE_SEED = 10_000  # far from the training envs' seeds (seed + 1000 * worker + env index)
MAX_SIDE_BY_SIDE = 32  # greedy episodes run together


def load_model(path: str | os.PathLike, which: str = "best"):
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
    env = make_env(config.env, kwargs=config.env_kwargs)
    model = build_model(config, env.observation_space, env.action_space)
    normalizer = normalizer_for(config, env.observation_space)
    env.close()
    return model, normalizer


class GymEpisodes:
    """Greedy episodes side by side in gymnasium envs, one each (any env; the first renders frames when asked)."""

    def __init__(self, envs: list, squash_actions: bool = False):
        self.envs = envs
        self.layout = observation_layout(envs[0].observation_space)
        self.codec = ActionCodec(envs[0].action_space, squash_actions)

    def __len__(self) -> int:
        return len(self.envs)

    def reset(self, seeds: list[int], frames: list | None = None) -> np.ndarray:
        obs = np.stack([self.layout.encode(env.reset(seed=seed)[0]) for env, seed in zip(self.envs, seeds)])
        if frames is not None:
            frames.append(first_frame(self.envs[0]))
        return obs

    def step(self, rows: np.ndarray, actions: np.ndarray, frames: list | None = None) -> tuple[np.ndarray, ...]:
        obs, rewards, ended = [], np.zeros(len(rows)), np.zeros(len(rows), dtype=bool)
        for k, (action, i) in enumerate(zip(self.codec.to_env(actions), rows.tolist())):
            raw, reward, terminated, truncated, _ = self.envs[i].step(action)
            obs.append(self.layout.encode(raw))
            rewards[k], ended[k] = float(reward), terminated or truncated
            if i == 0 and frames is not None:
                frames.append(self.envs[0].render())
        return np.stack(obs), rewards, ended

    def close(self) -> None:
        for env in self.envs:
            env.close()


Episodes = GymEpisodes | PendulumEpisodes


def greedy_returns(model: ActorCritic, normalizer: Normalizer, envs: list | Episodes, episodes: int, seed: int,
                   frames: list | None = None, squash_actions: bool = False) -> list[float]:
    """Returns of `episodes` episodes of the policy's mode, the k-th started with seed + k. The episodes run side
    by side in `envs` (make_eval_envs's, or a list of gymnasium envs with `squash_actions` for them), one batched
    forward per step for those still running (len(envs) at a time). With `frames`, the first episode's rendered
    frames (reset included) are appended to it (the first env renders)."""
    batch = GymEpisodes(envs, squash_actions) if isinstance(envs, list) else envs
    returns: list[float] = []
    for first in range(0, episodes, len(batch)):
        seeds = [seed + first + k for k in range(min(len(batch), episodes - first))]
        returns += _side_by_side(model, normalizer, batch, seeds, frames if first == 0 else None)
    return returns


def _side_by_side(model: ActorCritic, normalizer: Normalizer, batch: Episodes, seeds: list[int],
                  frames: list | None) -> list[float]:
    n = len(seeds)
    obs = batch.reset(seeds, frames)
    state = model.initial_state(n)  # each episode's recurrent state, carried through it
    totals, running = np.zeros(n), np.ones(n, dtype=bool)
    while running.any():
        rows = np.flatnonzero(running)
        with torch.inference_mode():
            params, after = model.act(torch.from_numpy(normalizer.obs(obs[rows])),
                                      select_state(state, torch.from_numpy(rows)))
        if after is not None:
            state[0][rows], state[1][rows] = after
        obs[rows], rewards, ended = batch.step(rows, model.dist.mode(params.numpy()), frames)
        totals[rows] += rewards
        running[rows] = ~ended
    return totals.tolist()


def make_eval_envs(config, count: int, video: bool = False) -> Episodes:
    """`count` episodes side by side: plain Pendulum-v1 in numpy (PendulumEpisodes; unless --no-native-vector-env
    or a video asks for gymnasium's envs), else gymnasium envs, the first rendering frames when a video is wanted."""
    if not video and numpy_pendulum(config.env, config.native_vector_env, config.env_kwargs):
        return PendulumEpisodes(count, config.squash_actions)
    return GymEpisodes([make_env(config.env, render_mode="rgb_array" if video and k == 0 else None,
                                 kwargs=config.env_kwargs) for k in range(count)], config.squash_actions)


def evaluate(run_dir: str | os.PathLike, episodes: int = 100, seed: int = EVALUATE_SEED,
             which: str = "best", video: str | os.PathLike | None = None) -> list[float]:
    """Returns of `episodes` greedy episodes on fresh envs seeded apart from training; with `video`, the first
    episode is also written to that .gif or .mp4 (see a3c_ray.run.video)."""
    torch.set_num_threads(1)
    if video is not None:
        check_video_path(Path(video))
    model, normalizer, config = load_model(run_dir, which)
    envs = make_eval_envs(config, min(episodes, MAX_SIDE_BY_SIDE), video is not None)
    frames: list | None = [] if video is not None else None
    try:
        returns = greedy_returns(model, normalizer, envs, episodes, seed, frames)
        if video is not None:
            write_video(frames, Path(video), envs.envs[0].metadata.get("render_fps") or 30)
        return returns
    finally:
        envs.close()
