"""Envs whose gymnasium registration has a batched numpy implementation (CartPole): one call steps them all.

Stepping 32 CartPoles through CartPoleVectorEnv costs about what 3 single steps do, which is most of a worker's
time otherwise. These vector envs reset a finished episode on the *next* step (the action is ignored and the
row returns the new episode's first obs), so such a step is not a transition: `StepResult.valid` marks it and
the loss leaves it out. The step that ended the episode already returned the last obs, which is the final obs a
truncated episode bootstraps from.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from a3c_ray.envs.make import make_env
from a3c_ray.envs.spaces import ActionCodec, observation_layout
from a3c_ray.envs.step import StepResult
from a3c_ray.envs.suites import import_env_module, prepare


def has_native_vector(env_id: str) -> bool:
    """True when the env has a numpy vector implementation that resets on the next step."""
    try:
        bare = import_env_module(env_id)
        prepare(bare)  # a fresh worker process: the suite's ids (ALE/...) register here
        spec = gym.spec(bare)
    except Exception:  # unknown ids and missing extras get their clear error from make_env
        return False
    entry = spec.vector_entry_point
    return isinstance(entry, str) and entry.startswith(NATIVE)


NATIVE = ("gymnasium.envs.classic_control", "ale_py.")
# ale-py's AtariVectorEnv does our single-env preprocessing (envs.suites) in C++: the same 30 no-ops, skip 4 with
# max-pooling, 84x84 grayscale, 4 frames, v5's sticky actions; one thread per worker process, raw rewards.
VECTOR_KWARGS = {"ale_py.": dict(num_threads=1, reward_clipping=False, use_fire_reset=False, noop_max=30,
                                 frameskip=4, stack_num=4, img_height=84, img_width=84, grayscale=True)}


class NativeVectorGroup:
    """Same interface as EnvGroup, backed by one gymnasium vector env."""

    def __init__(self, env_id: str, n: int, seed: int, **env_kwargs):
        make_env(env_id).close()  # the same clear errors and space checks as the loop
        bare = import_env_module(env_id)
        entry = gym.spec(bare).vector_entry_point
        defaults = next((kw for prefix, kw in VECTOR_KWARGS.items() if entry.startswith(prefix)), {})
        self.vec = gym.make_vec(bare, num_envs=n, vectorization_mode="vector_entry_point",
                                **{**defaults, **env_kwargs})
        if self.vec.metadata.get("autoreset_mode") != AutoresetMode.NEXT_STEP:
            raise ValueError(f"{env_id}: native vector env does not reset on the next step")
        self.observation_space = self.vec.single_observation_space
        self.action_space = self.vec.single_action_space
        self.layout = observation_layout(self.observation_space, env_id)
        self.actions = ActionCodec(self.action_space, env_id=env_id)
        self.n = n
        self.obs = self.layout.encode_batch(self.vec.reset(seed=seed)[0])
        self.resetting = np.zeros(n, dtype=bool)  # rows whose next step is the vector env's reset step
        self.episode_returns = np.zeros(n)
        self.episode_lengths = np.zeros(n, dtype=np.int64)

    def __len__(self) -> int:
        return self.n

    def step(self, actions: np.ndarray) -> StepResult:
        valid = ~self.resetting
        obs, rewards, term, trunc, _ = self.vec.step(self.actions.to_env_batch(actions))
        obs = self.layout.encode_batch(obs)
        rewards = np.asarray(rewards, dtype=np.float32)
        terminated = np.asarray(term, dtype=bool) & valid
        truncated = np.asarray(trunc, dtype=bool) & valid & ~terminated
        self.episode_returns += np.where(valid, rewards, 0.0)
        self.episode_lengths += valid
        final_obs: dict[int, np.ndarray] = {}
        finished: list[tuple[int, float, int]] = []
        for i in np.flatnonzero(terminated | truncated).tolist():
            if truncated[i]:
                final_obs[i] = obs[i].copy()
            finished.append((i, float(self.episode_returns[i]), int(self.episode_lengths[i])))
            self.episode_returns[i] = 0.0
            self.episode_lengths[i] = 0
        self.resetting = terminated | truncated
        self.obs = obs
        return StepResult(obs, np.where(valid, rewards, 0.0).astype(np.float32), terminated, truncated, final_obs,
                          finished, valid)

    def close(self) -> None:
        self.vec.close()
