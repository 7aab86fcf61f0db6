"""The study's predicted time to solve on a cluster of N cores, from its scaling.csv (experiments/scaling.py
--predict; the model: docs/scaling.md)."""

from __future__ import annotations

from typing import Callable

import pandas as pd

from a3c_ray.backends.protocol import batches_gradients, uses_node_aggregators
from a3c_ray.backends.virtual_model import ClusterModel

PREDICT_CORES = [2, 16, 64, 256]  # 2: the baseline every figure above is measured at


def predict(frame: pd.DataFrame, config_of: Callable) -> str:
    """Predicted time to solve on a cluster of N cores (one worker each): env steps to solve at N over the
    env steps/s that N workers deliver, capped by what the driver (or the node aggregators) can take in.
    config_of(env, mode, workers) is the config the study ran that point with."""
    model = ClusterModel()
    lines = ["| env | mode | cores | env steps to solve | steps per gradient | task ms | bound | env steps/s | "
             "predicted s | simulated s |", "|---|---|---|---|---|---|---|---|---|---|"]
    rows_at = frame[frame["workers"].isin(PREDICT_CORES)].sort_values(["env", "mode", "workers"], kind="stable")
    for (env, mode, n), rows in rows_at.groupby(["env", "mode", "workers"], sort=False):
        config = config_of(env, mode, int(n))
        steps = config.envs_per_worker * config.rollout_length
        task_s = float(rows["task_ms"].median()) / 1000
        rate, bound = gradient_rate(config, model, task_s)
        if rows["solved"].all():  # a median over the seeds that solved alone would pick the lucky ones
            to_solve = rows["env_steps_to_solve"].median()
            cells = f"{to_solve:,.0f} | ", f"{to_solve / (rate * steps):.2f} | {rows['time_to_solve_s'].median():.2f}"
        else:
            cells = f"{int(rows['solved'].sum())}/{len(rows)} solved | ", "– | –"
        lines.append(f"| {env} | {mode} | {n} | {cells[0]}{steps} | {task_s * 1000:.1f} | {bound} | "
                     f"{rate * steps:,.0f} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def gradient_rate(config, model: ClusterModel, task_s: float) -> tuple[float, str]:
    """Gradients per second N workers deliver to the learner, and what bounds it (workers, driver, aggregators)."""
    n = config.workers
    if config.sync:  # a round: the slowest task, transport, and the driver's N calls and one update
        round_s = task_s + model.latency_ms / 1000 + (n * model.driver_ms_per_call + model.driver_ms_per_update) / 1000
        return n / round_s, "rounds"
    offered = n / task_s  # tasks queued at each worker hide the round trip
    if uses_node_aggregators(config):
        nodes = -(-n // model.node_size)
        capacity = min(nodes * 1000 / model.aggregator_ms_per_gradient, 1000 / model.driver_ms_per_summed)
        return min(offered, capacity), "workers" if offered <= capacity else "aggregators"
    # one step per gradient: a call and an update each; batched: the update shared by the batch (left out)
    capacity = 1000 / (model.driver_ms_per_call + (0 if batches_gradients(config) else model.driver_ms_per_update))
    return min(offered, capacity), "workers" if offered <= capacity else "driver"
