"""Returns and advantages: pure functions over [T, N] arrays (time, env)."""

from __future__ import annotations

import numpy as np


def next_values(values: np.ndarray, last_values: np.ndarray, terminated: np.ndarray, truncated: np.ndarray,
                final_values: np.ndarray) -> np.ndarray:
    """V(s_{t+1}) as the target sees it: 0 after a termination, V(final obs) after a time-limit truncation
    (the episode was cut, not over), the next step's value otherwise."""
    following = np.concatenate([values[1:], last_values[None]], axis=0)
    out = np.where(truncated, final_values, following)
    return np.where(terminated, 0.0, out)


def compute_gae(rewards: np.ndarray, values: np.ndarray, last_values: np.ndarray, terminated: np.ndarray,
                truncated: np.ndarray, final_values: np.ndarray, gamma: float,
                lam: float) -> tuple[np.ndarray, np.ndarray]:
    """GAE(lambda) advantages and the value targets (advantages + values).

    lam = 1 gives the n-step returns of the original A3C, bootstrapped from the last value of the rollout.
    """
    nxt = next_values(values, last_values, terminated, truncated, final_values)
    deltas = rewards + gamma * nxt - values
    episode_ended = terminated | truncated
    advantages = np.zeros_like(values, dtype=np.float64)
    running = np.zeros(values.shape[1:], dtype=np.float64)
    for t in range(len(rewards) - 1, -1, -1):
        running = deltas[t] + gamma * lam * np.where(episode_ended[t], 0.0, running)
        advantages[t] = running
    advantages = advantages.astype(np.float32)
    return advantages, (advantages + values).astype(np.float32)
