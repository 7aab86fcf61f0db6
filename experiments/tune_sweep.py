"""Example Ray Tune sweep over learning rate, entropy weight and rollout length on CartPole-v1, or with --pbt
Population Based Training of the learning rate (each trial checkpoints at every perturbation, and an exploited
trial continues the donor's run: its weights, tables, evaluations and best weights).

    python experiments/tune_sweep.py [--samples 8] [--workers 1] [--stop-steps 300000] [--pbt]

Prints the trials as a pandas table (ResultGrid.get_dataframe()) and writes it to experiments/results/tune.csv.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import ray
from ray import tune
from ray.tune.schedulers import PopulationBasedTraining

from a3c_ray.tune import a3c_trainable, trial_resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--stop-steps", type=int, default=300_000)
    parser.add_argument("--pbt", action="store_true", help="PBT of the learning rate instead of a random search")
    parser.add_argument("--out", default="experiments/results/tune.csv")
    args = parser.parse_args()
    ray.init(include_dashboard=False, dashboard_host="127.0.0.1")
    scheduler, trainable = None, a3c_trainable
    if args.pbt:
        interval = 10  # reports (one every report_interval_s); the trainable checkpoints on the same beat
        scheduler = PopulationBasedTraining(time_attr="training_iteration", perturbation_interval=interval,
                                            hyperparam_mutations={"lr": tune.loguniform(3e-4, 3e-3)})
        trainable = tune.with_parameters(a3c_trainable, checkpoint_every=interval)
    tuner = tune.Tuner(
        tune.with_resources(trainable, trial_resources(args.workers)),
        param_space={"env": "CartPole-v1", "workers": args.workers, "stop_steps": args.stop_steps,
                     "lr": tune.loguniform(3e-4, 3e-3), "entropy_coef": tune.choice([0.0, 0.01]),
                     "rollout_length": tune.choice([8, 16, 32])},
        tune_config=tune.TuneConfig(num_samples=args.samples, metric="episode_return_mean", mode="max",
                                    scheduler=scheduler),
        run_config=tune.RunConfig(checkpoint_config=tune.CheckpointConfig(num_to_keep=4)),
    )
    frame = tuner.fit().get_dataframe()
    columns = ["config/lr", "config/entropy_coef", "config/rollout_length", "episode_return_mean", "env_steps",
               "time_s", "solved"]
    print(frame[columns].sort_values("episode_return_mean", ascending=False).to_string(index=False))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
