"""The mp backend's worker side: the body of a worker process, and the normaliser statistics it reads.

A worker computes gradients with the core's RolloutWorker, steps the shared model under the optimizer lock and
reports to the driver through its own pipe. It takes no other shared lock (see mp_backend).
"""

from __future__ import annotations

import os

import numpy as np
import torch

from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import GradientInfo, Update, skip_reason
from a3c_ray.core.messages import Weights
from a3c_ray.core.model import get_flat_weights
from a3c_ray.core.optim import FlatOptimizer
from a3c_ray.core.worker import RolloutWorker
from a3c_ray.plumbing.interrupts import leave_terminal_signals_to_the_driver


class SharedNormalizerState:
    """Normaliser statistics in one shared float64 tensor, so workers read the driver's merged view."""

    def __init__(self, obs_dim: int):
        self.obs_dim = obs_dim
        self.buffer = torch.zeros(2 * obs_dim + 4, dtype=torch.float64).share_memory_()

    def write(self, state: dict[str, np.ndarray]) -> None:
        parts = [state["obs_mean"], state["obs_var"], [state["obs_count"]], [state["ret_mean"]],
                 [state["ret_var"]], [state["ret_count"]]]
        self.buffer.copy_(torch.from_numpy(np.concatenate([np.ravel(p) for p in parts]).astype(np.float64)))

    def read(self) -> dict[str, np.ndarray]:
        b, d = self.buffer.numpy().copy(), self.obs_dim
        return {"obs_mean": b[:d], "obs_var": b[d:2 * d], "obs_count": b[2 * d], "ret_mean": b[2 * d + 1],
                "ret_var": b[2 * d + 2], "ret_count": b[2 * d + 3]}


def worker_main(config: Config, index: int, incarnation: int, model, optimizer: FlatOptimizer, version, locked,
                normalizer: SharedNormalizerState, reports, stop, lr) -> None:
    """Body of one worker process: rollout, gradient, locked shared optimizer step, report; until stop. `locked`:
    the optimizer lock, and where its holder's pid is recorded (so the driver frees it only from a dead holder)."""
    leave_terminal_signals_to_the_driver()
    lock, holder = locked
    worker = RolloutWorker(config, index, incarnation)
    reports.send(("ready", index))
    while not stop.value:
        gradients = worker.compute_gradients(Weights(version.value, get_flat_weights(model), normalizer.read()))
        lag = version.value - gradients.version
        skipped = skip_reason(gradients, lag, None)  # staleness is judged under the lock, where lag is exact
        if not skipped:
            with lock:
                holder.value = os.getpid()
                try:
                    lag = version.value - gradients.version
                    skipped = skip_reason(gradients, lag, config.max_policy_lag)
                    if not skipped:
                        optimizer.lr = float(lr[0])  # the driver's schedule (--lr-schedule)
                        optimizer.step(model.flat, torch.from_numpy(gradients.values()))  # read, never aliased
                        version.value += 1
                finally:
                    holder.value = 0
        info = GradientInfo(index, gradients.version, gradients.env_steps, gradients.episodes, gradients.metrics,
                            skipped, lag)
        reports.send(("update", (Update([info], not skipped), gradients.normalizer_delta if gradients.finite else {})))
    worker.close()
    reports.close()
