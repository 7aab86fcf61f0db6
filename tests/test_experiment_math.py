"""The arithmetic the experiments' published figures rest on: the noise-scale estimators and prediction
(experiments/noise_scale.py), the ablation's --set parsing (experiments/minatar_suite.py), the
rules comparison's episode count (experiments/minatar_rules.py) and the scaling study's shared results folder
(experiments/scaling.py)."""

import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "experiments"))
from minatar_rules import play  # noqa: E402
from minatar_suite import setting  # noqa: E402
from noise_scale import estimates, predicted_ratio  # noqa: E402
from scaling import COLUMNS, add_row, calibrated_task_ms  # noqa: E402


def test_noise_estimates_recover_a_known_gradient_and_variance():
    """Gradients of b samples: G plus noise of per-sample covariance I (trace S = d). |G|^2 is 0.4 here while the
    noise adds S / (M b) = 0.98 to the mean gradient's squared norm: only the unbiased estimate lands near 0.4."""
    rng = np.random.default_rng(0)
    d, b, m = 4000, 64, 64
    true = rng.normal(size=d) * 0.01
    gradients = [true + rng.normal(size=d) / np.sqrt(b) for _ in range(m)]
    g2, s = estimates(gradients, b)
    assert g2 == pytest.approx(true @ true, rel=0.25)
    assert s == pytest.approx(d, rel=0.05)
    naive = np.mean(gradients, axis=0) @ np.mean(gradients, axis=0)
    assert naive > 2 * true @ true  # what the correction is for


def stages(noise: dict[int, float]) -> pd.DataFrame:
    return pd.DataFrame({"stage": list(noise), "b_noise": list(noise.values())})


def test_predicted_ratio_is_the_model_at_one_noise_scale():
    ratio = predicted_ratio(stages({0: 5.0, 100: 100.0, 200: 100.0}), b_from=50, b_to=1000, until=1000)
    assert ratio == pytest.approx((1 + 1000 / 100) / (1 + 50 / 100))


def test_predicted_ratio_weights_each_stage_by_the_env_steps_it_covers():
    """Stage 0 is left out and the first later stage covers from 0: 30 env steps at B_noise 100, then 20 (to
    `until`) at 1000; the stage past `until` weighs nothing."""
    ratio = predicted_ratio(stages({0: 1.0, 10: 100.0, 30: 1000.0, 80: 1.0}), b_from=100, b_to=1000, until=50)
    first, second = (1 + 1000 / 100) / (1 + 100 / 100), (1 + 1000 / 1000) / (1 + 100 / 1000)
    assert ratio == pytest.approx((30 * first + 20 * second) / 50)


def test_an_unresolved_noise_scale_costs_nothing_extra():
    assert predicted_ratio(stages({10: np.inf}), b_from=100, b_to=10_000, until=100) == pytest.approx(1.0)


def test_ablation_settings_are_read_as_json_where_they_parse():
    assert setting("entropy_coef=0.02") == ("entropy_coef", 0.02)
    assert setting("hidden-sizes=[64, 64]") == ("hidden_sizes", [64, 64])
    assert setting("lr_schedule=linear") == ("lr_schedule", "linear")
    with pytest.raises(ValueError, match="key=value"):
        setting("entropy_coef")


class Countdown(gym.Env):
    """Episodes of `length` steps, a reward of 1 each (an episode's return is its length), ended as terminated or,
    with `truncate`, as truncated (a time limit)."""
    observation_space = gym.spaces.Box(0.0, 1.0, (1,))
    action_space = gym.spaces.Discrete(2)

    def __init__(self, length: int, truncate: bool = False):
        self.length, self.truncate, self.t, self.closed = length, truncate, 0, False

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros(1, dtype=np.float32), {}

    def step(self, action):
        self.t += 1
        end = self.t >= self.length
        return np.zeros(1, dtype=np.float32), 1.0, end and not self.truncate, end and self.truncate, {}

    def close(self):
        self.closed = True


class FirstAction:
    """A policy that always takes action 0, for a batch of observations."""

    def predict(self, observation, deterministic=False):
        return np.zeros(len(observation), dtype=np.int64), None


def test_rules_play_gives_each_env_an_equal_share_of_episodes():
    """Envs with episodes of 1, 2 and 10 steps, 6 episodes: two each (mean 4.33), not the first six to end
    (which would be mostly the 1-step env's). The 10-step env's episodes end by a time limit: counted, as cut."""
    envs = [Countdown(1), Countdown(2), Countdown(10, truncate=True)]
    episodes = play(FirstAction(), envs, episodes=6, deterministic=True)
    assert sorted(episodes["return"]) == [1, 1, 2, 2, 10, 10]
    assert sorted(episodes["length"]) == [1, 1, 2, 2, 10, 10]
    assert episodes["cut"].sum() == 2 and episodes.loc[episodes["cut"], "length"].tolist() == [10, 10]
    assert all(env.closed for env in envs)


def test_scaling_rows_from_two_invocations_all_stay(tmp_path):
    """Each invocation appends its run's row to the csv as it is on disk, not to the copy it read at its start."""
    csv = tmp_path / "scaling.csv"

    def row(mode: str, seed: int) -> pd.DataFrame:
        return pd.DataFrame([{**dict.fromkeys(COLUMNS), "env": "E", "mode": mode, "seed": seed}])

    add_row(csv, row("async", 0))
    add_row(csv, row("sync", 0))  # the other invocation, which read the folder before the first row was written
    add_row(csv, row("async", 1))
    frame = pd.read_csv(csv)
    assert list(zip(frame["mode"], frame["seed"])) == [("async", 0), ("sync", 0), ("async", 1)]


def test_scaling_task_time_is_measured_once_per_folder(tmp_path, monkeypatch):
    """A second invocation draws from the task time the first measured (stored in task_ms.json), not its own."""
    from a3c_ray import make_config

    config = make_config("CartPole-v1")
    first = calibrated_task_ms(config, tmp_path)
    assert 0 < first < 1000

    def no_second_measurement(*args, **kwargs):
        raise AssertionError("measured again")

    monkeypatch.setattr("a3c_ray.core.worker.RolloutWorker", no_second_measurement)
    assert calibrated_task_ms(config, tmp_path) == first
    other = make_config("CartPole-v1", envs_per_worker=4)
    with pytest.raises(AssertionError, match="measured again"):
        calibrated_task_ms(other, tmp_path)  # another batch is another key
