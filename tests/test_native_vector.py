"""Batched numpy envs: CartPole's (gymnasium's, reset steps kept out of the loss) and our Pendulum-v1 (the same
dynamics as gymnasium's, step for step)."""

import numpy as np
import pytest
import torch

from a3c_ray.config import make_config
from a3c_ray.core.worker import RolloutWorker
from a3c_ray.envs.groups import make_env_group
from a3c_ray.envs.loop_group import EnvGroup
from a3c_ray.envs.make import make_env
from a3c_ray.envs.native_vector import NativeVectorGroup, has_native_vector
from a3c_ray.envs.pendulum_vector import PendulumEpisodes, PendulumVector
from a3c_ray.run.evaluation import GymEpisodes, build_policy, greedy_returns, make_eval_envs
from conftest import tiny_config


def random_episode_lengths(group, steps: int, seed: int) -> list[int]:
    rng = np.random.default_rng(seed)
    lengths = []
    for _ in range(steps):
        result = group.step(rng.integers(0, 2, len(group)))
        lengths += [length for _, _, length in result.finished]
        assert all(ret == length for _, ret, length in result.finished)  # CartPole pays 1 per step
    return lengths


def test_native_group_is_picked_only_where_gymnasium_has_one():
    assert has_native_vector("CartPole-v1") and not has_native_vector("Pendulum-v1")
    assert isinstance(make_env_group("CartPole-v1", 2, 0), NativeVectorGroup)
    assert isinstance(make_env_group("CartPole-v1", 2, 0, native_vector=False), EnvGroup)
    assert isinstance(make_env_group("Pendulum-v1", 2, 0), PendulumVector)
    assert isinstance(make_env_group("Pendulum-v1", 2, 0, native_vector=False), EnvGroup)
    assert isinstance(make_env_group("MountainCarContinuous-v0", 2, 0), EnvGroup)


def test_random_policy_episodes_match_the_loop_of_single_envs():
    native = random_episode_lengths(NativeVectorGroup("CartPole-v1", 16, seed=0), 2000, seed=1)
    loop = random_episode_lengths(EnvGroup("CartPole-v1", 16, seed=0), 2000, seed=1)
    assert len(native) > 500 and len(loop) > 500
    assert abs(np.mean(native) - np.mean(loop)) < 0.15 * np.mean(loop)  # ~22 steps for a random policy


def test_reset_step_is_invalid_and_truncation_keeps_the_final_obs():
    group = NativeVectorGroup("CartPole-v1", 4, seed=0, max_episode_steps=5)
    ended = np.zeros(4, dtype=bool)
    truncations = 0
    for _ in range(30):
        result = group.step(np.zeros(4, dtype=np.int64) + (np.arange(4) % 2))
        np.testing.assert_array_equal(result.valid, ~ended)  # the step after an episode's end is its reset
        assert not (result.rewards[~result.valid]).any()
        for i, final in result.final_obs.items():
            assert result.truncated[i]
            truncations += 1
            np.testing.assert_array_equal(final, result.obs[i])  # next-step reset: this step's obs is the last one
        assert all(length <= 5 for _, _, length in result.finished)
        ended = result.terminated | result.truncated
    assert truncations > 0


def test_loss_ignores_what_reset_steps_hold(tmp_path):
    config = tiny_config(tmp_path, rollout_length=64, envs_per_worker=4)
    worker = RolloutWorker(config, 0)
    rollout = worker.collector.collect(config.rollout_length)
    assert not rollout.valid.all()
    before = worker.gradients_for(rollout, version=0).grads
    invalid = ~rollout.valid
    rollout.rewards[invalid] = 1e3
    rollout.actions[invalid] = 1 - rollout.actions[invalid]
    after = worker.gradients_for(rollout, version=0).grads
    np.testing.assert_allclose(before, after, rtol=1e-5, atol=1e-7)
    rollout.rewards[rollout.valid] += 1.0  # and the check can fail: real rows do move the gradient
    assert not np.allclose(before, worker.gradients_for(rollout, version=0).grads)


def test_batched_pendulum_follows_gymnasium_step_for_step():
    rng = np.random.default_rng(0)
    group = PendulumVector(6, seed=3)
    singles = [make_env_group("Pendulum-v1", 1, seed=0, native_vector=False).envs[0] for _ in range(6)]
    for env, state in zip(singles, group.state):
        env.unwrapped.state = state.copy()  # the same start: the dynamics are what is compared
    returns = np.zeros(6)
    for t in range(200):
        actions = rng.normal(0, 2.0, (6, 1)).astype(np.float32)  # some beyond the +-2 torque limit
        result = group.step(actions)
        for i, env in enumerate(singles):
            obs, reward, term, trunc, _ = env.step(np.clip(actions[i], -2, 2))
            returns[i] += reward
            assert not term and trunc == result.truncated[i] == (t == 199)
            np.testing.assert_allclose(result.final_obs[i] if trunc else result.obs[i], obs, rtol=1e-6, atol=1e-6)
            assert abs(result.rewards[i] - reward) < 1e-5 * max(1.0, abs(reward))
    assert sorted(i for i, _, _ in result.finished) == list(range(6))
    np.testing.assert_allclose([ret for _, ret, _ in sorted(result.finished)], returns, rtol=1e-5)
    assert all(length == 200 for _, _, length in result.finished)
    assert group.episode_lengths.sum() == 0 and not np.allclose(group.state, [env.unwrapped.state for env in singles])


def test_batched_pendulum_resets_like_gymnasium():
    starts = PendulumVector(20_000, seed=1).state
    assert (np.abs(starts[:, 0]) <= np.pi).all() and (np.abs(starts[:, 1]) <= 1.0).all()
    assert abs(starts[:, 0].std() - np.pi / np.sqrt(3)) < 0.05  # uniform on (-pi, pi), as PendulumEnv.reset


@pytest.mark.parametrize("squash", [False, True])
def test_pendulum_evaluation_in_numpy_gives_gymnasiums_returns(squash):
    """Greedy evaluation steps plain Pendulum-v1 in numpy (PendulumEpisodes): the same episodes, seed by seed, as
    gymnasium's envs give, in batches smaller than the round (the seeds carry on across batches)."""
    config = make_config("Pendulum-v1", squash_actions=squash)
    torch.manual_seed(1)
    model, normalizer = build_policy(config)
    with torch.no_grad():
        model.flat.add_(0.3 * torch.randn_like(model.flat))  # a policy that moves, not the initial ~zero one
    batch = make_eval_envs(config, 3)
    assert isinstance(batch, PendulumEpisodes)
    fast = greedy_returns(model, normalizer, batch, 5, seed=123)
    slow = greedy_returns(model, normalizer, [make_env("Pendulum-v1") for _ in range(3)], 5, seed=123,
                          squash_actions=squash)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)  # numpy's array sin/cos against its scalar ones: a last bit
    assert len(set(fast)) == 5  # five different starts
    assert greedy_returns(model, normalizer, batch, 5, seed=124) != fast  # and the seed is what picks them


def test_pendulum_evaluation_keeps_gymnasium_where_asked():
    """--no-native-vector-env, env kwargs (another pendulum) and a video each keep gymnasium's envs."""
    assert isinstance(make_eval_envs(make_config("Pendulum-v1", native_vector_env=False), 2), GymEpisodes)
    assert isinstance(make_eval_envs(make_config("Pendulum-v1", env_kwargs={"g": 9.81}), 2), GymEpisodes)
    assert isinstance(make_eval_envs(make_config("Pendulum-v1"), 2, video=True), GymEpisodes)
    assert isinstance(make_eval_envs(make_config("CartPole-v1"), 2), GymEpisodes)
