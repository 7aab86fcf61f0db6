"""Every space a3c_ray takes: how observations become arrays, how action rows reach env.step, the action
distributions, and runs end to end (serial, with greedy evaluation, checkpoints and --lstm)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from space_envs import ACTIONS, OBSERVATIONS, env_id

from a3c_ray import evaluate, train
from a3c_ray.core.distributions import Bernoulli, MultiCategorical, distribution_for
from a3c_ray.core.model import build_model
from a3c_ray.envs.spaces import ActionCodec, is_image, observation_layout
from a3c_ray.errors import EnvError
from conftest import run_cli, tiny_config


def test_the_image_rule_is_rank_3_compact_and_large_enough():
    assert is_image(OBSERVATIONS["Image"]) and is_image(spaces.Box(0, 1, (10, 10, 4), bool))
    assert not is_image(OBSERVATIONS["Box3dFloat"])  # a float feature tensor is flattened, not a picture
    assert not is_image(OBSERVATIONS["TinyImage"])  # smaller than the CNN's kernel: flattened
    assert not is_image(spaces.Box(0, 255, (84, 84), np.uint8))  # rank 2: flattened, as SB3


@pytest.mark.parametrize("name, size", [("Box2d", 12), ("Box3dFloat", 210), ("TinyImage", 12), ("Discrete", 5),
                                        ("MultiDiscrete", 5), ("MultiBinary", 4), ("Dict", 7), ("Tuple", 5),
                                        ("Nested", 5), ("DictImage", 67)])
def test_flattened_observations_have_gymnasiums_size(name, size):
    layout = observation_layout(OBSERVATIONS[name])
    assert layout.shape == (size,) and size == gym.spaces.flatdim(OBSERVATIONS[name])
    encoded = layout.encode_batch([OBSERVATIONS[name].sample() for _ in range(3)])
    assert encoded.shape == (3, size) and encoded.dtype == np.float32


def test_discrete_observations_are_one_hot_whatever_their_start():
    layout = observation_layout(OBSERVATIONS["Discrete"])  # Discrete(5, start=3)
    assert layout.encode(3).tolist() == [1, 0, 0, 0, 0] and layout.encode(7).tolist() == [0, 0, 0, 0, 1]


def test_an_image_inside_a_dict_is_located_and_left_out_of_normalisation():
    layout = observation_layout(OBSERVATIONS["DictImage"])  # gymnasium flattens Dict keys in order: image, pos
    (leaf,) = layout.images
    assert (leaf.offset, leaf.shape, leaf.uint8) == (0, (8, 8, 1), True)
    obs = {"image": np.full((8, 8, 1), 200, np.uint8), "pos": np.array([0.5, -0.5, 0.25], np.float32)}
    encoded = layout.encode(obs)
    assert (encoded[:64] == 200).all() and encoded[64:].tolist() == [0.5, -0.5, 0.25]
    assert layout.normalize_mask().sum() == 3 and not layout.normalize_mask()[:64].any()


def test_a_lone_image_stays_compact():
    layout = observation_layout(OBSERVATIONS["Image"])
    assert layout.image and layout.encode_batch([OBSERVATIONS["Image"].sample()] * 2).dtype == np.uint8


@pytest.mark.parametrize("space, rows, expected", [
    (spaces.Discrete(2, start=-1), np.array([0, 1]), [-1, 0]),
    (spaces.MultiDiscrete([2, 3], start=[5, 0]), np.array([[1, 2], [0, 0]]), [[6, 2], [5, 0]]),
    (spaces.MultiBinary(3), np.array([[1, 0, 1], [0, 0, 0]], np.int8), [[1, 0, 1], [0, 0, 0]]),
    (spaces.Box(-1.0, 1.0, (2, 2), np.float32), np.array([[2.0, -0.5, 0.0, -3.0]], np.float32), [[[1.0, -0.5],
                                                                                                   [0.0, -1.0]]]),
])
def test_action_rows_reach_env_step_in_the_spaces_own_terms(space, rows, expected):
    env_actions = ActionCodec(space).to_env(rows)
    assert [np.asarray(a).tolist() for a in env_actions] == expected
    assert all(space.contains(np.asarray(a, dtype=space.dtype) if not isinstance(space, spaces.Discrete) else a)
               for a in env_actions)


def test_dict_and_tuple_actions_are_refused_in_one_line():
    with pytest.raises(EnvError, match="Tuple.*not supported; supported: Discrete, MultiDiscrete"):
        ActionCodec(spaces.Tuple((spaces.Discrete(2), spaces.Discrete(2))), env_id="x")


def test_a_text_observation_is_refused_naming_the_space():
    with pytest.raises(EnvError, match="Text.*supported: Box \\(any rank\\)"):
        observation_layout(spaces.Dict({"t": spaces.Text(5)}), "x")


def test_multi_categorical_matches_torch_distributions():
    dist = MultiCategorical([2, 3])
    params = torch.randn(6, 5)
    actions = torch.tensor([[0, 2], [1, 0], [1, 1], [0, 0], [1, 2], [0, 1]])
    expected = (torch.distributions.Categorical(logits=params[:, :2]).log_prob(actions[:, 0])
                + torch.distributions.Categorical(logits=params[:, 2:]).log_prob(actions[:, 1]))
    entropy = (torch.distributions.Categorical(logits=params[:, :2]).entropy()
               + torch.distributions.Categorical(logits=params[:, 2:]).entropy())
    assert torch.allclose(dist.log_prob(params, actions), expected, atol=1e-6)
    assert torch.allclose(dist.entropy(params), entropy, atol=1e-6)
    assert dist.mode(params.numpy()).tolist() == torch.stack([params[:, :2].argmax(1), params[:, 2:].argmax(1)],
                                                             1).tolist()


def test_bernoulli_matches_torch_distributions_and_samples_its_probabilities():
    dist = Bernoulli(3)
    params = torch.tensor([[-2.0, 0.0, 3.0]])
    bits = torch.tensor([[1, 0, 1]])
    reference = torch.distributions.Bernoulli(logits=params)
    assert torch.allclose(dist.log_prob(params, bits), reference.log_prob(bits.float()).sum(1), atol=1e-6)
    assert torch.allclose(dist.entropy(params), reference.entropy().sum(1), atol=1e-6)
    draws = dist.sample(np.repeat(params.numpy(), 20_000, axis=0), np.random.default_rng(0))
    assert np.allclose(draws.mean(axis=0), torch.sigmoid(params).numpy()[0], atol=0.01)


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_the_model_has_one_head_output_per_distribution_parameter(action):
    space = ACTIONS[action]
    dist = distribution_for(space)
    model = build_model(tiny_config_config(), OBSERVATIONS["Dict"], space)
    params, _ = model.act(torch.zeros(4, 7))
    sample = dist.sample(params.detach().numpy(), np.random.default_rng(0))
    assert params.shape[1] >= dist.param_dim and len(sample) == 4
    assert dist.log_prob(params, torch.from_numpy(np.asarray(sample))).shape == (4,)


def tiny_config_config():
    from a3c_ray.config import make_config

    return make_config("CartPole-v1")


# End to end: every observation with a Discrete action, every action with a Dict observation.
CASES = [(obs, "Discrete") for obs in sorted(OBSERVATIONS)] + [("Dict", act) for act in sorted(ACTIONS)
                                                                 if act != "Discrete"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Each case trained once, without and with an LSTM core (serial, 320 env steps): runs to evaluate and
    export."""
    root, cache = tmp_path_factory.mktemp("spaces"), {}

    def run(observation: str, action: str, lstm: bool):
        key = (observation, action, lstm)
        if key not in cache:
            cache[key] = train(tiny_config(root / "-".join(map(str, key)), env=env_id(observation, action),
                                           stop_steps=320, eval_interval_steps=0, lstm=lstm, lstm_size=16))
        return cache[key]

    return run


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lstm", [False, True], ids=["mlp", "lstm"])
@pytest.mark.parametrize("observation, action", CASES)
def test_each_space_trains_and_evaluates_greedily(trained, observation, action, lstm):
    result = trained(observation, action, lstm)
    assert result.summary["env_steps"] >= 320 and result.summary["skipped_updates"] == 0
    assert len(result.episodes) >= 10  # 20-step episodes
    returns = evaluate(result.run_dir, episodes=3)
    assert len(returns) == 3 and all(0 <= r <= 20 for r in returns)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["torchscript", "onnx"])
@pytest.mark.parametrize("lstm", [False, True], ids=["mlp", "lstm"])
@pytest.mark.parametrize("observation, action", CASES)
def test_each_space_exports_and_agrees_with_predict(trained, tmp_path, observation, action, lstm, fmt):
    """The exported file's greedy action equals predict(deterministic=True) on 200 sampled observations."""
    from test_policy import exported_actions, observations

    from a3c_ray import load_policy
    from a3c_ray.run.export import export_policy

    policy = load_policy(trained(observation, action, lstm).run_dir)
    path = export_policy(policy, tmp_path / f"policy.{fmt}", fmt)
    batch, columns = observations(policy, 200)
    expected, state = policy.predict(batch, deterministic=True)
    got = exported_actions(path, fmt, columns, state)
    assert got[0].shape == expected.shape
    assert np.allclose(got[0], expected, atol=1e-5) if expected.dtype.kind == "f" else (got[0] == expected).all()


def test_a_dict_run_resumes_from_its_checkpoint(tmp_path):
    first = train(tiny_config(tmp_path, env=env_id("DictImage", "MultiBinary"), stop_steps=160, eval_interval_steps=0))
    from a3c_ray.run.run_dir import resume_config

    again = train(resume_config(first.run_dir, stop_steps=480), resume=True)
    assert again.summary["env_steps"] >= 480 and again.summary["updates"] > first.summary["updates"]


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("observation, action", [("Dict", "MultiDiscrete"), ("DictImage", "DiscreteStart"),
                                                 ("Discrete", "MultiBinary"), ("Tuple", "Box2d")])
def test_the_policy_learns_to_read_its_observation(tmp_path, observation, action):
    """Reward 1 a step for matching a bit hidden in the observation: 10 of 20 by chance, 20 when read."""
    result = train(tiny_config(tmp_path, env=env_id(observation, action), envs_per_worker=8, rollout_length=8,
                               stop_steps=40_000, stop_return=18.0, eval_interval_steps=4_000, eval_episodes=10,
                               report_interval_s=1.0))
    first = result.episodes["return"].head(50).mean()
    assert result.summary["best_eval_return"] >= 18.0, (first, result.summary["best_eval_return"])


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("env", ["a3c_ray/DictReach-v0", "a3c_ray/MultiDiscreteMatch-v0"])
@pytest.mark.parametrize("backend", ["ray", "mp"])
def test_a_dict_observation_and_a_multidiscrete_action_train_on_the_parallel_backends(tmp_path, backend, env,
                                                                                        ray_session):
    result = train(tiny_config(tmp_path, env=env, backend=backend, workers=2, stop_steps=3_000,
                               eval_interval_steps=0))
    assert result.summary["env_steps"] >= 3_000 and result.summary["gradients"] > 0
    assert result.summary["skipped_updates"] == 0


@pytest.mark.timeout(120)
def test_a_dict_run_writes_a_video(trained, tmp_path):
    gif = tmp_path / "dict.gif"
    returns = evaluate(trained("DictImage", "MultiBinary", False).run_dir, episodes=1, video=gif)
    assert len(returns) == 1 and gif.is_file() and gif.stat().st_size > 100


def test_the_cli_takes_env_kwargs_and_records_them(tmp_path):
    out = tmp_path / "lake"
    done = run_cli("train", "--env", "FrozenLake-v1", "--env-kwargs", '{"is_slippery": false}', "--backend",
                   "serial", "--workers", "1", "--stop-steps", "500", "--no-progress-bar", "--eval-interval-steps",
                   "0", "--out", str(out))
    assert done.returncode == 0, done.stderr
    from a3c_ray import load_run

    assert load_run(out).config.env_kwargs == {"is_slippery": False}


@pytest.mark.parametrize("text, words", [('{"is_slippery": fals}', ["--env-kwargs", "JSON object"]),
                                         ('[1, 2]', ["--env-kwargs", "JSON object"]),
                                         ('{"no_such_kwarg": 1}', ["does not take --env-kwargs", "no_such_kwarg"])])
def test_bad_env_kwargs_are_one_line(tmp_path, text, words):
    done = run_cli("train", "--env", "FrozenLake-v1", "--env-kwargs", text, "--backend", "serial", "--out",
                   str(tmp_path / "x"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert all(w in done.stderr for w in words), done.stderr


def test_a_run_of_an_env_module_in_the_working_directory_evaluates_from_there(tmp_path):
    """The installed `a3c-ray` command does not put the working directory on sys.path (`python -m` does)."""
    import subprocess
    import sys
    from pathlib import Path

    from conftest import cli_env

    (tmp_path / "my_env_module.py").write_text(
        "import gymnasium as gym\n"
        "gym.register('MyCart-v0', entry_point='gymnasium.envs.classic_control.cartpole:CartPoleEnv', "
        "max_episode_steps=50)\n")
    command = str(Path(sys.executable).parent / "a3c-ray")
    env = {k: v for k, v in cli_env().items() if k != "PYTHONPATH"}
    trained = subprocess.run([command, "train", "--env", "my_env_module:MyCart-v0", "--backend", "serial",
                              "--workers", "1", "--stop-steps", "300", "--no-progress-bar", "--eval-interval-steps",
                              "0", "--out", "run"], cwd=tmp_path, env=env, capture_output=True, text=True,
                             timeout=120)
    assert trained.returncode == 0, trained.stderr
    evaluated = subprocess.run([command, "evaluate", "run", "--episodes", "2"], cwd=tmp_path, env=env,
                               capture_output=True, text=True, timeout=120)
    assert evaluated.returncode == 0 and "greedy return over 2 episodes" in evaluated.stdout, evaluated.stderr
