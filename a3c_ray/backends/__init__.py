"""Execution backends: transport only. Each runs the core's RolloutWorker and Learner; how gradients and weights
travel is all that differs (Ray actors, torch.multiprocessing's shared memory, or turns in one process), or, in
the virtual backend, a cluster simulated in one process.

The verbs every backend speaks are in `protocol`; `make_backend` picks one by --backend. Nothing here is
imported by the backends themselves, and nothing heavy is imported here: a node aggregator unpickles a
GradientBatch in this package without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from a3c_ray.backends.protocol import Backend
    from a3c_ray.config import Config
    from a3c_ray.core.learner import Learner


def make_backend(config: Config, learner: Learner) -> Backend:
    if config.backend == "ray":
        from a3c_ray.backends.ray_backend import RayBackend

        return RayBackend(config, learner)
    if config.backend == "mp":
        from a3c_ray.backends.mp_backend import MultiprocessingBackend

        return MultiprocessingBackend(config, learner)
    if config.backend == "virtual":
        from a3c_ray.backends.virtual import VirtualBackend

        return VirtualBackend(config, learner)
    from a3c_ray.backends.serial import SerialBackend

    return SerialBackend(config, learner)
