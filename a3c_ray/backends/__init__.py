"""Execution backends. Each runs the core's RolloutWorker and Learner; only the transport differs.

A backend has four verbs: start() (workers ready and stepping), poll(timeout) (updates applied since the last
call), stop() (workers ended: nothing changes the learner any more) and close() (the runtime released: Ray's
shutdown). The trainer writes the run's files between stop() and close(), so a crash in a runtime's teardown
never costs a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from a3c_ray.errors import BackendError  # noqa: F401  (re-exported here)
from a3c_ray.gradient_batch import GradientBatch, Update

if TYPE_CHECKING:  # kept out at run time: a node aggregator imports this package and needs no torch
    from a3c_ray.config import Config
    from a3c_ray.learner import Learner
    from a3c_ray.messages import Gradients


class Backend(Protocol):
    learner: "Learner"
    restarts: int  # workers restarted or replaced so far
    nodes: int  # distinct machines (Ray nodes) the running workers are on

    def check(self) -> None: ...  # cheap pre-flight checks, before the run directory is made

    def start(self) -> None: ...

    def poll(self, timeout: float) -> list[Update]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def make_backend(config: "Config", learner: "Learner") -> Backend:
    if config.backend == "ray":
        from a3c_ray.backends.ray_backend import RayBackend

        return RayBackend(config, learner)
    if config.backend == "mp":
        from a3c_ray.backends.mp_backend import MultiprocessingBackend

        return MultiprocessingBackend(config, learner)
    from a3c_ray.backends.serial import SerialBackend

    return SerialBackend(config, learner)


def skip_reason(gradients, lag: int, max_policy_lag: int | None) -> str:
    """Why a gradient must not be applied ("non_finite", "stale"), or "" when it may be (the mp workers' rule;
    GradientBatch applies the same one)."""
    if not gradients.finite:
        return "non_finite"
    if max_policy_lag is not None and lag > max_policy_lag:
        return "stale"
    return ""


def apply_batch(learner: "Learner", gradients: "Gradients | GradientBatch", max_policy_lag: int | None = None) \
        -> Update:
    """The driver-side step of the serial and Ray backends: one optimizer step with the finite, fresh-enough
    gradients (their mean), reported with every gradient's lag and status."""
    batch = gradients if isinstance(gradients, GradientBatch) else GradientBatch.of(gradients)
    before = learner.version
    return Update(batch.infos, learner.apply_gradients(batch, max_policy_lag) != before)
