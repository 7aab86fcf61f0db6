"""A 2-trial Ray Tune sweep on a tiny budget returns one DataFrame row per trial with our metrics."""

from pathlib import Path

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


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pbt_clones_a_trial_with_its_donors_run(tmp_path, ray_session):
    """Two serial trials (seeds 0 and 1; seed 0 with a learning rate too small to learn). PBT's exploit must
    replace a trial's run by its donor's: its episodes, evaluations and best weights continue the donor's history,
    none of its own."""
    import json

    import pandas as pd
    import torch
    from ray import tune
    from ray.tune.schedulers import PopulationBasedTraining

    from a3c_ray.run.run_dir import BEST_CHECKPOINT_NAME
    from a3c_ray.tune import RUN_FILES_LIST, a3c_trainable, trial_resources

    pbt = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=4, quantile_fraction=0.5,
                                  hyperparam_mutations={"lr": [2e-3, 3e-3]}, resample_probability=0.0)
    tuner = tune.Tuner(
        tune.with_resources(tune.with_parameters(a3c_trainable, checkpoint_every=4),
                            trial_resources(workers=1, backend="serial")),
        param_space={"env": "CartPole-v1", "backend": "serial", "workers": 1, "envs_per_worker": 4,
                     "stop_steps": 30_000, "report_interval_s": 0.3, "checkpoint_interval_s": 3600,
                     "eval_interval_steps": 1_000, "eval_episodes": 2, "seed": tune.grid_search([0, 1]),
                     "lr": tune.sample_from(lambda spec: 1e-7 if spec.config.seed == 0 else 3e-3)},
        tune_config=tune.TuneConfig(scheduler=pbt, metric="episode_return_mean", mode="max"),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="pbt", verbose=0,
                                  checkpoint_config=tune.CheckpointConfig(num_to_keep=4)),
    )
    results = tuner.fit()
    assert not results.errors
    assert list(tmp_path.rglob("pbt_policy_*.txt")), "no exploit happened"
    # each trial's run as it stands: its last checkpoint, the files its list names (Tune may have left files of
    # other checkpoints in that directory); PBT may clone either trial from the other, more than once
    runs = [Path(r.checkpoint.path) for r in results]
    files = [json.loads((run / RUN_FILES_LIST).read_text()) for run in runs]
    episodes = [pd.read_csv(run / "episodes.csv") for run in runs]
    columns = ["return", "length", "env_steps", "time_s"]
    n = min(len(e) for e in episodes)
    same = (episodes[0][columns].head(n).values == episodes[1][columns].head(n).values).all(axis=1).cumprod().sum()
    # seeds 0 and 1 never play the same episodes at the same second: both histories opening alike means one run's
    # own start is gone, replaced by the other's (a clone continues its donor's whole history)
    assert same >= 20
    shared_until = episodes[0]["time_s"].iloc[same - 1]  # (training seconds) the clone was taken after this
    evals = [pd.read_csv(run / "evals.csv") for run in runs]
    # the evaluations recorded by then (by when they finished: one of weights taken before the clone may finish
    # after it, in the donor's run only)
    shared = [e[e["time_s"] <= shared_until] for e in evals]
    assert shared[0].values.tolist() == shared[1].values.tolist()  # values: an empty frame's dtypes may differ
    for run, names, history in zip(runs, files, evals):  # each run's best weights are the best of its history
        if BEST_CHECKPOINT_NAME in names:
            best = torch.load(run / BEST_CHECKPOINT_NAME, weights_only=True)["counters"]
            assert best["eval_return_mean"] == pytest.approx(history["return_mean"].max())
        else:
            assert history.empty  # the first evaluation recorded is the best so far, and saved


@pytest.mark.timeout(60)
def test_a_trial_checkpoints_on_its_interval_not_every_report():
    from a3c_ray.tune import TuneReporter

    reported = []

    class Trainer:  # what the reporter reads of a trainer
        config = type("C", (), {"checkpoint_interval_s": 3600})()
        recorder = type("R", (), {"stop": type("S", (), {"solved_at": None})()})()
        run_dir = Path("/nonexistent")

        def flush(self):
            reported.append("flush")

    import a3c_ray.tune as module

    calls = []
    original = module.tune.report
    module.tune.report = lambda metrics, checkpoint=None: calls.append(checkpoint is not None)
    try:
        reporter = TuneReporter()
        for _ in range(5):
            reporter(Trainer(), {"env_steps": 1})
        reporter(Trainer(), {"env_steps": 2}, final=True)
    finally:
        module.tune.report = original
    assert calls == [True, False, False, False, False, True]
