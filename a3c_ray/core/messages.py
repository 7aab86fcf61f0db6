"""What crosses process boundaries between a worker and a learner: weights down, gradients up.

Plain dataclasses of numpy arrays, importable without torch (a node aggregator unpickles Gradients and adds them up
without it). A gradient may travel as bfloat16 (--grad-dtype), kept as its raw 16-bit patterns since numpy has no
bfloat16 type; `values()` gives it back as float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Weights:
    """What the learner hands a worker: flat parameters, normaliser statistics, and their version."""

    version: int
    params: np.ndarray
    normalizer: dict[str, np.ndarray]


@dataclass
class Gradients:
    """What a worker hands back: a copied flat gradient, the version it was computed with, and what it saw."""

    worker: int
    version: int
    grads: np.ndarray  # float32, or bfloat16 bit patterns (uint16)
    env_steps: int
    episodes: list[tuple[float, int]]
    metrics: dict[str, float]
    normalizer_delta: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def finite(self) -> bool:
        return self.finite_values() is not None

    def finite_values(self) -> np.ndarray | None:
        """values(), or None when the gradient or a metric is not finite: one decode and one scan for both."""
        values = self.values()
        if np.isfinite(values).all() and all(math.isfinite(v) for v in self.metrics.values()):
            return values
        return None

    def values(self) -> np.ndarray:
        """The gradient as float32, whatever its encoding on the wire."""
        return decode(self.grads)


def encode(grads: np.ndarray, dtype: str) -> np.ndarray:
    """float32 as it is; bfloat16 rounded to nearest even, as uint16 bit patterns: half the bytes to send."""
    if dtype == "float32":
        return grads
    bits = np.ascontiguousarray(grads, dtype=np.float32).view(np.uint32)
    rounded = bits + (np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1)))
    return (rounded >> np.uint32(16)).astype(np.uint16)


def decode(grads: np.ndarray) -> np.ndarray:
    if grads.dtype == np.uint16:
        return (grads.astype(np.uint32) << np.uint32(16)).view(np.float32)
    return grads
