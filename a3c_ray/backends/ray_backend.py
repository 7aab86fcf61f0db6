"""Ray backend: rollout-worker actors compute gradients; the driver applies them first-come first-served."""

from __future__ import annotations

import logging
import os
import socket
import time

import ray

from a3c_ray.backends import BackendError, apply_or_skip
from a3c_ray.config import Config, ConfigError
from a3c_ray.learner import Learner
from a3c_ray.results import Update
from a3c_ray.worker import Gradients, RolloutWorker, Weights

READY_TIMEOUT_S = 120.0
CONNECT_TIMEOUT_S = 5.0
# Below this size weights travel inside the task (Ray inlines small arguments): measured here, that beats a
# ray.put + object-store fetch by ~18% in env steps/s. Larger models get one ray.put per version, shared.
INLINE_WEIGHTS_BYTES = 64 * 1024
MAX_REPLACEMENTS_PER_WORKER = 10
log = logging.getLogger(__name__)
GET_TIMEOUT_S = 60.0


@ray.remote(num_cpus=1)
class RayRolloutWorker:
    """A thin actor around the core's RolloutWorker."""

    def __init__(self, config: Config, index: int, incarnation: int = 0):
        self.worker = RolloutWorker(config, index, incarnation)

    def ready(self) -> str:
        """The id of the node this worker landed on (the run reports how many nodes its workers use)."""
        return ray.get_runtime_context().get_node_id()

    def pid(self) -> int:
        """The actor's process id, so a test can end exactly the process its run started."""
        return os.getpid()

    def compute_gradients(self, weights: Weights) -> Gradients:
        return self.worker.compute_gradients(weights)


def _new_actor(config: Config, index: int, incarnation: int = 0):
    """SPREAD: on a cluster, workers go to different nodes where they can, so one lost node costs few of them.
    Inside a placement group (a Tune trial) the workers stay in the group's bundles instead."""
    if ray.util.get_current_placement_group() is not None:
        return RayRolloutWorker.remote(config, index, incarnation)
    return RayRolloutWorker.options(scheduling_strategy="SPREAD").remote(config, index, incarnation)


def connect(address: str | None, num_cpus: int) -> bool:
    """Attach to Ray; return True when this call started a local instance (and so owns its shutdown).

    An address (flag or RAY_ADDRESS) connects to that cluster; none starts Ray on this machine.
    """
    if ray.is_initialized():
        return False
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        check_reachable(address)
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise ConfigError(f"cannot connect to the Ray cluster at {address!r} ({_first_line(exc)}); start one "
                              "with `ray start --head`, or unset --address/RAY_ADDRESS to run locally") from None
        return False
    ray.init(num_cpus=num_cpus, include_dashboard=False, dashboard_host="127.0.0.1",
             logging_level=logging.WARNING, configure_logging=True)
    return True


def check_reachable(address: str) -> None:
    """Fail in seconds with a clear line, rather than let ray.init retry an address nobody answers at."""
    host_port = address.split("://", 1)[-1]
    if host_port in ("auto", "local") or ":" not in host_port:
        return
    host, _, port = host_port.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except ValueError:
        raise ConfigError(f"--address {address!r} is not HOST:PORT (e.g. 127.0.0.1:6379 or auto)") from None
    except OSError as exc:
        reason = "timed out" if isinstance(exc, socket.timeout) else (exc.strerror or type(exc).__name__)
        raise ConfigError(f"cannot reach the Ray cluster at --address {address!r} ({reason}); start one with "
                          "`ray start --head`, or unset --address/RAY_ADDRESS to run locally") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class RayBackend:
    """--tasks-per-worker tasks queued at each worker; the first finished is applied and its worker gets a new task
    with the new weights. With 2 queued, a worker starts its next rollout without waiting for the driver's round
    trip (measured: the wait was a third of a worker's time on CartPole), at the price of one more version of
    policy lag, which the progress table reports.

    A worker whose task fails (actor died, node lost, exception) or stays silent past --worker-timeout-s is
    killed and replaced by a fresh actor that gets the current weights; replacements are counted in `restarts`.
    """

    def __init__(self, config: Config, learner: Learner):
        self.config, self.learner = config, learner
        self.restarts = 0
        self.actors: list = []
        self.incarnations = [0] * config.workers
        self.pending: dict = {}  # ObjectRef -> worker index
        self.last_heard: list[float] = []  # per worker: when it last returned (or was started)
        self.starting: dict = {}  # worker index -> ObjectRef of a replacement's ready() call
        self.worker_nodes: dict[int, str] = {}  # worker index -> node id, for workers that have started
        self.weights_ref = None  # Weights, or an ObjectRef to them for large models
        self.weights_version = -1
        self.owns_ray = False

    def check(self) -> None:
        if not ray.is_initialized():
            address = self.config.address or os.environ.get("RAY_ADDRESS")
            if address:
                check_reachable(address)

    def start(self) -> None:
        self.owns_ray = connect(self.config.address, max(os.cpu_count() or 1, self.config.workers))
        self.actors = [_new_actor(self.config, i) for i in range(self.config.workers)]
        try:
            nodes = ray.get([actor.ready.remote() for actor in self.actors], timeout=READY_TIMEOUT_S)
            self.worker_nodes = dict(enumerate(nodes))
        except ray.exceptions.GetTimeoutError:
            raise BackendError(f"{self.config.workers} Ray workers did not start within {READY_TIMEOUT_S:.0f} s; "
                               "does the cluster have a free CPU for each --workers?") from None
        self.last_heard = [time.monotonic()] * len(self.actors)
        for index in range(len(self.actors)):
            for _ in range(self.config.tasks_per_worker):
                self._submit(index)

    def _submit(self, index: int) -> None:
        if self.weights_version != self.learner.version:  # weights are built (and put) once per version
            weights = self.learner.weights()
            small = weights.params.nbytes < INLINE_WEIGHTS_BYTES
            self.weights_ref = weights if small else ray.put(weights)
            self.weights_version = self.learner.version
        ref = self.actors[index].compute_gradients.remote(self.weights_ref)
        self.pending[ref] = index

    @property
    def nodes(self) -> int:
        """Distinct nodes the started workers run on."""
        return len(set(self.worker_nodes.values()))

    def poll(self, timeout: float) -> list[Update]:
        self._check_starting()
        ready, _ = ray.wait(list(self.pending), num_returns=1, timeout=timeout)
        updates = []
        for ref in ready:
            index = self.pending.pop(ref)
            gradients = self._result_or_replace(index, ref)
            if gradients is None:
                continue
            updates.append(apply_or_skip(self.learner, gradients, self.config.max_policy_lag))
            self._submit(index)
        now = time.monotonic()
        for index in sorted(set(self.pending.values()) - set(self.starting)):
            if now - self.last_heard[index] > self.config.worker_timeout_s:
                self._replace(index, f"silent for {now - self.last_heard[index]:.0f} s")
        return updates

    def _check_starting(self) -> None:
        """Note replacements that have started. One still waiting for a free CPU (its node was lost, say) is not
        silent: the others train on meanwhile, and its timeout starts once it runs."""
        for index, ref in list(self.starting.items()):
            done, _ = ray.wait([ref], timeout=0)
            if not done:
                continue
            del self.starting[index]
            node = self._result_or_replace(index, ref)
            if node is not None:
                self.worker_nodes[index] = node

    def _result_or_replace(self, index: int, ref):
        """The result of worker `index`'s finished call; None when the call failed and the worker was replaced.
        ray.wait never raises for a failed task: ray.get of the ready ref does."""
        self.last_heard[index] = time.monotonic()
        try:
            return ray.get(ref, timeout=GET_TIMEOUT_S)
        except (ray.exceptions.RayError, ray.exceptions.GetTimeoutError) as exc:
            self._replace(index, _first_line(exc))
            return None

    def _replace(self, index: int, reason: str) -> None:
        """Kill worker `index` and start a fresh actor in its place, with the current weights."""
        if self.restarts >= MAX_REPLACEMENTS_PER_WORKER * self.config.workers:
            raise BackendError(f"Ray workers keep failing ({self.restarts} replaced; last: worker {index}, "
                               f"{reason}); no healthy worker is left")
        log.warning("Ray worker %d failed (%s); replacing it", index, reason)
        try:
            ray.kill(self.actors[index], no_restart=True)
        except ray.exceptions.RayError:
            pass  # already gone
        self.pending = {ref: i for ref, i in self.pending.items() if i != index}  # its queued tasks die with it
        self.incarnations[index] += 1
        self.restarts += 1
        self.actors[index] = _new_actor(self.config, index, self.incarnations[index])
        self.worker_nodes.pop(index, None)
        self.starting[index] = self.actors[index].ready.remote()
        self.last_heard[index] = time.monotonic()
        for _ in range(self.config.tasks_per_worker):
            self._submit(index)

    def close(self) -> None:
        for actor in self.actors:
            try:
                ray.kill(actor)
            except ray.exceptions.RayError:
                pass
        self.actors, self.pending, self.starting = [], {}, {}
        if self.owns_ray:
            ray.shutdown()
