"""A3C-LSTM: the loss's unroll is the acting loop, the state resets where episodes start, gradients reach the core."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from a3c_ray.config import Config
from a3c_ray.core.model import ActorCritic, reset_where
from a3c_ray.core.worker import RolloutWorker
from conftest import tiny_config


def test_unroll_matches_stepping_with_resets_in_the_middle():
    torch.manual_seed(0)
    model = ActorCritic(gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(3), Config(lstm=True, lstm_size=8,
                                                                                     stop_steps=1))
    steps, n = 7, 3
    obs = torch.randn(steps, n, 2)
    resets = torch.zeros(steps, n, dtype=bool)
    resets[2, 0] = resets[4, 1] = resets[4, 2] = resets[5, 0] = True  # episodes starting mid-rollout
    start = (torch.randn(n, 8), torch.randn(n, 8))  # carried over from the previous rollout
    params, values, after = model.unroll(obs, start, resets)
    state, want_params, want_values = start, [], []
    for t in range(steps):  # what the rollout did, one step at a time
        state = reset_where(state, resets[t])
        want_values.append(model.value(obs[t], state))
        p, state = model.act(obs[t], state)
        want_params.append(p)
        torch.testing.assert_close(after[t][0], state[0])
    torch.testing.assert_close(params, torch.cat(want_params))
    torch.testing.assert_close(values, torch.cat(want_values))
    fresh = model.unroll(obs[2:3, :1], model.initial_state(1), torch.zeros(1, 1, dtype=bool))[0]
    torch.testing.assert_close(params[2 * n:2 * n + 1], fresh)  # a reset row sees no trace of the past


@pytest.mark.parametrize("env,native", [("a3c_ray/CartPoleNoVel-v1", False), ("CartPole-v1", True)])
def test_state_is_zero_wherever_an_episode_starts(tmp_path, env, native):
    config = tiny_config(tmp_path, env=env, lstm=True, lstm_size=8, envs_per_worker=4, native_vector_env=native)
    worker = RolloutWorker(config, 0)
    seen = []
    act = worker.model.act
    worker.model.act = lambda obs, state: (seen.append(state[0].clone()), act(obs, state))[1]
    rollouts = [worker.collector.collect(40) for _ in range(3)]
    inputs = torch.stack(seen).reshape(3, 40, 4, 8)
    for k, rollout in enumerate(rollouts):
        ended = rollout.terminated | rollout.truncated | ~rollout.valid
        np.testing.assert_array_equal(rollout.resets[1:], ended[:-1])  # episode ends and vector reset rows
        if k:
            prev = rollouts[k - 1]
            np.testing.assert_array_equal(rollout.resets[0], (prev.terminated | prev.truncated | ~prev.valid)[-1])
        assert rollout.resets.any()
        assert not inputs[k][torch.from_numpy(rollout.resets)].any()  # the state fed in there is zero
        assert inputs[k][torch.from_numpy(~rollout.resets)].abs().sum() > 0
    if native:
        assert not all(r.valid.all() for r in rollouts)


def test_gradient_reaches_the_lstm(tmp_path):
    config = tiny_config(tmp_path, env="a3c_ray/CartPoleNoVel-v1", lstm=True, lstm_size=8, rollout_length=16)
    worker = RolloutWorker(config, 0)
    gradients = worker.gradients_for(worker.collector.collect(16), version=0)
    core = worker.model.core
    assert core.weight_hh.grad is not None and core.weight_hh.grad.abs().sum() > 0  # through time, too
    assert core.weight_ih.grad.abs().sum() > 0 and np.isfinite(gradients.grads).all()


def test_lstm_checkpoint_refused_for_other_settings(tmp_path):
    from a3c_ray.core.learner import Learner

    lstm = Learner(tiny_config(tmp_path, lstm=True, lstm_size=8))
    plain = Learner(tiny_config(tmp_path))
    with pytest.raises(RuntimeError):
        plain.model.load_state_dict(lstm.model.state_dict())
