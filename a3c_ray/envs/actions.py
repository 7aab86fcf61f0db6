"""Env actions from policy samples: applied only on the way into env.step, so the loss sees the raw sample."""

from __future__ import annotations

import numpy as np


def box_action(raw: np.ndarray, low: np.ndarray, high: np.ndarray, squash: bool) -> np.ndarray:
    """What env.step gets for a sampled (raw) Gaussian action: clipped into [low, high], or squashed into it with
    tanh. The loss always sees the raw sample: for a given sample, the squashing's Jacobian does not depend on the
    policy's parameters, so the Gaussian's log-probability gives the same policy gradient."""
    if squash:
        return (low + (np.tanh(raw) + 1.0) * 0.5 * (high - low)).astype(np.float32)
    return np.clip(raw, low, high)
