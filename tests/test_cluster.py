"""A real two-node Ray cluster on this machine: `ray job submit` of a training run, then losing a node mid-run."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from a3c_ray.results import load_run
from local_cluster import LocalCluster, wait_for

REPO = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module")
def cluster():
    """Head with 2 CPUs plus a node with 1: two workers spread over both, and room on the head for a
    replacement when the node goes."""
    cluster = LocalCluster(head_cpus=2, node_cpus=1)
    try:
        yield cluster.start()
    finally:
        cluster.teardown()


def train_args(out: Path, *extra: str) -> list[str]:
    return ["-m", "a3c_ray", "train", "--env", "CartPole-v1", "--workers", "2", "--out", str(out),
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
    assert run.summary["worker_nodes"] == 2, "the two workers should run on the two nodes"
    assert isinstance(run.progress, pd.DataFrame) and run.progress["env_steps"].is_monotonic_increasing
    assert len(run.episodes) > 100


@pytest.mark.timeout(300)
def test_training_completes_after_a_node_is_lost(cluster, tmp_path):
    out = tmp_path / "run"
    train = subprocess.Popen([sys.executable, *train_args(out, "--stop-steps", "700000", "--no-stop-at-threshold",
                                                          "--address", cluster.address, "--worker-timeout-s", "15",
                                                          "--checkpoint-interval-s", "1")],
                             env=cluster.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def spread_and_stepping() -> bool:
            try:
                progress = pd.read_csv(out / "progress.csv")
            except (FileNotFoundError, pd.errors.EmptyDataError):
                return False
            return bool(len(progress)) and progress["worker_nodes"].iloc[-1] == 2 and \
                progress["env_steps"].iloc[-1] > 50_000

        assert wait_for(spread_and_stepping, timeout=120), "the run never had workers on both nodes"
        assert cluster.remove_node("node") >= 2  # its raylet and the worker it carried, at least
        output, _ = train.communicate(timeout=240)
    finally:
        if train.poll() is None:
            train.kill()
            train.wait()
    assert train.returncode == 0, output[-3000:]
    summary = json.loads((out / "summary.json").read_text())
    progress = pd.read_csv(out / "progress.csv")
    assert summary["stop_reason"] == "stop_steps" and summary["env_steps"] >= 700_000
    assert summary["worker_restarts"] >= 1 and summary["worker_nodes"] == 1
    episodes = pd.read_csv(out / "episodes.csv")
    after = episodes[episodes["env_steps"] > progress["env_steps"][progress["worker_nodes"] == 2].max()]
    assert len(after) > 0 and after["return"].mean() > episodes["return"].head(100).mean()  # still learning
