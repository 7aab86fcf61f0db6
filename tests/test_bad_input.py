"""Bad input: one line on stderr naming the value and the fix, exit 2 (usage) or 1 (runtime), no traceback."""

import functools
import os
import re
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
import torch

import conftest
from a3c_ray.run.checkpoint import load_checkpoint
from conftest import cli_env
from local_cluster import free_port

run_cli = functools.partial(conftest.run_cli, timeout=120)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A real finished run, and damaged or foreign files made from it."""
    root = tmp_path_factory.mktemp("files")
    done = run_cli("train", "--env", "CartPole-v1", "--backend", "serial", "--workers", "1", "--stop-steps", "500",
                   "--out", str(root / "run"), "--no-progress-bar")
    assert done.returncode == 0, done.stderr
    done = run_cli("train", "--env", "CartPole-v1", "--backend", "serial", "--workers", "1", "--stop-steps", "300",
                   "--lstm", "--lstm-size", "8", "--out", str(root / "lstm_run"), "--no-progress-bar")
    assert done.returncode == 0, done.stderr
    data = (root / "run" / "checkpoint.pt").read_bytes()
    (root / "truncated.pt").write_bytes(data[: len(data) // 3])
    (root / "notes.pt").write_text("not a checkpoint")
    torch.save({"format": "a3c_ray.run.checkpoint/1", "x": Evil()}, root / "evil.pt")
    foreign = torch.load(root / "run" / "checkpoint.pt", weights_only=True)  # CartPole weights...
    foreign["config_json"] = foreign["config_json"].replace("CartPole-v1", "Acrobot-v1")  # ...said to be Acrobot
    torch.save(foreign, root / "foreign.pt")
    (root / "a_file").write_text("")
    return root


def default_sigint() -> None:
    """Ctrl-C as in a terminal: a shell running this suite in the background (`cmd &`) hands its children
    SIGINT ignored, and Python then never turns SIGINT into KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


TRAIN = ["train", "--backend", "serial", "--stop-steps", "100", "--no-progress-bar"]
CASES = [
    # (id, args, exit code, words the one line must hold)
    ("typo-env", ["train", "--env", "CartPol-v1"], 2, ["'CartPol-v1'", "CartPole-v1"]),
    ("module-missing", ["train", "--env", "no_such_module:Foo-v0"], 2, ["no_such_module", "import"]),
    ("text-obs", ["train", "--env", "bad_envs:TextObs-v0"], 2, ["Text", "supported: Box (any rank)"]),
    ("tuple-action", ["train", "--env", "bad_envs:TupleAction-v0"], 2, ["Tuple", "Dict/Tuple actions are not"]),
    ("dict-action", ["train", "--env", "bad_envs:DictAction-v0"], 2, ["Dict", "Dict/Tuple actions are not"]),
    ("missing-dependency", ["train", "--env", "bad_envs:MissingDependency-v0"], 2,
     ["not installed", 'pip install "gymnasium[box2d]"']),
    ("lr-zero", [*TRAIN, "--env", "CartPole-v1", "--lr", "0"], 2, ["--lr", "> 0", "0.0"]),
    ("tasks-zero", [*TRAIN, "--env", "CartPole-v1", "--tasks-per-worker", "0"], 2, ["--tasks-per-worker", "0"]),
    ("keep-negative", [*TRAIN, "--env", "CartPole-v1", "--keep-checkpoints", "-1"], 2, ["--keep-checkpoints", "-1"]),
    ("lr-negative", [*TRAIN, "--env", "CartPole-v1", "--lr", "-1e-3"], 2, ["--lr", "-0.001"]),
    ("optimizer-eps-zero", [*TRAIN, "--env", "CartPole-v1", "--optimizer-eps", "0"], 2, ["--optimizer-eps", "> 0"]),
    ("gsde-discrete", [*TRAIN, "--env", "CartPole-v1", "--gsde"], 2, ["--gsde", "Discrete(2)", "drop --gsde"]),
    ("workers-zero", [*TRAIN, "--env", "CartPole-v1", "--workers", "0"], 2, ["--workers", "0"]),
    ("grad-dtype-mp", [*TRAIN, "--env", "CartPole-v1", "--backend", "mp", "--grad-dtype", "bfloat16"], 2,
     ["--grad-dtype bfloat16", "--backend ray"]),
    ("rollout-zero", [*TRAIN, "--env", "CartPole-v1", "--rollout-length", "0"], 2, ["--rollout-length"]),
    ("gamma-high", [*TRAIN, "--env", "CartPole-v1", "--gamma", "1.5"], 2, ["--gamma", "(0, 1]", "1.5"]),
    ("lambda-zero", [*TRAIN, "--env", "CartPole-v1", "--gae-lambda", "0"], 2, ["--gae-lambda", "(0, 1]"]),
    ("entropy-negative", [*TRAIN, "--env", "CartPole-v1", "--entropy-coef", "-0.1"], 2, ["--entropy-coef", ">= 0"]),
    ("value-coef-negative", [*TRAIN, "--env", "CartPole-v1", "--value-coef", "-1"], 2, ["--value-coef"]),
    ("stop-return-nan", ["train", "--env", "CartPole-v1", "--stop-return", "nan"], 2, ["--stop-return", "nan"]),
    ("stop-steps-zero", ["train", "--env", "CartPole-v1", "--stop-steps", "0"], 2, ["--stop-steps", "0"]),
    ("workers-not-int", ["train", "--env", "CartPole-v1", "--workers", "two"], 2, ["--workers", "two"]),
    ("backend-unknown", [*TRAIN, "--env", "CartPole-v1", "--backend", "spark"], 2, ["--backend", "spark"]),
    ("hidden-sizes", [*TRAIN, "--env", "CartPole-v1", "--hidden-sizes", "64,x"], 2, ["--hidden-sizes", "64,x"]),
    ("unknown-flag", ["train", "--env", "CartPole-v1", "--learning-rate", "1"], 2, ["--learning-rate"]),
    ("out-holds-run", [*TRAIN, "--env", "CartPole-v1", "--out", "{root}/run"], 2, ["already holds a run",
                                                                                   "--overwrite"]),
    ("out-not-writable", [*TRAIN, "--env", "CartPole-v1", "--out", "{root}/a_file/run"], 2, ["a_file", "writable"]),
    ("address-unreachable", ["train", "--env", "CartPole-v1", "--address", "127.0.0.1:{port}"], 2,
     ["127.0.0.1:", "cannot reach", "ray start --head"]),
    ("eval-missing", ["evaluate", "{root}/nothing-here"], 2, ["nothing-here", "no checkpoint"]),
    ("eval-truncated", ["evaluate", "{root}/truncated.pt"], 2, ["truncated.pt", "truncated"]),
    ("eval-not-checkpoint", ["evaluate", "{root}/notes.pt"], 2, ["notes.pt"]),
    ("eval-pickle", ["evaluate", "{root}/evil.pt"], 2, ["evil.pt", "untrusted"]),
    ("eval-foreign-env", ["evaluate", "{root}/foreign.pt"], 2, ["foreign.pt", "Acrobot-v1", "shapes"]),
    ("eval-episodes-zero", ["evaluate", "{root}/run", "--episodes", "0"], 2, ["--episodes", "0"]),
    ("resume-lstm-as-mlp", ["train", "--resume", "{root}/lstm_run", "--no-lstm", "--stop-steps", "600"], 2,
     ["lstm_run", "does not fit", "--lstm"]),
    ("video-suffix", ["evaluate", "{root}/run", "--episodes", "1", "--video", "{root}/clip.avi"], 2,
     ["clip.avi", ".gif or .mp4"]),
    ("ale-unknown", ["train", "--env", "ALE/Pongg-v5"], 2, ["ALE/Pongg-v5", "ALE/Pong-v5"]),
    ("aggregators-without-batching", [*TRAIN, "--env", "CartPole-v1", "--node-aggregators", "--no-batch-gradients"],
     2, ["--node-aggregators", "--no-batch-gradients"]),
]


END_TO_END_IN_THE_QUICK_TIER = {"typo-env", "lr-zero", "unknown-flag", "eval-pickle"}


@pytest.mark.parametrize("case", [pytest.param(c, id=c[0], marks=() if c[0] in END_TO_END_IN_THE_QUICK_TIER
                                               else pytest.mark.slow) for c in CASES])
def test_bad_input_gets_one_clear_line(files, case):
    """The real command, supervisor and child (two interpreters per case, ~2 s): every case in the full suite, a
    few in the quick tier; the test below checks every message there."""
    _, args, code, words = case
    args = [a.format(root=files, port=free_port()) for a in args]
    done = run_cli(*args)
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr and lines[0].startswith("a3c-ray: error: ")
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "pwned" not in done.stdout


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_one_clear_line_in_process(files, case, capfd, monkeypatch):
    """The same cases through the command line's own handling (a3c_ray.cli._run, what the training child runs) in
    this process: no interpreter start-up per case."""
    from a3c_ray import cli
    from a3c_ray.backends import ray_runtime
    from a3c_ray.run.trainer import Trainer

    monkeypatch.setattr(ray_runtime, "start_early", lambda config: None)  # never a Ray in the test process
    monkeypatch.setattr(Trainer, "run", lambda self: pytest.fail("bad input started a run"))
    _, args, code, words = case
    args = [a.format(root=files, port=free_port()) for a in args]
    with pytest.raises(SystemExit) as exited:
        cli._run(args)
    out, err = capfd.readouterr()  # the file descriptors: os.system's output too
    assert exited.value.code == code, (exited.value.code, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("a3c-ray: error: "), err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "pwned" not in out


@pytest.mark.slow
def test_diverging_run_stops_after_50_non_finite_gradients_with_its_files(tmp_path):
    out = tmp_path / "run"
    done = run_cli("train", "--env", "bad_envs:NanReward-v0", "--backend", "serial", "--workers", "1",
                   "--stop-steps", "1000000", "--no-progress-bar", "--out", str(out))
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "50 non-finite gradients in a row" in lines[0] and "--lr" in lines[0], lines[0]
    summary = pd.read_json(out / "summary.json", typ="series")
    assert summary["stop_reason"] == "diverged" and summary["skipped_updates"] == 50
    assert load_checkpoint(out)["counters"]["env_steps"] == summary["env_steps"]


def test_refused_run_leaves_no_files(files):
    out = files / "never"
    done = run_cli(*TRAIN, "--env", "CartPol-v1", "--out", str(out))
    assert done.returncode == 2 and not out.exists()


def test_overwrite_replaces_a_run(files, tmp_path):
    out = tmp_path / "run"
    for extra in ([], ["--overwrite"]):
        done = run_cli(*TRAIN, "--env", "CartPole-v1", "--out", str(out), *extra)
        assert done.returncode == 0, done.stderr


def default_sigint_in_own_group() -> None:
    """As default_sigint, in a process group of its own, as a terminal's foreground job: a closed terminal
    sends SIGHUP to every process of that group (the test's killpg reaches only what the CLI started). SIGHUP as
    a terminal's job has it: a suite started under nohup hands its children SIGHUP ignored, and a run honours
    that (it kept training, and these tests failed with exit 0)."""
    default_sigint()
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    os.setpgrp()


@pytest.mark.slow
@pytest.mark.timeout(180)
@pytest.mark.parametrize("sig,backend,group", [(signal.SIGINT, "mp", False), (signal.SIGTERM, "mp", False),
                                               (signal.SIGHUP, "mp", True), (signal.SIGHUP, "ray", True)],
                         ids=["sigint", "sigterm", "terminal-closed-mp", "terminal-closed-ray"])
def test_interrupted_run_leaves_complete_files(tmp_path, sig, backend, group):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "a3c_ray", "train", "--env", "Pendulum-v1", "--backend", backend,
                             "--stop-seconds", "120", "--checkpoint-interval-s", "1", "--out", str(out),
                             "--no-progress-bar"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(), preexec_fn=default_sigint_in_own_group if group else default_sigint)
    try:
        deadline = time.monotonic() + 90
        while not (out / "episodes.csv").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        if group:
            os.killpg(proc.pid, sig)  # the group this test started, by its id
        else:
            proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    summary = pd.read_json(out / "summary.json", typ="series")
    assert summary["stop_reason"] == "interrupted"
    episodes, progress = pd.read_csv(out / "episodes.csv"), pd.read_csv(out / "progress.csv")
    assert len(episodes) == summary["episodes"] > 0 and len(progress) > 0
    assert load_checkpoint(out)["counters"]["env_steps"] == summary["env_steps"]
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


SCRIPT_WITHOUT_GUARD = """
import a3c_ray
a3c_ray.train(a3c_ray.make_config("CartPole-v1", backend="mp", stop_steps=20000, progress_bar=False,
                                  out={out!r}))
"""


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_script_without_main_guard_fails_fast_naming_the_fix(tmp_path):
    script = tmp_path / "no_guard.py"
    script.write_text(SCRIPT_WITHOUT_GUARD.format(out=str(tmp_path / "run")))
    start = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=150,
                          env=cli_env(), cwd=tmp_path)
    assert done.returncode != 0
    assert time.monotonic() - start < 60  # not the 120 s start-up timeout
    assert 'if __name__ == "__main__":' in done.stderr.splitlines()[-1], done.stderr[-2000:]
    assert "bootstrapping phase" not in done.stderr  # the children left quietly, before that error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["no_guard.py", "run"]  # no stray run directories


@pytest.mark.parametrize("env,extra,package", [("ALE/Pong-v5", "atari", "ale_py"),
                                               ("MinAtar/Breakout-v1", "minatar", "minatar")])
def test_missing_extra_names_the_pip_install(tmp_path, env, extra, package):
    shadow = tmp_path / package  # the package, as if not installed: importing it fails
    shadow.mkdir()
    (shadow / "__init__.py").write_text("raise ImportError('not installed (shadowed by the test)')\n")
    environment = cli_env()
    environment["PYTHONPATH"] = os.pathsep.join([str(tmp_path), environment["PYTHONPATH"]])
    done = subprocess.run([sys.executable, "-m", "a3c_ray", "train", "--env", env], capture_output=True, text=True,
                          timeout=120, env=environment)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert f'pip install "a3c-ray[{extra}]"' in lines[0] and env in lines[0]


@pytest.mark.parametrize("override, message", [
    ({"lr": True}, "--lr must be a number, got True"),  # would train at a learning rate of 1.0
    ({"gamma": "0.9"}, "--gamma must be a number, got '0.9'"),
    ({"normalize_reward": 1.5}, "--normalize-reward takes true or false, got 1.5"),
    ({"stop_seconds": "60"}, "--stop-seconds must be a number, got '60'"),  # an optional number
    ({"worker_timeout_s": True}, "--worker-timeout-s must be a number, got True"),
    ({"node_aggregators": 1}, "--node-aggregators takes true or false, got 1"),  # an optional switch
])
def test_a_setting_of_the_wrong_kind_is_refused_through_the_python_api(override, message):
    from a3c_ray import make_config
    from a3c_ray.errors import ConfigError

    with pytest.raises(ConfigError, match=re.escape(message)):
        make_config("CartPole-v1", **override).validate()
