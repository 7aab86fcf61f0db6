"""What one step of a group of envs returns, the same for every kind of group (loop, native vector, Pendulum)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class StepResult:
    """One step of every env. Rows where an episode ended already hold the next episode's first obs."""

    obs: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    final_obs: dict[int, np.ndarray]  # env index -> last obs of a truncated episode, for the value bootstrap
    finished: list[tuple[int, float, int]]  # (env index, episode return, episode length)
    valid: np.ndarray | None = None  # rows that were real transitions; None: all (see native_vector)
