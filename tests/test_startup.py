"""The CLI's quicker start: a run's own Ray begins in a thread while the driver imports torch, only once the
checks that need no torch (and import none) pass; its shutdown ends every process it started, the monitor
included; and the training child exits without the interpreter's module teardown."""

import dataclasses
import subprocess
import sys
import textwrap

import pytest

from a3c_ray import cli
from a3c_ray.backends import ray_runtime
from conftest import cli_env, tiny_config


@pytest.fixture
def early_starts(monkeypatch):
    calls = []
    monkeypatch.setattr(ray_runtime, "start_early", calls.append)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    return calls


def test_a_valid_ray_run_starts_ray_early(tmp_path, early_starts):
    config = tiny_config(tmp_path, backend="ray")
    cli._start_ray_early(config)
    assert early_starts == [config]


@pytest.mark.parametrize("case", ["serial backend", "unknown env", "run dir holds a run", "out is a file"])
def test_input_that_will_fail_starts_no_ray(tmp_path, early_starts, case):
    config = tiny_config(tmp_path, backend="ray")
    if case == "serial backend":
        config = dataclasses.replace(config, backend="serial")
    elif case == "unknown env":
        config = dataclasses.replace(config, env="NoSuchEnv-v0")
    elif case == "run dir holds a run":
        (tmp_path / "run").mkdir()
        (tmp_path / "run" / "summary.json").write_text("{}")
    else:
        (tmp_path / "run").write_text("")
    cli._start_ray_early(config)
    assert early_starts == []


TORCH_WHEN_RAY_STARTS = textwrap.dedent("""
    import sys
    from a3c_ray import cli
    from a3c_ray.backends import ray_runtime

    def instead_of_starting_ray(config):
        print("torch imported:", "torch" in sys.modules)
        raise SystemExit(0)

    ray_runtime.start_early = instead_of_starting_ray
    cli.main(["train", "--env", "CartPole-v1", "--out", sys.argv[1]])
""")


def test_ray_starts_before_the_driver_imports_torch(tmp_path):
    """torch's import (~1.2 s here) runs while Ray starts, not before: the checks ahead of Ray's start need none."""
    done = subprocess.run([sys.executable, "-c", TORCH_WHEN_RAY_STARTS, str(tmp_path / "run")], capture_output=True,
                          text=True, timeout=60, env={**cli_env(), "A3C_RAY_STATUS_FILE": str(tmp_path / "status")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "torch imported: False"


EARLY_THEN_SHUTDOWN = textwrap.dedent("""
    import time
    import ray
    from a3c_ray.backends import ray_runtime
    from a3c_ray.config import make_config

    config = make_config("CartPole-v1", workers=1, stop_steps=100)
    ray_runtime.start_early(config)
    assert ray_runtime.connect(config) is True  # the early Ray is this run's: it owns the shutdown
    assert ray.is_initialized()
    time.sleep(2)  # Ray outlives the call that started it (its GCS dies with the thread that started it)
    assert ray.get(ray.remote(lambda: 42).remote(), timeout=60) == 42
    node = ray._private.worker._global_node
    processes = {kind: [info.process for info in infos] for kind, infos in node.all_processes.items()}
    assert "monitor" in processes and "raylet" in processes, processes
    ray_runtime.shutdown_local()
    alive = {kind: [p.pid for p in procs if p.poll() is None] for kind, procs in processes.items()}
    assert not any(alive.values()), alive
    print("ok")
""")


@pytest.mark.slow
def test_an_early_started_ray_is_owned_and_fully_shut_down():
    done = subprocess.run([sys.executable, "-c", EARLY_THEN_SHUTDOWN], capture_output=True, text=True, timeout=120,
                          env=cli_env())
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
    assert "SIGTERM handler is not set" not in done.stderr


EXIT_WITHOUT_TEARDOWN = textwrap.dedent("""
    import atexit, sys
    from a3c_ray.plumbing.supervise import exit_without_teardown

    atexit.register(lambda: print("exit handler ran"))

    def main():
        print("printed before the exit")
        sys.exit(int(sys.argv[1]))

    exit_without_teardown(main)
    print("never printed")
""")


@pytest.mark.parametrize("code", [0, 3])
def test_the_training_child_exits_with_its_code_after_the_exit_handlers(code):
    """The child skips the interpreter's module teardown (~1.1 s), not its exit handlers (Ray's shutdown among
    them) nor what it printed."""
    done = subprocess.run([sys.executable, "-c", EXIT_WITHOUT_TEARDOWN, str(code)], capture_output=True, text=True,
                          timeout=60, env=cli_env())
    assert done.returncode == code, done.stderr
    assert done.stdout.splitlines() == ["printed before the exit", "exit handler ran"]
