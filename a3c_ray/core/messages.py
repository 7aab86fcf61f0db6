"""What crosses process boundaries between a worker and a learner: weights down, gradients up.

Plain dataclasses of numpy arrays (packed into bytes to cross Ray: pack_weights, pack_gradients), importable
without torch (a node aggregator unpickles Gradients and adds them up
without it). A gradient may travel as bfloat16 (--grad-dtype), kept as its raw 16-bit patterns since numpy has no
bfloat16 type; `values()` gives it back as float32.
"""

from __future__ import annotations

import math
import pickle
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


def pack_weights(weights: Weights) -> bytes:
    """Weights as one bytes object, for Ray: a bytes argument skips Ray's serialisation of objects (driver CPU per
    call 0.50 ms against 0.63 ms with a Weights, experiments/results/ray_overhead/call_cost.md; the driver's CPU is
    what 2 workers on 2 cores lose to it)."""
    return pickle.dumps((weights.version, _parts(weights.params), _dict_parts(weights.normalizer)), protocol=5)


def unpack_weights(payload: bytes) -> Weights:
    version, params, normalizer = pickle.loads(payload)
    return Weights(version, _array(params), _dict_array(normalizer))


def pack_gradients(g: Gradients) -> bytes:
    """A worker's result as one bytes object, for Ray (see pack_weights)."""
    return pickle.dumps((g.worker, g.version, _parts(g.grads), g.env_steps, g.episodes, g.metrics,
                         _dict_parts(g.normalizer_delta)), protocol=5)


def unpack_gradients(payload: bytes) -> Gradients:
    worker, version, grads, env_steps, episodes, metrics, delta = pickle.loads(payload)
    return Gradients(worker, version, _array(grads), env_steps, episodes, metrics, _dict_array(delta))


def _parts(array: np.ndarray) -> tuple[str, tuple[int, ...], bytes]:
    array = np.asarray(array)  # not ascontiguousarray: it makes a 0-d array 1-d; tobytes() is C order anyway
    return array.dtype.str, array.shape, array.tobytes()


def _array(parts: tuple[str, tuple[int, ...], bytes]) -> np.ndarray:
    """Read-only, over the payload's bytes (no copy): whoever keeps or changes it copies it (GradientBatch does)."""
    dtype, shape, data = parts
    return np.frombuffer(data, dtype=dtype).reshape(shape)


def _dict_parts(arrays: dict[str, np.ndarray]) -> list[tuple[str, tuple]]:
    return [(name, _parts(np.asarray(value))) for name, value in arrays.items()]


def _dict_array(parts: list[tuple[str, tuple]]) -> dict[str, np.ndarray]:
    return {name: _array(value) for name, value in parts}


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
