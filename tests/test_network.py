"""Your network: --encoder module:Class in front of the core and heads, separate actor and critic widths, and the
activations; on every backend and with --lstm."""

from __future__ import annotations

import pytest
import torch
from space_envs import OBSERVATIONS, env_id

from a3c_ray import train
from a3c_ray.config import make_config
from a3c_ray.core.model import build_model
from a3c_ray.errors import ConfigError
from conftest import run_cli, tiny_config

DICT = OBSERVATIONS["Dict"]


def model(**overrides):
    return build_model(make_config("CartPole-v1", **overrides), DICT, __import__("gymnasium").spaces.Discrete(2))


def test_a_custom_encoder_sits_in_front_of_the_core_and_heads():
    net = model(encoder="custom_encoders:Bilinear", lstm=True, lstm_size=8)
    assert type(net.encoder).__name__ == "Bilinear" and net.core.input_size == 32 and net.recurrent
    params, state = net.act(torch.zeros(3, 7), net.initial_state(3))
    assert params.shape == (3, 2) and state[0].shape == (3, 8)


def test_actor_and_critic_widths_and_activation_are_their_own():
    net = model(actor_sizes=(32,), critic_sizes=(16, 8), activation="gelu")
    linear = [m.out_features for m in net.actor if isinstance(m, torch.nn.Linear)]
    assert linear == [32, 2] and [m.out_features for m in net.critic if isinstance(m, torch.nn.Linear)] == [16, 8, 1]
    assert any(isinstance(m, torch.nn.GELU) for m in net.actor)


@pytest.mark.parametrize("spec, words", [("custom_encoders:Nope", ["cannot be imported", "Nope"]),
                                         ("no_such_module:X", ["cannot be imported", "no_such_module"]),
                                         ("custom_encoders:NotAModule", ["not a torch.nn.Module"]),
                                         ("custom_encoders:WrongShape", ["[batch, F]", "(2, 3, 4)"])])
def test_a_bad_encoder_is_one_clear_error(spec, words):
    with pytest.raises(ConfigError) as error:
        model(encoder=spec)
    assert all(w in str(error.value) for w in words)


def test_an_encoder_must_be_named_as_module_colon_class():
    with pytest.raises(ConfigError, match="'module:Class'"):
        make_config("CartPole-v1", encoder="custom_encoders.Bilinear").validate()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lstm", [False, True])
def test_an_image_encoder_of_your_own_trains_serially(tmp_path, lstm):
    result = train(tiny_config(tmp_path, env=env_id("Image", "Discrete"), encoder="custom_encoders:TinyConv",
                               lstm=lstm, lstm_size=8, stop_steps=240, eval_interval_steps=0))
    assert result.summary["env_steps"] >= 240 and result.summary["skipped_updates"] == 0


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["ray", "mp"])
def test_a_custom_encoder_trains_on_the_parallel_backends(tmp_path, backend):
    """Through the real CLI: the workers import the encoder's module themselves (PYTHONPATH holds tests/)."""
    out = tmp_path / "run"
    done = run_cli("train", "--env", "a3c_ray/DictReach-v0", "--backend", backend, "--encoder",
                   "custom_encoders:Bilinear", "--lstm", "--lstm-size", "16", "--stop-steps", "3000",
                   "--eval-interval-steps", "0", "--no-progress-bar", "--out", str(out), timeout=240)
    assert done.returncode == 0, done.stderr
    from a3c_ray import load_run

    summary = load_run(out).summary
    assert summary["env_steps"] >= 3000 and summary["gradients"] > 0 and summary["skipped_updates"] == 0
