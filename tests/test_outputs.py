"""What a user watches and shares: TensorBoard scalars of a run, and a clip of the trained agent."""

import math

import pandas as pd
import pytest

from a3c_ray import evaluate, make_config, train
from a3c_ray.run.video import MAX_FRAMES


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("outputs") / "run"
    config = make_config("CartPole-v1", backend="serial", workers=1, envs_per_worker=4, stop_steps=6000,
                         eval_interval_steps=2000, eval_episodes=2, tensorboard=True, progress_bar=False,
                         report_interval_s=0.2, out=str(out))
    return train(config)


def test_tensorboard_events_hold_the_progress_scalars(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run.run_dir / "tb"))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    assert {"episode_return_mean", "policy_loss", "value_loss", "entropy", "env_steps_per_s", "policy_lag_mean",
            "eval_return_mean"} <= tags
    progress = pd.read_csv(run.run_dir / "progress.csv")
    steps = [e.step for e in events.Scalars("policy_loss")]
    # one point per progress row, stepped by env steps (the final row can repeat the last step: one point there)
    assert steps == progress["env_steps"].drop_duplicates(keep="last").tolist()
    evals = pd.read_csv(run.run_dir / "evals.csv")
    written = {e.step: e.value for e in events.Scalars("eval_return_mean")}
    assert len(evals) >= 1 and written == pytest.approx(dict(zip(evals["env_steps"], evals["return_mean"])))


def test_gif_of_a_cartpole_episode_has_its_frames(run, tmp_path):
    import imageio.v3 as iio

    video = tmp_path / "cartpole.gif"
    returns = evaluate(run.run_dir, episodes=1, video=video)
    frames = int(returns[0]) + 1  # CartPole pays 1 a step; the reset frame comes first
    skip = math.ceil(frames / MAX_FRAMES)
    written = len(range(0, frames, skip))
    meta = [iio.immeta(video, index=i) for i in range(len(iio.imread(video, index=None)))]
    # Pillow merges identical consecutive frames into one longer frame; the time they cover is kept
    durations = [m["duration"] for m in meta]
    assert sum(durations) == pytest.approx(written * min(durations), abs=len(meta))
    assert len(meta) <= written and iio.imread(video, index=0).shape[1] <= 320
    assert video.stat().st_size < 4_000_000
