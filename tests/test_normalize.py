"""Normaliser statistics merged from pieces equal those of the whole stream."""

import numpy as np

from a3c_ray.core.normalize import Normalizer, RunningMeanStd


def test_merged_moments_equal_whole_batch():
    data = np.random.default_rng(0).normal(3.0, 2.0, size=(1000, 3))
    whole, merged = RunningMeanStd((3,)), RunningMeanStd((3,))
    whole.update(data)
    for part in np.array_split(data, 7):
        piece = RunningMeanStd((3,))
        piece.update(part)
        merged.merge(piece.mean, piece.var, piece.count)
    np.testing.assert_allclose(merged.mean, data.mean(0))
    np.testing.assert_allclose(merged.var, data.var(0))
    assert merged.count == whole.count == 1000


def test_normalizer_state_round_trip_and_scaling():
    norm = Normalizer(2, normalize_obs=True, normalize_reward=True, gamma=0.99)
    norm.obs_rms.update(np.array([[0.0, 10.0], [2.0, 30.0]]))
    norm.ret_rms.update(np.array([2.0, -2.0]))
    copy = Normalizer(2, True, True, 0.99)
    copy.load(norm.state())
    np.testing.assert_allclose(copy.obs(np.array([[1.0, 20.0]])), [[0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(copy.reward(np.array([4.0])), [2.0], rtol=1e-5)  # std of returns is 2
