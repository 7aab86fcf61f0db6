"""Several workers' gradients combined for one optimizer step: what a batched driver or a node aggregator hands
the learner.

Gradients are summed per weight version, so whoever applies the batch can still leave out those computed with
weights too old (`--max-policy-lag`) after they were combined; the learner steps with the mean of the rest.
Batches merge with each other (an aggregator's batch into the driver's), and so do the normaliser moments
they carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from a3c_ray.core.normalize import RunningMeanStd, moments_state

if TYPE_CHECKING:  # the worker module pulls in torch; the result tables import this one without it
    from a3c_ray.core.messages import Gradients


def is_stale(policy_lag: int, max_policy_lag: int | None) -> bool:
    """The staleness rule, its one home: a gradient computed `policy_lag` versions ago is left out past
    --max-policy-lag (sample-factory's max_policy_lag; None keeps every gradient)."""
    return max_policy_lag is not None and policy_lag > max_policy_lag


def skip_reason(gradients: Gradients, policy_lag: int, max_policy_lag: int | None) -> str:
    """Why one gradient must not be applied ("non_finite", "stale"), or "" when it may be: what the mp workers ask
    under their lock, and what GradientBatch decides for every gradient it holds."""
    if not gradients.finite:
        return "non_finite"
    return "stale" if is_stale(policy_lag, max_policy_lag) else ""


@dataclass
class GradientInfo:
    """One gradient's bookkeeping (small), kept when its array is summed away."""

    worker: int
    version: int
    env_steps: int
    episodes: list[tuple[float, int]]
    metrics: dict[str, float]
    status: str = ""  # "" applied; "non_finite" or "stale" when left out
    policy_lag: int = 0  # learner version at apply time minus `version`


@dataclass
class GradientBatch:
    sums: dict[int, np.ndarray] = field(default_factory=dict)  # weight version -> sum of its finite gradients
    counts: dict[int, int] = field(default_factory=dict)
    infos: list[GradientInfo] = field(default_factory=list)
    obs_moments: RunningMeanStd | None = None
    ret_moments: RunningMeanStd | None = None

    @classmethod
    def of(cls, *gradients: Gradients) -> "GradientBatch":
        batch = cls()
        for g in gradients:
            batch.add(g)
        return batch

    def __len__(self) -> int:
        return len(self.infos)

    def add(self, g: Gradients) -> None:
        """Count one worker's gradient in; a non-finite one is recorded but never summed."""
        info = GradientInfo(g.worker, g.version, g.env_steps, g.episodes, g.metrics)
        self.infos.append(info)
        values = g.finite_values()
        if values is None:
            info.status = "non_finite"
        elif g.version in self.sums:
            self.sums[g.version] += values
            self.counts[g.version] += 1
        else:
            self.sums[g.version] = np.array(values, dtype=np.float32)  # a copy: Ray's arrays are read-only
            self.counts[g.version] = 1
        if g.normalizer_delta and values is not None:  # a non-finite rollout must not poison the statistics
            self._merge_moments(g.normalizer_delta)

    def merge(self, other: "GradientBatch") -> None:
        for version, total in other.sums.items():
            if version in self.sums:
                self.sums[version] += total
                self.counts[version] += other.counts[version]
            else:
                self.sums[version] = np.array(total, dtype=np.float32)
                self.counts[version] = other.counts[version]
        self.infos.extend(other.infos)
        if other.obs_moments is not None:
            self._merge_moments(other.normalizer_delta())

    def _merge_moments(self, delta: dict[str, np.ndarray]) -> None:
        if self.obs_moments is None:
            self.obs_moments, self.ret_moments = RunningMeanStd(np.shape(delta["obs_mean"])), RunningMeanStd(())
        self.obs_moments.merge(delta["obs_mean"], delta["obs_var"], float(delta["obs_count"]))
        self.ret_moments.merge(delta["ret_mean"], delta["ret_var"], float(delta["ret_count"]))

    def normalizer_delta(self) -> dict[str, np.ndarray]:
        """The merged moments of everything the batch's workers saw (empty when none)."""
        if self.obs_moments is None:
            return {}
        return moments_state(self.obs_moments, self.ret_moments)

    def mean_gradient(self, current_version: int, max_policy_lag: int | None) -> np.ndarray | None:
        """Mark each gradient's lag (and the stale ones), and return the mean of those to apply, or None."""
        for info in self.infos:
            info.policy_lag = current_version - info.version
            if not info.status and is_stale(info.policy_lag, max_policy_lag):
                info.status = "stale"
        fresh = [v for v in self.sums if not is_stale(current_version - v, max_policy_lag)]
        count = sum(self.counts[v] for v in fresh)
        if not count:
            return None
        total = self.sums[fresh[0]] if len(fresh) == 1 else np.sum([self.sums[v] for v in fresh], axis=0)
        return total / np.float32(count)  # a new array: the batch is left as it was


@dataclass
class Update:
    """One optimizer step of the global model (or none, when every gradient it held was left out), with the
    gradients it held: one per step in the A3C paper's driver, several when the driver batches them."""

    gradients: list[GradientInfo]
    applied: bool = True
