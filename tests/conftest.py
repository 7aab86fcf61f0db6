import os

import pytest

os.environ.setdefault("RAY_DISABLE_IMPORT_WARNING", "1")


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray instance for the whole test session; the backends reuse it and never shut it down."""
    import ray

    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, dashboard_host="127.0.0.1", log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


def tiny_config(tmp_path, **overrides):
    from a3c_ray.config import make_config

    values = dict(workers=1, envs_per_worker=2, rollout_length=8, stop_steps=400, progress_bar=False,
                  out=str(tmp_path / "run"), backend="serial", report_interval_s=0.2)
    values.update(overrides)
    return make_config(values.pop("env", "CartPole-v1"), **values)
