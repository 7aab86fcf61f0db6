"""The cluster the virtual backend simulates: how long tasks take, what the transport and the driver cost.

Every figure is a default measured on Ray (see docs/scaling.md, "The virtual backend"), and each can be set with
`--virtual '{"task_ms": 12, "node_size": 32}'`. Times are in milliseconds of simulated time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from a3c_ray.errors import ConfigError


@dataclass(frozen=True)
class ClusterModel:
    task_ms: float | None = None  # mean task time; None: each task takes what it took here (one core per worker)
    task_cv: float = 0.3  # spread of the task time (std / mean), drawn lognormal, with task_ms
    latency_ms: float = 1.0  # a task's transport, out and back (Ray actor round trip, 20 KB: ~1 ms)
    driver_ms_per_call: float = 1.2  # driver CPU per result it receives (a worker's gradient, an aggregator's
    # report) and the task it sends back: Ray's per-task cost
    driver_ms_per_update: float = 0.1  # one optimizer step and the new weights
    driver_ms_per_summed: float = 0.03  # driver CPU per gradient inside an aggregator's sum (its bookkeeping)
    aggregator_ms_per_gradient: float = 1.2  # an aggregator's CPU per gradient (the per-task cost, moved there)
    node_size: int = 16  # workers per node: one aggregator each (with node aggregators)
    collect_wait_s: float = 1.0  # an aggregator's heartbeat (ray_aggregator.COLLECT_WAIT_S)
    start_s: tuple[float, ...] = ()  # when worker i comes up, seconds after the first (a local Ray's come up a few
    # at a time); workers past the list's end, and by default all, are up from the start

    @classmethod
    def of(cls, values: dict | None) -> ClusterModel:
        """The model with `values` (from --virtual) over the defaults; one clear line for a key or value that
        cannot work."""
        values = dict(values or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"--virtual has unknown keys {unknown}; known: {', '.join(known)}")
        start = values.pop("start_s", ())
        if not isinstance(start, (list, tuple)) or any(
                isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 <= t < math.inf for t in start):
            raise ConfigError(f"--virtual start_s must be a list of seconds >= 0 (when each worker comes up), "
                              f"got {start!r}")
        for key, value in values.items():
            if key == "task_ms" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0 or (key in ("task_ms", "node_size", "collect_wait_s") and value <= 0):
                raise ConfigError(f"--virtual {key} must be a {'positive' if key != 'task_cv' else 'non-negative'} "
                                  f"number of {'ms' if key.endswith('_ms') else 'units'}, got {value!r}")
        if "node_size" in values:
            if values["node_size"] != int(values["node_size"]):
                raise ConfigError(f"--virtual node_size must be a whole number of workers, got "
                                  f"{values['node_size']!r}")
            values["node_size"] = int(values["node_size"])
        return cls(**values, start_s=tuple(float(t) for t in start))

    def start_of(self, index: int) -> float:
        return self.start_s[index] if index < len(self.start_s) else 0.0


class TaskTimes:
    """Draws each task's duration in seconds: lognormal with mean task_ms and spread task_cv, from the run's own
    random stream (so a virtual run with task_ms set is reproducible), or the task's measured compute time."""

    def __init__(self, model: ClusterModel, seed: int):
        self.model = model
        self.rng = np.random.default_rng(seed + 7_000_003)
        cv = model.task_cv
        self.sigma = math.sqrt(math.log1p(cv * cv))
        self.mu = math.log(model.task_ms / 1000.0) - self.sigma ** 2 / 2 if model.task_ms else 0.0

    def draw(self, measured_s: float) -> float:
        if self.model.task_ms is None:
            return measured_s
        return float(self.rng.lognormal(self.mu, self.sigma)) if self.sigma > 0 else self.model.task_ms / 1000.0
