"""Action distributions: shapes, agreement with torch.distributions, sampling frequencies, clipping into env.step."""

import dataclasses

import gymnasium as gym
import numpy as np
import pytest
import torch

from a3c_ray.config import Config
from a3c_ray.core.distributions import Categorical, DiagGaussian
from a3c_ray.core.model import ActorCritic
from a3c_ray.envs.loop_group import EnvGroup


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


@pytest.mark.parametrize("lstm", [False, True])
def test_no_ortho_init_keeps_pytorchs_default_init(lstm):
    obs_space, space = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Box(-2, 2, (1,))
    config = Config(stop_steps=1, lstm=lstm, lstm_size=8, hidden_sizes=(16, 16))
    torch.manual_seed(0)
    default = ActorCritic(obs_space, space, dataclasses.replace(config, ortho_init=False))
    torch.manual_seed(0)
    ortho = ActorCritic(obs_space, space, config)
    torch.manual_seed(0)  # the same layers, built plainly in the same order
    plain = [type(m)(*shape) for m, shape in _layers(default)]
    for built, ref in zip([m for m, _ in _layers(default)], plain):
        for a, b in zip(built.parameters(), ref.parameters()):
            assert torch.equal(a, b)
    linears = [m for m, _ in _layers(ortho) if isinstance(m, torch.nn.Linear)]
    assert all(_largest(m.bias) == 0.0 for m in linears)  # orthogonal: zero biases, a 0.01-gain output
    actor_out = ortho.actor_head[-1] if lstm else ortho.actor[-1]
    assert _largest(actor_out.weight) < 0.01 < _largest(linears[0].weight)


def _largest(tensor: torch.Tensor) -> float:
    return tensor.detach().abs().max().item()


def _layers(model):
    """(module, constructor args) of each layer with parameters, in construction order."""
    for m in model.modules():
        if isinstance(m, torch.nn.Linear):
            yield m, (m.in_features, m.out_features)
        elif isinstance(m, torch.nn.LSTMCell):
            yield m, (m.input_size, m.hidden_size)


def test_box_actions_are_clipped_only_into_env_step(monkeypatch):
    group = EnvGroup("Pendulum-v1", 2, seed=0)
    seen = []
    original = group.envs[0].step
    monkeypatch.setattr(group.envs[0], "step", lambda a: (seen.append(np.array(a)), original(a))[1])
    raw = np.array([[5.0], [-0.5]], dtype=np.float32)
    group.step(raw)
    assert seen[0].tolist() == [2.0]  # Pendulum's bound
    assert raw.tolist() == [[5.0], [-0.5]]  # the sample the loss sees is untouched


def gsde_model(**overrides) -> ActorCritic:
    env = gym.make("Pendulum-v1")
    config = Config(env="Pendulum-v1", gsde=True, log_std_init=-1.0, stop_steps=1, **overrides)
    return ActorCritic(env.observation_space, env.action_space, config)


def test_gsde_policy_is_the_state_dependent_gaussian_and_its_noise_is_z_times_w():
    torch.manual_seed(0)
    model = gsde_model()
    obs = torch.randn(5, 3)
    model.draw_noise(5, np.random.default_rng(0))
    with torch.no_grad():
        params, _ = model.act(obs)
        z = model.actor[:-1](obs)
        mean = model.actor[-1](z)
        std = torch.sqrt(z.pow(2) @ torch.exp(2 * model.log_std) + 1e-6)  # SB3's gSDE variance (full_std)
    assert params.shape == (5, 3)  # mean, log std, this rollout's noise
    torch.testing.assert_close(params[:, 1:2], torch.log(std))
    torch.testing.assert_close(params[:, 2:], torch.bmm(z.unsqueeze(1), model.noise_weights).squeeze(1))
    actions = torch.from_numpy(model.dist.sample(params.numpy(), np.random.default_rng(1)))
    torch.testing.assert_close(actions, mean + params[:, 2:])  # no fresh noise: the rollout's own
    ref = torch.distributions.Normal(mean, std)
    torch.testing.assert_close(model.dist.log_prob(params, actions), ref.log_prob(actions).sum(1))
    again, _ = model.act(obs)
    torch.testing.assert_close(again, params)  # the same state gets the same noise within a rollout
    model.draw_noise(5, np.random.default_rng(2))
    assert not torch.allclose(model.act(obs)[0][:, 2:], params[:, 2:])  # a new rollout, new noise


def test_gsde_noise_has_the_policy_variance_and_trains_the_log_std():
    torch.manual_seed(0)
    model = gsde_model()
    obs = torch.randn(1, 3).expand(20000, 3)  # one state, 20000 draws of W
    model.draw_noise(20000, np.random.default_rng(0))
    with torch.no_grad():
        params, _ = model.act(obs)
    noise_std = params[:, 2].std().item()
    assert abs(noise_std - params[0, 1].exp().item()) < 0.03 * noise_std
    flat, values, _ = model.unroll(torch.randn(4, 2, 3), None, torch.zeros(4, 2, dtype=torch.bool))
    assert flat.shape == (8, 2)  # no noise block in the loss's params
    model.dist.log_prob(flat, torch.randn(8, 1)).sum().backward()
    assert model.log_std.shape == (64, 1) and model.log_std.grad.abs().sum() > 0


def test_gsde_needs_box_actions():
    from a3c_ray.errors import ConfigError

    env = gym.make("CartPole-v1")
    with pytest.raises(ConfigError, match="--gsde"):
        ActorCritic(env.observation_space, env.action_space, Config(gsde=True, stop_steps=1))


def test_gsde_worker_rollout_gives_a_gradient_of_the_noise_map(tmp_path):
    from a3c_ray.core.learner import Learner
    from a3c_ray.core.worker import RolloutWorker
    from conftest import tiny_config

    config = tiny_config(tmp_path, env="Pendulum-v1", gsde=True, log_std_init=-2.0)
    worker = RolloutWorker(config, 0)
    gradients = worker.compute_gradients(Learner(config).weights())
    assert gradients.env_steps == 16 and np.isfinite(gradients.metrics["grad_norm"])
    std_grads = worker.model.log_std.grad
    assert std_grads.shape == (64, 1) and std_grads.abs().sum() > 0


def test_plain_gaussian_worker_on_the_loop_of_single_pendulums(tmp_path):
    """The Pendulum preset turns gSDE and the batched env on: the state-independent std and EnvGroup's Box path
    keep a test of their own."""
    from a3c_ray.core.learner import Learner
    from a3c_ray.core.worker import RolloutWorker
    from conftest import tiny_config

    config = tiny_config(tmp_path, env="Pendulum-v1", gsde=False, native_vector_env=False)
    worker = RolloutWorker(config, 0)
    assert isinstance(worker.envs, EnvGroup)
    gradients = worker.compute_gradients(Learner(config).weights())
    assert gradients.env_steps == 16 and np.isfinite(gradients.metrics["grad_norm"])
    assert worker.model.log_std.shape == (1,) and worker.model.log_std.grad.abs().sum() > 0
