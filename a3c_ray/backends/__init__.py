"""Execution backends. Each runs the core's RolloutWorker and Learner; only the transport differs.

A backend has three verbs: start() (workers ready and stepping), poll(timeout) (updates applied since the
last call) and close(). The trainer drives all of them the same way.
"""

from __future__ import annotations

from typing import Protocol

from a3c_ray.config import Config
from a3c_ray.learner import Learner
from a3c_ray.results import Update


class Backend(Protocol):
    learner: Learner
    restarts: int  # workers restarted or replaced so far
    nodes: int  # distinct machines (Ray nodes) the running workers are on

    def check(self) -> None: ...  # cheap pre-flight checks, before the run directory is made

    def start(self) -> None: ...

    def poll(self, timeout: float) -> list[Update]: ...

    def close(self) -> None: ...


class BackendError(RuntimeError):
    """The backend cannot go on (no cluster, workers lost); the message says which and why."""


def make_backend(config: Config, learner: Learner) -> Backend:
    if config.backend == "ray":
        from a3c_ray.backends.ray_backend import RayBackend

        return RayBackend(config, learner)
    if config.backend == "mp":
        from a3c_ray.backends.mp_backend import MultiprocessingBackend

        return MultiprocessingBackend(config, learner)
    from a3c_ray.backends.serial import SerialBackend

    return SerialBackend(config, learner)


def skip_reason(gradients, lag: int, max_policy_lag: int | None) -> str:
    """Why a gradient must not be applied ("non_finite", "stale"), or "" when it may be. Every backend asks this."""
    if not gradients.finite:
        return "non_finite"
    if max_policy_lag is not None and lag > max_policy_lag:
        return "stale"
    return ""


def apply_or_skip(learner: Learner, gradients, max_policy_lag: int | None = None) -> Update:
    """The driver-side step shared by the serial and Ray backends: apply finite, fresh-enough gradients only."""
    lag = learner.version - gradients.version
    skipped = skip_reason(gradients, lag, max_policy_lag)
    if not skipped:
        learner.apply_gradients(gradients)
    return Update(gradients.worker, gradients.env_steps, gradients.episodes, gradients.metrics, lag, not skipped,
                  skipped)
