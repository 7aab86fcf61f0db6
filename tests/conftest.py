import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("RAY_DISABLE_IMPORT_WARNING", "1")


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance for the whole test session; the backends reuse it and never shut it down."""
    import ray

    from a3c_ray.backends.ray_runtime import start_local

    started = not ray.is_initialized()
    if started:
        # Ray's workers inherit the environment of its raylet, started here: with tests/ on their path they import
        # the 'bad_envs:...' env ids too (Ray hands them the driver's script and working directories, not sys.path)
        before = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in [str(Path(__file__).parent), before] if p)
        try:
            start_local(num_cpus=2, log_to_driver=False)  # as a run starts it: loopback, no metrics threads
        finally:
            if before is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = before
    yield ray
    if started:
        ray.shutdown()


def tiny_config(tmp_path, **overrides):
    from a3c_ray.config import make_config

    values = dict(workers=1, envs_per_worker=2, rollout_length=8, stop_steps=400, progress_bar=False,
                  out=str(tmp_path / "run"), backend="serial", report_interval_s=0.2)
    values.update(overrides)
    return make_config(values.pop("env", "CartPole-v1"), **values)


def cli_env() -> dict[str, str]:
    """This process's environment without RAY_ADDRESS (tests never reach another cluster), with tests/ importable
    (for the 'bad_envs:...' env ids)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parent), env.get("PYTHONPATH", "")])
    return env


def run_cli(*args, timeout=180):
    """The real a3c-ray command in a subprocess."""
    return subprocess.run([sys.executable, "-m", "a3c_ray", *args], capture_output=True, text=True,
                          timeout=timeout, env=cli_env())
