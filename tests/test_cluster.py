"""A real two-node Ray cluster on this machine: `ray job submit` of a training run, then losing a node mid-run."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from a3c_ray.run.results import load_run
from local_cluster import LocalCluster, wait_for

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module")
def cluster():
    """Head with 2 CPUs plus two nodes with 1 each. Each node-loss test takes one node away: the aggregator test
    "node2", the last test "node" (having taken "node2" itself when it runs first, so that its two workers are on
    the head and "node", with room on the head for a replacement)."""
    cluster = LocalCluster(head_cpus=2, node_cpus=1, nodes=2)
    try:
        yield cluster.start()
    finally:
        cluster.teardown()


def train_args(out: Path, *extra: str, workers: int = 2) -> list[str]:
    return ["-m", "a3c_ray", "train", "--env", "CartPole-v1", "--workers", str(workers), "--out", str(out),
            "--no-progress-bar", "--report-interval-s", "0.5", *extra]


@pytest.mark.timeout(300)
def test_ray_job_submit_trains_on_the_cluster(cluster, tmp_path):
    out = tmp_path / "run"
    job_id = f"a3c-test-{time.time_ns()}"
    submitted = cluster.job("submit", "--no-wait", "--submission-id", job_id,
                            "--working-dir", str(REPO), "--", sys.executable,
                            *train_args(out, "--stop-steps", "60000", "--no-stop-at-threshold"))
    assert submitted.returncode == 0, submitted.stderr

    def status() -> str:  # the CLI says "Job '<id>' succeeded" (or failed, stopped) once the job is over
        return cluster.job("status", job_id, timeout=60).stdout.lower()

    assert wait_for(lambda: any(f"' {s}" in status() for s in ("succeeded", "failed", "stopped")), timeout=240)
    logs = cluster.job("logs", job_id, timeout=60).stdout
    assert "' succeeded" in status(), logs[-3000:]
    run = load_run(out)  # the tables, as a user collects them
    assert run.summary["env_steps"] >= 60_000 and run.summary["stop_reason"] == "stop_steps"
    assert run.summary["worker_nodes"] == 2, "the two workers should run on two nodes"
    assert isinstance(run.progress, pd.DataFrame) and run.progress["env_steps"].is_monotonic_increasing
    assert len(run.episodes) > 100


def progress_shows(out: Path, nodes: int, steps: int) -> bool:
    try:
        progress = pd.read_csv(out / "progress.csv")
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return False
    return bool(len(progress)) and progress["worker_nodes"].iloc[-1] == nodes and \
        progress["env_steps"].iloc[-1] > steps


def lose_a_node_mid_run(cluster, out: Path, args: list[str], workers: int, node: str) -> dict:
    """Run the CLI on the cluster until its workers are on `workers` distinct nodes and past 50k env steps,
    SIGKILL `node` (its raylet and everything on it), and return the run's summary once it has finished.
    progress.csv is rewritten with each checkpoint, so checkpoints every second let us watch the run."""
    train = subprocess.Popen([sys.executable, *train_args(out, *args, "--no-stop-at-threshold", "--address",
                                                          cluster.address, "--worker-timeout-s", "15",
                                                          "--checkpoint-interval-s", "1", workers=workers)],
                             env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_for(lambda: progress_shows(out, nodes=workers, steps=50_000), timeout=150), \
            f"the run never had workers on {workers} nodes"
        assert cluster.remove_node(node) >= 2  # its raylet and what it carried
        output, _ = train.communicate(timeout=240)
    finally:
        if train.poll() is None:
            train.kill()
            train.wait()
    assert train.returncode == 0, output[-3000:]
    return json.loads((out / "summary.json").read_text())


@pytest.mark.timeout(300)
def test_aggregators_survive_a_lost_node(cluster, tmp_path):
    """One aggregator on each of the three nodes; "node2" dies with its aggregator and worker: the aggregator is
    replaced, the worker replaced on a node with a free CPU and handed to that node's aggregator."""
    out = tmp_path / "run"
    summary = lose_a_node_mid_run(cluster, out, ["--node-aggregators", "--stop-steps", "600000"], 3, "node2")
    assert summary["stop_reason"] == "stop_steps" and summary["env_steps"] >= 600_000
    assert summary["aggregator_restarts"] >= 1 and summary["worker_restarts"] >= 1
    assert summary["worker_nodes"] == 2 and summary["node_aggregators"] == 2
    progress = pd.read_csv(out / "progress.csv")
    assert progress["gradients"].iloc[-1] >= progress["updates"].iloc[-1] > 0


@pytest.mark.timeout(300)
def test_training_completes_after_a_node_is_lost(cluster, tmp_path):
    out = tmp_path / "run"
    if cluster.remove_node("node2"):  # gone already when the aggregator test ran first; else the workers' place
        assert wait_for(lambda: cluster.alive_nodes() == 2, timeout=120), "the GCS still counts node2 alive"
    summary = lose_a_node_mid_run(cluster, out, ["--stop-steps", "700000"], 2, "node")
    progress = pd.read_csv(out / "progress.csv")
    assert summary["stop_reason"] == "stop_steps" and summary["env_steps"] >= 700_000
    assert summary["worker_restarts"] >= 1 and summary["worker_nodes"] == 1
    episodes = pd.read_csv(out / "episodes.csv")
    after = episodes[episodes["env_steps"] > progress["env_steps"][progress["worker_nodes"] == 2].max()]
    assert len(after) > 0 and after["return"].mean() > episodes["return"].head(100).mean()  # still learning
