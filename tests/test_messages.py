"""Weights and gradients cross Ray packed into bytes: they come back the same, shapes and dtypes included."""

import numpy as np

from a3c_ray.core.messages import Gradients, Weights, pack_gradients, pack_weights, unpack_gradients, unpack_weights


def test_weights_survive_packing_with_their_shapes_and_dtypes():
    weights = Weights(7, np.arange(5, dtype=np.float32),
                      {"obs_mean": np.ones((2, 3)), "obs_count": np.array(4.0), "ret_var": np.float64(0.5)})
    back = unpack_weights(pack_weights(weights))
    assert back.version == 7
    np.testing.assert_array_equal(back.params, weights.params)
    assert back.params.dtype == np.float32
    for name, value in weights.normalizer.items():  # a 0-d count stays 0-d (float() of it is what a load does)
        assert back.normalizer[name].shape == np.shape(value) and back.normalizer[name].dtype == np.float64
        np.testing.assert_array_equal(back.normalizer[name], value)


def test_gradients_survive_packing_bfloat16_patterns_and_all():
    gradients = Gradients(3, 11, np.array([1, 2, 65535], dtype=np.uint16), 640, [(12.5, 40), (-3.0, 7)],
                          {"policy_loss": 0.25, "grad_norm": 1.5},
                          {"obs_mean": np.zeros(4), "obs_count": np.array(9.0)})
    back = unpack_gradients(pack_gradients(gradients))
    assert (back.worker, back.version, back.env_steps) == (3, 11, 640)
    assert back.grads.dtype == np.uint16 and back.grads.tolist() == [1, 2, 65535]
    assert back.episodes == gradients.episodes and back.metrics == gradients.metrics
    assert back.normalizer_delta["obs_count"].shape == () and float(back.normalizer_delta["obs_count"]) == 9.0
    back.metrics["round_trip_s"] = 0.1  # the driver adds its own measure to the metrics it receives
