"""How gradients reach the virtual driver: the Ray backend's three routes (ray_routes, ray_sync), as simulated
events. Each route says when the driver has something to take (`due`), what it takes and what taking it costs the
driver (`take`), and what it sends once the update is applied (`resume`).

A route talks to its backend (`Cluster`) through `submit(index, weights, at)`: a task for worker `index` with
these weights, sent at simulated time `at`, whose gradient comes back to the route's `arrive`; and
`push(time, handler, *args)`: an event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from a3c_ray.backends.virtual_model import ClusterModel
from a3c_ray.core.gradient_batch import GradientBatch
from a3c_ray.core.messages import Gradients, Weights


class Cluster(Protocol):
    model: ClusterModel
    workers: int
    tasks_per_worker: int
    batch_gradients: bool

    def weights(self) -> Weights: ...  # the learner's newest

    def submit(self, index: int, weights: Weights, at: float) -> None: ...

    def push(self, time: float, handler, *args: Any) -> None: ...


class DirectRoute:
    """Every worker's gradient travels to the driver, which applies what has arrived (batched) or one at a time,
    and sends each of those workers one new task with the new weights."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.inbox: list[tuple[float, int, Gradients]] = []  # (arrival, worker, gradient), in arrival order

    def start(self, weights: Weights) -> None:
        """Each worker's first tasks as it comes up (ClusterModel.start_s), with the weights of that moment."""
        for index in range(self.cluster.workers):
            self.cluster.push(self.cluster.model.start_of(index), self._join, index)

    def _join(self, time: float, index: int) -> None:
        for _ in range(self.cluster.tasks_per_worker):
            self.cluster.submit(index, self.cluster.weights(), time)

    def arrive(self, time: float, index: int, gradients: Gradients) -> None:
        self.inbox.append((time, index, gradients))

    def due(self) -> float | None:
        return self.inbox[0][0] if self.inbox else None

    def take(self, now: float) -> tuple[list[int], GradientBatch, float]:
        """(sources to resume, the batch, the driver's ms for receiving it and sending their next tasks)."""
        count = sum(1 for t, _, _ in self.inbox if t <= now) if self.cluster.batch_gradients else 1
        taken, self.inbox = self.inbox[:count], self.inbox[count:]
        return ([index for _, index, _ in taken], GradientBatch.of(*[g for _, _, g in taken]),
                count * self.cluster.model.driver_ms_per_call)

    def resume(self, sources: list[int], weights: Weights, now: float) -> None:
        for index in sources:
            self.cluster.submit(index, weights, now)


class SyncRoute(DirectRoute):
    """--sync: a round sends every worker one task with the same weights; the driver takes the round once its last
    gradient has arrived, and starts the next round with the new weights."""

    def __init__(self, cluster: Cluster):
        super().__init__(cluster)
        self.up: list[int] = []  # workers that have come up
        self.round: list[int] = []  # the workers of the round in flight

    def _join(self, time: float, index: int) -> None:
        """The first round waits for every worker to come up (as SyncRounds does on Ray)."""
        self.up.append(index)
        if len(self.up) == self.cluster.workers:
            self.resume([], self.cluster.weights(), time)

    def due(self) -> float | None:
        return self.inbox[-1][0] if self.round and len(self.inbox) == len(self.round) else None

    def take(self, now: float) -> tuple[list[int], GradientBatch, float]:
        taken, self.inbox, self.round = self.inbox, [], []
        return [], GradientBatch.of(*[g for _, _, g in taken]), len(taken) * self.cluster.model.driver_ms_per_call

    def resume(self, sources: list[int], weights: Weights, now: float) -> None:
        """The next round: every worker up, the same weights."""
        self.round = list(self.up)
        for index in self.round:
            self.cluster.submit(index, weights, now)


@dataclass
class NodeState:
    """One node's aggregator: the newest weights it holds, the gradients it has summed since its last report, and
    the driver's collect call waiting on it (`waiting`: the call's number, or None)."""

    weights: Weights
    batch: list[Gradients] = field(default_factory=list)
    busy_until: float = 0.0  # the aggregator's own CPU
    waiting: int | None = None
    calls: int = 0


class AggregatorRoute:
    """--node-aggregators: each node's aggregator keeps its workers busy with the newest weights it has, and
    answers the driver's collect call with the sum of what arrived, at once when something has, else at the next
    gradient or after its heartbeat. The driver applies every report that has arrived in one step and sends each of
    those nodes a new collect call with the new weights."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        size = cluster.model.node_size
        self.node_count = -(-cluster.workers // size)
        self.inbox: list[tuple[float, int, GradientBatch]] = []  # (arrival, node, its report)
        self.nodes: list[NodeState] = []

    def start(self, weights: Weights) -> None:
        self.nodes = [NodeState(weights) for _ in range(self.node_count)]
        for index in range(self.cluster.workers):
            self.cluster.push(self.cluster.model.start_of(index), self._join, index)
        self.resume(list(range(self.node_count)), weights, 0.0)

    def _node_of(self, index: int) -> int:
        return index // self.cluster.model.node_size

    def _join(self, time: float, index: int) -> None:
        """A worker comes up: its aggregator sends it tasks with the newest weights it holds."""
        number = self._node_of(index)
        for _ in range(self.cluster.tasks_per_worker):
            self.cluster.submit(index, self.nodes[number].weights, time)

    def arrive(self, time: float, index: int, gradients: Gradients) -> None:
        """A worker's gradient reaches its aggregator, which spends its per-gradient CPU on it (queued behind its
        other work), then adds it up and sends the worker its next task."""
        node = self.nodes[self._node_of(index)]
        node.busy_until = max(time, node.busy_until) + self.cluster.model.aggregator_ms_per_gradient / 1000.0
        self.cluster.push(node.busy_until, self._added, index, gradients)

    def _added(self, time: float, index: int, gradients: Gradients) -> None:
        number = self._node_of(index)
        node = self.nodes[number]
        node.batch.append(gradients)
        self.cluster.submit(index, node.weights, time)
        if node.waiting is not None:  # after the gradients arriving at this same moment (asyncio's ready queue)
            self.cluster.push(time, self._wake, number, node.waiting)

    def _wake(self, time: float, number: int, call: int) -> None:
        if self.nodes[number].waiting == call:
            self._report(number, time)

    def _call(self, time: float, number: int, weights: Weights) -> None:
        """The driver's collect call reaches the aggregator; it is handled in turn, after the gradients that came
        before it (one event loop, one CPU)."""
        node = self.nodes[number]
        node.busy_until = max(time, node.busy_until)
        self.cluster.push(node.busy_until, self._collect, number, weights)

    def _collect(self, time: float, number: int, weights: Weights) -> None:
        """The collect call handled: the newest weights kept, and a report sent once there is something."""
        node = self.nodes[number]
        node.weights, node.calls = weights, node.calls + 1
        if node.batch:
            self._report(number, time)
            return
        node.waiting = node.calls
        self.cluster.push(time + self.cluster.model.collect_wait_s, self._wake, number, node.calls)  # heartbeat

    def _report(self, number: int, time: float) -> None:
        node = self.nodes[number]
        batch = GradientBatch.of(*node.batch)
        node.batch, node.waiting = [], None
        self.cluster.push(time + self.cluster.model.latency_ms / 2000.0, self._reported, number, batch)

    def _reported(self, time: float, number: int, batch: GradientBatch) -> None:
        self.inbox.append((time, number, batch))

    def due(self) -> float | None:
        return self.inbox[0][0] if self.inbox else None

    def take(self, now: float) -> tuple[list[int], GradientBatch, float]:
        count = sum(1 for t, _, _ in self.inbox if t <= now)
        taken, self.inbox = self.inbox[:count], self.inbox[count:]
        batch = GradientBatch()
        for _, _, report in taken:
            batch.merge(report)
        model = self.cluster.model
        return ([number for _, number, _ in taken], batch,
                count * model.driver_ms_per_call + len(batch) * model.driver_ms_per_summed)

    def resume(self, sources: list[int], weights: Weights, now: float) -> None:
        for number in sources:
            self.cluster.push(now + self.cluster.model.latency_ms / 2000.0, self._call, number, weights)
