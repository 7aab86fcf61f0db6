"""Batched apply: gradients summed per weight version, stale ones dropped exactly, the mean applied once."""

import numpy as np
import torch

from a3c_ray.core.gradient_batch import GradientBatch
from a3c_ray.core.learner import Learner, apply_batch
from a3c_ray.core.messages import Gradients
from a3c_ray.core.model import get_flat_weights
from a3c_ray.core.normalize import RunningMeanStd
from conftest import tiny_config


def grad(version: int, values, worker: int = 0, delta=None) -> Gradients:
    return Gradients(worker, version, np.asarray(values, dtype=np.float32), 10, [(1.0, 10)],
                     {"policy_loss": 0.0, "value_loss": 0.0, "entropy": 0.0, "grad_norm": 0.0}, delta or {})


def test_mean_of_fresh_gradients_with_stale_and_non_finite_left_out():
    batch = GradientBatch.of(grad(3, [1, 1]), grad(5, [2, 4], worker=1))
    other = GradientBatch.of(grad(5, [4, 2], worker=2), grad(5, [np.nan, 0], worker=3))
    batch.merge(other)  # an aggregator's batch into the driver's
    assert len(batch) == 4 and batch.counts == {3: 1, 5: 2}
    mean = batch.mean_gradient(current_version=7, max_policy_lag=3)  # version 3 is 4 behind: stale
    np.testing.assert_allclose(mean, [3, 3])
    assert [(i.worker, i.status, i.policy_lag) for i in batch.infos] == [
        (0, "stale", 4), (1, "", 2), (2, "", 2), (3, "non_finite", 2)]
    np.testing.assert_allclose(batch.mean_gradient(7, None), [7 / 3, 7 / 3])  # no limit: all finite ones


def test_nothing_left_to_apply_is_none():
    batch = GradientBatch.of(grad(0, [np.inf, 1]))
    assert batch.mean_gradient(0, None) is None


def test_merged_moments_match_one_stream():
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(n, 3)) for n in (5, 8, 13)]
    deltas = []
    for part in parts:
        obs, ret = RunningMeanStd((3,)), RunningMeanStd(())
        obs.update(part)
        ret.update(part[:, 0])
        deltas.append({**{f"obs_{k}": v for k, v in obs.state().items()},
                       **{f"ret_{k}": v for k, v in ret.state().items()}})
    batch = GradientBatch.of(grad(0, [0.0], delta=deltas[0]))
    batch.merge(GradientBatch.of(*(grad(0, [0.0], delta=d) for d in deltas[1:])))
    whole = np.concatenate(parts)
    merged = batch.normalizer_delta()
    np.testing.assert_allclose(merged["obs_mean"], whole.mean(axis=0))
    np.testing.assert_allclose(merged["obs_var"], whole.var(axis=0))
    assert merged["obs_count"] == len(whole)


def test_learner_steps_once_with_the_mean(tmp_path):
    config = tiny_config(tmp_path)
    torch.manual_seed(0)
    learner = Learner(config)
    torch.manual_seed(0)
    twin = Learner(config)  # the same initial weights
    size = len(get_flat_weights(learner.model))
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=size), rng.normal(size=size)
    update = apply_batch(learner, GradientBatch.of(grad(0, a), grad(0, b, worker=1)))
    assert update.applied and learner.version == 1 and len(update.gradients) == 2
    twin.optimizer.step(twin.model.flat, torch.from_numpy(((a + b) / 2).astype(np.float32)))  # one step, the mean
    torch.testing.assert_close(learner.model.flat, twin.model.flat)
    for p, q in zip(learner.model.parameters(), twin.model.parameters()):  # the parameters are views of it
        torch.testing.assert_close(p, q)


def test_bfloat16_gradients_travel_at_half_the_bytes_and_sum_in_float32():
    from a3c_ray.core.messages import decode, encode

    values = np.random.default_rng(2).normal(size=1000).astype(np.float32)
    wire = encode(values, "bfloat16")
    assert wire.nbytes == values.nbytes // 2
    np.testing.assert_allclose(decode(wire), values, rtol=1e-2, atol=1e-6)  # bfloat16 keeps ~3 digits
    batch = GradientBatch.of(grad(0, values), Gradients(1, 0, wire, 10, [], {"policy_loss": 0.0}))
    assert batch.sums[0].dtype == np.float32
    np.testing.assert_allclose(batch.mean_gradient(0, None), values, rtol=1e-2, atol=1e-6)
    assert encode(values, "float32") is values
