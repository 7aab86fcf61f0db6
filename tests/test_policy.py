"""The policy a user holds: load_policy + predict (SB3's signature), and export to TorchScript and ONNX."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
from space_envs import env_id

import a3c_ray
from a3c_ray.run.export import export_policy, run_exported, sample_observations
from conftest import run_cli, tiny_config

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Short serial runs of a few spaces (trained enough that the greedy action is not a coin toss)."""
    out = tmp_path_factory.mktemp("policies")
    specs = {"cartpole": dict(env="CartPole-v1", stop_steps=6_000),
             "dict": dict(env=env_id("Dict", "MultiDiscrete"), stop_steps=3_000),
             "lstm": dict(env=env_id("Tuple", "Box2d"), stop_steps=2_000, lstm=True, lstm_size=16),
             "image": dict(env=env_id("DictImage", "MultiBinary"), stop_steps=1_000),
             "minatar": dict(env="MinAtar/Breakout-v1", stop_steps=1_000, envs_per_worker=4)}
    return {name: a3c_ray.train(tiny_config(out / name, eval_interval_steps=0, **spec)).run_dir
            for name, spec in specs.items()}


def observations(policy, n, seed=1):
    return sample_observations(policy, n, seed)


def test_predict_takes_one_observation_or_a_batch(runs):
    policy = a3c_ray.load_policy(runs["dict"])
    batch, _ = observations(policy, 5)
    actions, state = policy.predict(batch, deterministic=True)
    assert actions.shape == (5, 2) and state is None
    single = {key: value[3] for key, value in batch.items()}
    action, _ = policy.predict(single, deterministic=True)
    assert action.tolist() == actions[3].tolist() and policy.action_space.contains(action)


def test_predict_is_the_greedy_evaluations_action(runs):
    """deterministic=True is the mode evaluate() plays: the same return on the same seeds."""
    policy = a3c_ray.load_policy(runs["cartpole"])
    env = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=10_000)
    total, done = 0.0, False
    while not done:
        action, _ = policy.predict(obs, deterministic=True)
        obs, reward, terminated, truncated, _ = env.step(int(action))
        total += reward
        done = terminated or truncated
    assert total == a3c_ray.evaluate(runs["cartpole"], episodes=1)[0]


def test_sampled_actions_follow_the_policy_not_its_mode(runs):
    policy = a3c_ray.load_policy(runs["dict"], seed=3)
    batch, _ = observations(policy, 200)
    sampled, _ = policy.predict(batch)
    greedy, _ = policy.predict(batch, deterministic=True)
    assert all(policy.action_space.contains(a) for a in sampled)
    assert 0 < (sampled != greedy).any(axis=1).mean() < 1


def test_predict_carries_the_recurrent_state(runs):
    policy = a3c_ray.load_policy(runs["lstm"])
    batch, _ = observations(policy, 3)
    first, state = policy.predict(batch, deterministic=True)
    assert state[0].shape == (3, 16) and np.abs(state[0]).sum() > 0
    again, _ = policy.predict(batch, state=state, episode_start=[True, True, True], deterministic=True)
    assert np.allclose(again, first)  # a reset state is the initial state


def test_an_observation_of_the_wrong_shape_is_refused():
    from a3c_ray.run.policy import is_batch

    with pytest.raises(ValueError, match=r"shape \(3,\).*Box.*\(4,\)"):
        is_batch(np.zeros(3), gym.spaces.Box(-1, 1, (4,)))


def exported_actions(path, fmt, columns, state):
    return run_exported(path, fmt, columns, state)


@pytest.mark.parametrize("name", ["cartpole", "dict", "lstm", "image", "minatar"])
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
def test_an_export_agrees_with_predict_on_a_thousand_observations(runs, tmp_path, name, fmt):
    policy = a3c_ray.load_policy(runs[name])
    path = export_policy(policy, tmp_path / f"policy.{fmt}", fmt)
    batch, columns = observations(policy, 1000)
    expected, state = policy.predict(batch, deterministic=True)
    got = exported_actions(path, fmt, columns, state)
    assert got[0].shape == expected.shape
    if expected.dtype.kind == "f":
        assert np.allclose(got[0], expected, atol=1e-5)
    else:
        assert (got[0] == expected).all()
    if state is not None:
        assert np.allclose(got[1], state[0], atol=1e-5) and np.allclose(got[2], state[1], atol=1e-5)


def test_the_cli_exports_a_file_that_loads_without_a3c_ray(runs, tmp_path):
    out = tmp_path / "cartpole.pt"
    done = run_cli("export", str(runs["cartpole"]), "--out", str(out))
    assert done.returncode == 0 and out.is_file(), done.stderr
    code = ("import sys; sys.modules['a3c_ray'] = None; import torch; "  # any import of a3c_ray now fails
            f"m = torch.jit.load({str(out)!r}); print(m(torch.zeros(2, 4)).tolist())")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert eval(loaded.stdout) in ([0, 0], [1, 1])  # two equal observations, one greedy action


def test_a_bad_export_format_is_one_line(runs, tmp_path):
    done = run_cli("export", str(runs["cartpole"]), "--out", str(tmp_path / "x"), "--format", "tflite")
    assert done.returncode == 2 and "--format must be one of torchscript, onnx" in done.stderr
