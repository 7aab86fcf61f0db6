"""What the trainer asks of a backend: four verbs and the counters it records.

A backend has four verbs: start() (workers ready and stepping), poll(timeout) (updates applied since the last
call), stop() (workers ended: nothing changes the learner any more) and close() (the runtime released: Ray's
shutdown). The trainer writes the run's files between stop() and close(), so a crash in a runtime's teardown
never costs a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # kept out at run time: a node aggregator imports this package and needs no torch
    from a3c_ray.config import Config
    from a3c_ray.core.gradient_batch import Update
    from a3c_ray.core.learner import Learner

AGGREGATE_FROM_WORKERS = 64  # measured with experiments/driver_capacity.py (docs/scaling.md)


class Backend(Protocol):
    learner: Learner
    restarts: int  # workers restarted or replaced so far

    @property
    def running(self) -> int: ...  # workers up now (the others are starting, or being replaced)

    @property
    def nodes(self) -> int: ...  # distinct machines (Ray nodes) the running workers are on

    @property
    def node_aggregators(self) -> int: ...  # gradient aggregators running (Ray, --node-aggregators); else 0

    @property
    def aggregator_restarts(self) -> int: ...  # aggregators replaced so far

    def clock(self) -> float: ...  # the training clock, seconds: time.perf_counter, or a simulated cluster's

    def check(self) -> None: ...  # cheap pre-flight checks, before the run directory is made

    def start(self) -> None: ...

    def poll(self, timeout: float) -> list[Update]: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def counters(backend: Backend) -> dict[str, int]:
    """The backend's counters as the progress table and the summary name them."""
    return {"workers_running": backend.running, "worker_restarts": backend.restarts, "worker_nodes": backend.nodes,
            "node_aggregators": backend.node_aggregators, "aggregator_restarts": backend.aggregator_restarts}


def uses_node_aggregators(config: Config) -> bool:
    """--node-aggregators as given, else on from AGGREGATE_FROM_WORKERS workers (never with --sync): the rule of
    the Ray backend and of the virtual one that simulates it."""
    if config.node_aggregators is not None:
        return config.node_aggregators
    return config.workers >= AGGREGATE_FROM_WORKERS and not config.sync


def batches_gradients(config: Config) -> bool:
    """--batch-gradients as given (or by the env's preset), else on exactly when node aggregators are (their sums
    are batches anyway). Below AGGREGATE_FROM_WORKERS the driver takes one step per gradient: at 16 simulated
    workers, batches of ~14 gradients left Breakout unsolved within 2.5x 2 workers' env steps and cost LunarLander
    2.3x, where one step per gradient (lag p95 17-35) needed 0.9x and 0.4x; CartPole was even. Pendulum did better
    batched, so its preset keeps it (docs/scaling.md). Ray's driver serves as many gradients per second either way
    (experiments/driver_capacity.py)."""
    if config.batch_gradients is not None:
        return config.batch_gradients
    return uses_node_aggregators(config)
