"""A 2-trial Ray Tune sweep on a tiny budget returns one DataFrame row per trial with our metrics."""

import pytest


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_trial_sweep(tmp_path, ray_session):
    from ray import tune

    from a3c_ray.tune import a3c_trainable, trial_resources

    tuner = tune.Tuner(
        tune.with_resources(a3c_trainable, trial_resources(workers=1)),
        param_space={"env": "CartPole-v1", "workers": 1, "envs_per_worker": 4, "stop_steps": 4000,
                     "report_interval_s": 0.5, "lr": tune.grid_search([1e-3, 3e-3])},
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="sweep", verbose=0),
    )
    results = tuner.fit()
    frame = results.get_dataframe()
    assert len(frame) == 2 and not results.errors
    assert sorted(frame["config/lr"]) == [1e-3, 3e-3]
    for column in ("episode_return_mean", "env_steps", "updates", "policy_lag_mean", "finished"):
        assert column in frame.columns, column
    assert (frame["env_steps"] >= 4000).all() and frame["finished"].all()
    assert all(r.checkpoint is not None for r in results)
