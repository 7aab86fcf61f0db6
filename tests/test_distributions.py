"""Action distributions: shapes, agreement with torch.distributions, sampling frequencies, clipping into env.step."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from a3c_ray.config import Config
from a3c_ray.distributions import Categorical, DiagGaussian
from a3c_ray.envs import EnvGroup
from a3c_ray.model import ActorCritic


def test_categorical_matches_torch():
    dist = Categorical(3)
    logits = torch.tensor([[0.1, 2.0, -1.0], [0.0, 0.0, 0.0]])
    actions = torch.tensor([1, 2])
    ref = torch.distributions.Categorical(logits=logits)
    torch.testing.assert_close(dist.log_prob(logits, actions), ref.log_prob(actions))
    torch.testing.assert_close(dist.entropy(logits), ref.entropy())


def test_categorical_sample_frequencies_and_mode():
    dist = Categorical(3)
    logits = np.log(np.array([[0.2, 0.5, 0.3]] * 20000, dtype=np.float32))
    samples = dist.sample(logits, np.random.default_rng(0))
    assert samples.shape == (20000,)
    np.testing.assert_allclose(np.bincount(samples, minlength=3) / 20000, [0.2, 0.5, 0.3], atol=0.015)
    assert dist.mode(logits[:2]).tolist() == [1, 1]


def test_gaussian_matches_torch():
    dist = DiagGaussian(2)
    params = torch.tensor([[0.5, -1.0, 0.1, -0.3]])  # means, log stds
    actions = torch.tensor([[0.0, 2.0]])
    ref = torch.distributions.Normal(params[:, :2], params[:, 2:].exp())
    torch.testing.assert_close(dist.log_prob(params, actions), ref.log_prob(actions).sum(1))
    torch.testing.assert_close(dist.entropy(params), ref.entropy().sum(1))


def test_gaussian_sample_shape_and_spread():
    dist = DiagGaussian(2)
    params = np.tile(np.array([[1.0, -1.0, np.log(0.5), 0.0]], dtype=np.float32), (20000, 1))
    samples = dist.sample(params, np.random.default_rng(0))
    assert samples.shape == (20000, 2) and samples.dtype == np.float32
    np.testing.assert_allclose(samples.mean(0), [1.0, -1.0], atol=0.03)
    np.testing.assert_allclose(samples.std(0), [0.5, 1.0], atol=0.03)


@pytest.mark.parametrize("lstm", [False, True])
def test_model_heads_follow_action_space(lstm):
    obs_space = gym.spaces.Box(-1, 1, (4,))
    config = Config(lstm=lstm, lstm_size=16, stop_steps=1)
    for space, width in ((gym.spaces.Box(-2, 2, (3,)), 6), (gym.spaces.Discrete(2), 2)):
        model = ActorCritic(obs_space, space, config)
        params, state = model.act(torch.zeros(5, 4), model.initial_state(5))
        assert params.shape == (5, width) and (state is None) == (not lstm)
        params, values, _ = model.unroll(torch.zeros(3, 5, 4), model.initial_state(5), torch.zeros(3, 5, dtype=bool))
        assert params.shape == (15, width) and values.shape == (15,)


def test_box_actions_are_clipped_only_into_env_step(monkeypatch):
    group = EnvGroup("Pendulum-v1", 2, seed=0)
    seen = []
    original = group.envs[0].step
    monkeypatch.setattr(group.envs[0], "step", lambda a: (seen.append(np.array(a)), original(a))[1])
    raw = np.array([[5.0], [-0.5]], dtype=np.float32)
    group.step(raw)
    assert seen[0].tolist() == [2.0]  # Pendulum's bound
    assert raw.tolist() == [[5.0], [-0.5]]  # the sample the loss sees is untouched
