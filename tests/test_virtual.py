"""--backend virtual: N workers simulated in one process on a simulated clock. The learning is real; the times,
lags and batches must follow the event model to the millisecond when the task time is fixed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from a3c_ray import make_config, train
from a3c_ray.backends.protocol import batches_gradients
from a3c_ray.backends.virtual import VirtualBackend
from a3c_ray.core.learner import Learner
from a3c_ray.errors import ConfigError
from conftest import run_cli, tiny_config

FIXED = {"task_ms": 10, "task_cv": 0, "latency_ms": 2, "driver_ms_per_call": 1, "driver_ms_per_update": 0.5,
         "driver_ms_per_summed": 0, "aggregator_ms_per_gradient": 0}


def backend(tmp_path, **overrides) -> VirtualBackend:
    config = tiny_config(tmp_path, backend="virtual", envs_per_worker=1, rollout_length=4,
                         **{"virtual": FIXED, **overrides}).validate()
    virtual = VirtualBackend(config, Learner(config))
    virtual.start()
    return virtual


def test_sync_rounds_take_latency_task_and_service_time(tmp_path):
    virtual = backend(tmp_path, workers=3, sync=True)
    for round_ in range(1, 5):
        (update,) = virtual.poll(1.0)
        assert len(update.gradients) == 3 and {g.policy_lag for g in update.gradients} == {0}
        # each round: 2 ms transport + 10 ms task, then the driver: 3 calls x 1 ms + 0.5 ms for the update
        assert virtual.clock() == pytest.approx(round_ * 0.0155)
    virtual.stop()


def test_a_per_gradient_driver_lags_behind_simultaneous_arrivals(tmp_path):
    """With equal task times all 4 gradients arrive together; applied one by one, the k-th has lag k."""
    virtual = backend(tmp_path, workers=4, batch_gradients=False, tasks_per_worker=1)
    lags = [g.policy_lag for _ in range(4) for update in virtual.poll(1.0) for g in update.gradients]
    assert lags == [0, 1, 2, 3]
    assert virtual.clock() == pytest.approx(0.012 + 4 * 0.0015)
    virtual.stop()


def test_batched_driver_takes_what_arrived_during_its_service(tmp_path):
    """Tasks of 10 ms, two queued at each worker, against a driver that needs 30 ms per gradient: while it applies
    the first four, the four queued tasks come back, and its next step takes them all at once (lag 1)."""
    virtual = backend(tmp_path, workers=4, tasks_per_worker=2, batch_gradients=True,
                      virtual={**FIXED, "driver_ms_per_call": 30})
    (first,) = virtual.poll(1.0)
    assert [g.policy_lag for g in first.gradients] == [0] * 4
    assert virtual.clock() == pytest.approx(0.012 + 0.1205)
    for _ in range(4):
        (update,) = virtual.poll(1.0)
        assert [g.policy_lag for g in update.gradients] == [1] * 4
    virtual.stop()


def test_the_driver_batches_by_default_only_with_node_aggregators(tmp_path):
    """Below 64 workers one step per gradient (the same 4 workers as above take their gradients one at a time);
    from 64, node aggregators and so batches; a flag given wins."""
    virtual = backend(tmp_path, workers=4, tasks_per_worker=2, virtual={**FIXED, "driver_ms_per_call": 30})
    updates = [u for _ in range(8) for u in virtual.poll(1.0)]
    assert [len(u.gradients) for u in updates] == [1] * 8
    virtual.stop()
    config = tiny_config(tmp_path, backend="virtual")
    assert (batches_gradients(replace(config, workers=63)), batches_gradients(replace(config, workers=64))) == \
        (False, True)
    assert batches_gradients(replace(config, workers=2, batch_gradients=True))
    assert not batches_gradients(replace(config, workers=64, node_aggregators=False))
    assert batches_gradients(make_config("Pendulum-v1", workers=16))  # its preset: it learned better batched
    replace(config, workers=64, batch_gradients=False, node_aggregators=False).validate()  # per gradient at 64
    with pytest.raises(ConfigError, match=r"--no-batch-gradients cannot hold with --workers 64 \(node aggregators"):
        replace(config, workers=64, batch_gradients=False).validate()  # the aggregators would batch regardless
    replace(config, workers=63, batch_gradients=False).validate()
    for other in ("mp", "serial"):  # no aggregators there: the flag is theirs to ignore
        replace(config, backend=other, workers=64, batch_gradients=False).validate()


def test_node_aggregators_group_workers_and_send_heartbeats(tmp_path):
    """8 workers on nodes of 4: two aggregators; tasks longer than the heartbeat give an empty report first."""
    virtual = backend(tmp_path, workers=8, node_aggregators=True,
                      virtual={**FIXED, "node_size": 4, "task_ms": 1500, "collect_wait_s": 1.0})
    assert virtual.node_aggregators == 2 and virtual.nodes == 2
    assert virtual.poll(1.0) == []  # the heartbeat, at 1 s: nothing yet
    assert virtual.clock() == pytest.approx(1.004)  # the reports at 1.002, then 2 calls x 1 ms
    updates = [u for _ in range(4) for u in virtual.poll(1.0)]
    assert updates and all(g.policy_lag <= 1 for u in updates for g in u.gradients)
    assert sum(len(u.gradients) for u in updates) >= 8
    virtual.stop()


def test_workers_join_when_they_come_up(tmp_path):
    """start_s: worker 1 comes up at 50 ms and starts from the weights of that moment; a sync round waits for it."""
    virtual = backend(tmp_path, workers=2, tasks_per_worker=1, virtual={**FIXED, "start_s": [0, 0.05]})
    gradients = [g for _ in range(6) for u in virtual.poll(1.0) for g in u.gradients]
    assert [g.worker for g in gradients[:3]] == [0, 0, 0]
    assert min(g.version for g in gradients if g.worker == 1) == 3  # worker 0's updates at 12, 25.5, 39 ms
    virtual.stop()
    virtual = backend(tmp_path / "sync", workers=2, sync=True, virtual={**FIXED, "start_s": [0, 0.05]})
    (first,) = virtual.poll(1.0)
    assert len(first.gradients) == 2 and virtual.clock() == pytest.approx(0.05 + 0.012 + 0.0025)
    virtual.stop()


def test_collect_wait_matches_the_ray_aggregator():
    from a3c_ray.backends.ray_aggregator import COLLECT_WAIT_S
    from a3c_ray.backends.virtual_model import ClusterModel

    assert ClusterModel().collect_wait_s == COLLECT_WAIT_S


@pytest.mark.timeout(180)
def test_virtual_runs_are_reproducible_and_learn_with_evaluations_on_the_grid(tmp_path):
    def run(name):
        return train(tiny_config(tmp_path / name, backend="virtual", workers=16, envs_per_worker=4,
                                 rollout_length=16, stop_steps=120_000, eval_interval_steps=20_000, eval_episodes=5,
                                 stop_return=10_000, virtual={"task_ms": 8}))  # every evaluation, none solves

    first, second = run("a"), run("b")
    assert first.episodes["return"].tolist() == second.episodes["return"].tolist()
    assert first.summary["training_s"] == second.summary["training_s"]
    returns = first.episodes["return"]
    assert returns.tail(100).mean() > 1.5 * returns.head(100).mean()  # it learned
    largest_update = 16 * 2 * 4 * 16  # every queued task of every worker in one update
    gaps = first.evals["env_steps"].diff().fillna(first.evals["env_steps"].iloc[0])
    assert len(gaps) >= 3 and all(20_000 <= gap < 20_000 + largest_update for gap in gaps)  # training waited
    summary = first.summary
    assert summary["policy_lag_p95"] >= summary["policy_lag_p50"] >= 0 and summary["gradients_per_update"] >= 1


@pytest.mark.parametrize("args, words", [
    (["--virtual", '{"task_ms": 5}'], "--backend virtual"),
    (["--backend", "virtual", "--virtual", '{"task_sec": 5}'], "unknown keys"),
    (["--backend", "virtual", "--virtual", '{"node_size": 0}'], "node_size"),
])
def test_bad_virtual_settings_are_one_line(tmp_path, args, words):
    done = run_cli("train", "--env", "CartPole-v1", *args, "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert words in done.stderr
