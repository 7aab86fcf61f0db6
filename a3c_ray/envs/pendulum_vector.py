"""Pendulum-v1 for n envs in one set of numpy calls: gymnasium's dynamics, reward and 200-step limit, batched.

gymnasium has a batched numpy CartPole but no Pendulum. Stepping 32 Pendulums through gymnasium's wrappers costs
~25 us each, half of a worker's time; these arrays cost about what one single step does. The equations are
gymnasium's PendulumEnv (g = 10) line for line, and a test checks them step for step against it. A finished
episode is reset in the same step, as EnvGroup does (every row is a transition), and a truncated episode's last obs
is kept for the value bootstrap.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from a3c_ray.envs.actions import box_action
from a3c_ray.envs.make import make_env
from a3c_ray.envs.step import StepResult

ENV_ID = "Pendulum-v1"
MAX_SPEED, MAX_TORQUE, DT, G, M, L = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0
MAX_EPISODE_STEPS = 200
INIT_HIGH = np.array([np.pi, 1.0])  # reset: theta ~ U(-pi, pi), theta dot ~ U(-1, 1)
ENV_STREAM = 0x9E17  # with the seed, names this group's own random stream


def angle_normalize(x: np.ndarray) -> np.ndarray:
    return ((x + np.pi) % (2 * np.pi)) - np.pi


class PendulumRows:
    """What both batched Pendulums share: gymnasium's spaces, and the torque a row of actions applies."""

    def __init__(self, squash_actions: bool):
        single = make_env(ENV_ID)
        self.observation_space, self.action_space = single.observation_space, single.action_space
        single.close()
        self.low = self.action_space.low.astype(np.float32)
        self.high = self.action_space.high.astype(np.float32)
        self.squash = squash_actions

    def torques(self, actions: np.ndarray) -> np.ndarray:
        """The policy's actions [n, 1] clipped (or squashed) into the Box, then to the torque limit as PendulumEnv
        does; float32, as the env gets them."""
        u = np.clip(box_action(actions, self.low, self.high, self.squash)[:, 0], -MAX_TORQUE, MAX_TORQUE)
        return u.astype(np.float32)


class PendulumVector(PendulumRows):
    """Same interface as EnvGroup (a3c_ray.envs.loop_group). `state` holds [n, 2] (theta, theta dot) in float64."""

    def __init__(self, n: int, seed: int, squash_actions: bool = False,
                 max_episode_steps: int = MAX_EPISODE_STEPS):
        super().__init__(squash_actions)
        self.max_steps, self.n = max_episode_steps, n
        self.rng = np.random.default_rng([seed, ENV_STREAM])  # not the stream the worker samples actions with
        self.state = self.rng.uniform(-INIT_HIGH, INIT_HIGH, size=(n, 2))
        self.obs = observe(self.state)
        self.episode_returns = np.zeros(n)
        self.episode_lengths = np.zeros(n, dtype=np.int64)

    def __len__(self) -> int:
        return self.n

    def step(self, actions: np.ndarray) -> StepResult:
        self.state, costs = dynamics(self.state, self.torques(actions))
        rewards = (-costs).astype(np.float32)
        obs = observe(self.state)
        self.episode_returns -= costs  # float64, as EnvGroup sums the env's rewards
        self.episode_lengths += 1
        truncated = self.episode_lengths >= self.max_steps
        final_obs: dict[int, np.ndarray] = {}
        finished: list[tuple[int, float, int]] = []
        for i in np.flatnonzero(truncated).tolist():  # Pendulum never terminates: only the time limit ends it
            final_obs[i] = obs[i].copy()
            finished.append((i, float(self.episode_returns[i]), int(self.episode_lengths[i])))
        if truncated.any():
            self.state[truncated] = self.rng.uniform(-INIT_HIGH, INIT_HIGH, size=(int(truncated.sum()), 2))
            obs[truncated] = observe(self.state[truncated])
            self.episode_returns[truncated] = 0.0
            self.episode_lengths[truncated] = 0
        self.obs = obs
        return StepResult(obs, rewards, np.zeros(self.n, dtype=bool), truncated, final_obs, finished)

    def close(self) -> None:
        pass


class PendulumEpisodes(PendulumRows):
    """Greedy evaluation's episodes of plain Pendulum-v1 side by side (a3c_ray.run.evaluation): episode k starts
    where gymnasium's `reset(seed=seeds[k])` starts it, and every row steps by the same dynamics until the 200-step
    limit. A 20-episode round stepped through gymnasium's envs took 0.086-0.092 s of CPU here, against 0.036 s in
    numpy (experiments/eval_cost.py), and a Pendulum run on 2 cores evaluates every ~0.5 s beside its workers."""

    def __init__(self, count: int, squash_actions: bool = False):
        super().__init__(squash_actions)
        self.count = count
        self.state, self.steps = np.zeros((0, 2)), np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return self.count

    def reset(self, seeds: list[int], frames: list | None = None) -> np.ndarray:
        """Observations [len(seeds), 3] of new episodes, each seeded as PendulumEnv.reset(seed=...) seeds it."""
        if frames is not None:
            raise ValueError("PendulumEpisodes does not render: evaluate with gymnasium's envs for a video")
        self.state = np.stack([seeding.np_random(seed)[0].uniform(low=-INIT_HIGH, high=INIT_HIGH) for seed in seeds])
        self.steps = np.zeros(len(seeds), dtype=np.int64)
        return observe(self.state)

    def step(self, rows: np.ndarray, actions: np.ndarray, frames: list | None = None) -> tuple[np.ndarray, ...]:
        """The policy's actions for the episodes in `rows` (still running): their next obs, rewards and whether
        each ended."""
        self.state[rows], costs = dynamics(self.state[rows], self.torques(actions))
        self.steps[rows] += 1
        return observe(self.state[rows]), -costs, self.steps[rows] >= MAX_EPISODE_STEPS

    def close(self) -> None:
        pass


def dynamics(state: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """gymnasium's PendulumEnv.step for every row: the next (theta, theta dot) and the cost of this step. `u` is
    float32, as the env gets it: under numpy 2's promotion the terms in u are float32 there too, then float64
    (numpy 1.x computes them in float64 there: differences of ~1e-7)."""
    th, thdot = state[:, 0], state[:, 1]
    costs = angle_normalize(th) ** 2 + 0.1 * thdot**2 + 0.001 * (u**2)
    new_thdot = np.clip(thdot + (3 * G / (2 * L) * np.sin(th) + 3.0 / (M * L**2) * u) * DT, -MAX_SPEED, MAX_SPEED)
    return np.stack([th + new_thdot * DT, new_thdot], axis=1), costs


def observe(state: np.ndarray) -> np.ndarray:
    return np.stack([np.cos(state[:, 0]), np.sin(state[:, 0]), state[:, 1]], axis=1).astype(np.float32)


def numpy_pendulum(env_id: str, native_vector: bool, kwargs: dict | None) -> bool:
    """Whether the batched Pendulums here stand in for gymnasium's env: the registered Pendulum-v1, no env kwargs
    (another pendulum), and --native-vector-env on. Training's groups and evaluation's episodes ask the same."""
    return native_vector and not kwargs and is_plain_pendulum(env_id)


def is_plain_pendulum(env_id: str) -> bool:
    """Only the registered Pendulum-v1 as gymnasium ships it (a user's re-registration keeps its own code)."""
    spec = gym.registry.get(env_id)
    return env_id == ENV_ID and spec is not None and \
        spec.entry_point == "gymnasium.envs.classic_control.pendulum:PendulumEnv" and not spec.kwargs \
        and spec.max_episode_steps == MAX_EPISODE_STEPS
