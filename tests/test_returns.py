"""GAE and n-step returns against numbers worked out by hand."""

import numpy as np
import pytest

from a3c_ray.core.returns import compute_gae


def col(*xs):
    return np.array(xs, dtype=np.float32).reshape(-1, 1)


def flags(*xs):
    return np.array(xs, dtype=bool).reshape(-1, 1)


def test_nstep_returns_bootstrap_from_last_value():
    # gamma 0.5, lambda 1: R2 = 1 + .5*8 = 5; R1 = 1 + .5*5 = 3.5; R0 = 1 + .5*3.5 = 2.75
    adv, ret = compute_gae(col(1, 1, 1), col(0, 0, 0), np.array([8.0]), flags(0, 0, 0), flags(0, 0, 0),
                           col(0, 0, 0), gamma=0.5, lam=1.0)
    np.testing.assert_allclose(ret[:, 0], [2.75, 3.5, 5.0])
    np.testing.assert_allclose(adv[:, 0], [2.75, 3.5, 5.0])


def test_termination_bootstraps_zero():
    # episode terminates at t=1: R1 = 1, R0 = 1 + .5*1 = 1.5; t=2 starts a new episode: R2 = 1 + .5*8 = 5
    _, ret = compute_gae(col(1, 1, 1), col(0, 0, 0), np.array([8.0]), flags(0, 1, 0), flags(0, 0, 0),
                         col(0, 0, 0), gamma=0.5, lam=1.0)
    np.testing.assert_allclose(ret[:, 0], [1.5, 1.0, 5.0])


def test_truncation_bootstraps_value_of_final_obs():
    # truncated at t=1 with V(final obs) = 4: R1 = 1 + .5*4 = 3, R0 = 1 + .5*3 = 2.5; not V(next episode's obs)
    _, ret = compute_gae(col(1, 1, 1), col(0, 0, 0), np.array([8.0]), flags(0, 0, 0), flags(0, 1, 0),
                         col(0, 4, 0), gamma=0.5, lam=1.0)
    np.testing.assert_allclose(ret[:, 0], [2.5, 3.0, 5.0])


def test_gae_lambda_by_hand():
    # gamma .9, lambda .5, V = [1, 2], last V = 3, r = [0, 1]
    # d1 = 1 + .9*3 - 2 = 1.7; d0 = 0 + .9*2 - 1 = 0.8; A1 = 1.7; A0 = 0.8 + .45*1.7 = 1.565
    adv, ret = compute_gae(col(0, 1), col(1, 2), np.array([3.0]), flags(0, 0), flags(0, 0), col(0, 0),
                           gamma=0.9, lam=0.5)
    np.testing.assert_allclose(adv[:, 0], [1.565, 1.7], rtol=1e-6)
    np.testing.assert_allclose(ret[:, 0], [2.565, 3.7], rtol=1e-6)


@pytest.mark.parametrize("lam", [0.0, 0.95, 1.0])
def test_gae_does_not_leak_across_episode_end(lam):
    # terminated at t=1, V = 0: d1 = 1, A1 = 1; d0 = 1, A0 = 1 + .9*lam*A1; the 100 after the end never leaks in
    rewards, values = col(1, 1, 100), col(0, 0, 0)
    adv, _ = compute_gae(rewards, values, np.array([50.0]), flags(0, 1, 0), flags(0, 0, 0), col(0, 0, 0),
                         gamma=0.9, lam=lam)
    assert adv[1, 0] == pytest.approx(1.0)
    assert adv[0, 0] == pytest.approx(1 + 0.9 * lam)


def test_columns_are_independent_envs():
    rewards = np.array([[1, 2], [1, 2]], dtype=np.float32)
    adv, ret = compute_gae(rewards, np.zeros((2, 2), np.float32), np.array([0.0, 10.0]),
                           np.zeros((2, 2), bool), np.zeros((2, 2), bool), np.zeros((2, 2), np.float32), 1.0, 1.0)
    np.testing.assert_allclose(ret, [[2, 14], [1, 12]])
