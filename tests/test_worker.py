"""The two A3C verbs: a worker computes gradients (no accumulation), a learner applies them."""

import numpy as np
import pytest
import torch

from a3c_ray.core.learner import Learner
from a3c_ray.core.loss import a3c_loss
from a3c_ray.core.model import get_flat_weights
from a3c_ray.core.optim import FlatGradients
from a3c_ray.core.worker import RolloutWorker
from conftest import tiny_config


@pytest.mark.parametrize("env", ["CartPole-v1", "Pendulum-v1"])
def test_same_rollout_gives_identical_gradients(tmp_path, env):
    config = tiny_config(tmp_path, env=env)
    worker = RolloutWorker(config, 0)
    rollout = worker.collector.collect(config.rollout_length)
    first = worker.gradients_for(rollout, version=0)
    second = worker.gradients_for(rollout, version=0)
    assert np.abs(first.grads).sum() > 0
    np.testing.assert_array_equal(first.grads, second.grads)  # zeroed each call: nothing accumulates
    assert first.grads is not second.grads
    first.grads[:] = 0  # a copy: scribbling on what was sent leaves the worker's model alone
    assert all(p.grad is None or p.grad.abs().sum() > 0 for p in worker.model.parameters())


@pytest.mark.parametrize("max_grad_norm", [0.0, 1e-3], ids=["unclipped", "clipped"])
def test_gradients_are_the_losss_as_clip_grad_norm_leaves_them(tmp_path, max_grad_norm):
    """The worker's one flat gradient buffer (FlatGradients) gives what autograd and torch's clip_grad_norm_ give
    parameter by parameter, and the norm before clipping."""
    config = tiny_config(tmp_path, env="Pendulum-v1", max_grad_norm=max_grad_norm)
    worker = RolloutWorker(config, 0)
    rollout = worker.collector.collect(config.rollout_length)
    got = worker.gradients_for(rollout, version=0)
    params = list(worker.model.parameters())
    holders = [torch.zeros_like(p, requires_grad=True) for p in params]
    for holder, grad in zip(holders, torch.autograd.grad(a3c_loss(worker.model, rollout, config)[0], params)):
        holder.grad = grad.clone()
    norm = torch.linalg.vector_norm(torch.cat([h.grad.reshape(-1) for h in holders]))
    if max_grad_norm > 0:
        assert norm > 10 * max_grad_norm  # the clip does act
        torch.nn.utils.clip_grad_norm_(holders, max_grad_norm)
    np.testing.assert_allclose(got.grads, torch.cat([h.grad.reshape(-1) for h in holders]).numpy(), rtol=1e-5,
                               atol=1e-8)
    assert got.metrics["grad_norm"] == pytest.approx(float(norm), rel=1e-5)
    worker.model.zero_grad()  # sets every .grad to None: the next call attaches the buffer again
    np.testing.assert_array_equal(worker.gradients_for(rollout, version=0).grads, got.grads)


@pytest.mark.parametrize("native_vector_env", [True, False])
def test_worker_reports_steps_episodes_and_version(tmp_path, native_vector_env):
    config = tiny_config(tmp_path, rollout_length=64, native_vector_env=native_vector_env)
    worker, learner = RolloutWorker(config, 0), Learner(config)
    learner.version = 7
    gradients = worker.compute_gradients(learner.weights())
    assert gradients.version == 7
    rows = 64 * config.envs_per_worker
    if native_vector_env:  # one reset step (not a transition, not counted) after each finished episode
        assert rows - len(gradients.episodes) <= gradients.env_steps < rows
    else:
        assert gradients.env_steps == rows
    # the raw return of each finished episode beside its length (not the normalised rewards): CartPole pays 1 a step
    assert gradients.episodes and all(ret == length for ret, length in gradients.episodes)
    assert set(gradients.metrics) == {"policy_loss", "value_loss", "entropy", "grad_norm", "compute_s", "round_trip_s"}
    assert gradients.finite


def test_learner_apply_changes_weights_and_bumps_version(tmp_path):
    config = tiny_config(tmp_path)
    worker, learner = RolloutWorker(config, 0), Learner(config)
    before = get_flat_weights(learner.model)
    gradients = worker.compute_gradients(learner.weights())
    assert learner.apply_gradients(gradients) == 1
    assert learner.weights().version == 1
    assert not np.array_equal(before, get_flat_weights(learner.model))
    assert learner.normalizer.obs_rms.count == gradients.env_steps  # statistics travel with the gradients


def test_worker_loads_the_weights_it_is_given(tmp_path):
    config = tiny_config(tmp_path)
    worker, learner = RolloutWorker(config, 0), Learner(config)
    weights = learner.weights()
    weights.params = weights.params + 0.5
    worker.compute_gradients(weights)
    np.testing.assert_allclose(get_flat_weights(worker.model), weights.params)


def test_gradient_clipping_bounds_the_norm(tmp_path):
    config = tiny_config(tmp_path, max_grad_norm=1e-3)
    gradients = RolloutWorker(config, 0).compute_gradients(Learner(config).weights())
    assert np.linalg.norm(gradients.grads) <= 1e-3 * 1.01


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_learner_optimizer_matches_the_textbook_update(tmp_path, optimizer):
    """The learner's flat-vector optimizer takes the same steps as torch's reference loop."""
    import torch

    config = tiny_config(tmp_path, optimizer=optimizer, lr=1e-2)
    worker, learner = RolloutWorker(config, 0), Learner(config)
    reference = [p.detach().clone().requires_grad_(True) for p in learner.model.parameters()]
    ref_opt = (torch.optim.Adam(reference, lr=1e-2, eps=1e-5, foreach=False) if optimizer == "adam" else
               torch.optim.RMSprop(reference, lr=1e-2, alpha=0.99, eps=1e-5, foreach=False))
    for _ in range(5):
        gradients = worker.compute_gradients(learner.weights())
        learner.apply_gradients(gradients)
        offset = 0
        for p in reference:
            p.grad = torch.from_numpy(gradients.grads[offset:offset + p.numel()].copy()).view_as(p)
            offset += p.numel()
        ref_opt.step()
    for ours, ref in zip(learner.model.parameters(), reference):
        torch.testing.assert_close(ours.detach(), ref.detach(), rtol=1e-5, atol=1e-6)


def test_optimizer_state_of_earlier_checkpoints_loads(tmp_path):
    """Checkpoints before the flat optimizer hold torch.optim's per-parameter state; resuming one keeps it."""
    import torch

    config = tiny_config(tmp_path, lr=1e-2)
    learner, worker = Learner(config), RolloutWorker(config, 0)
    params = [p.detach().clone().requires_grad_(True) for p in learner.model.parameters()]
    torch_adam = torch.optim.Adam(params, lr=1e-2, eps=1e-5)
    for _ in range(3):
        grads = worker.compute_gradients(learner.weights()).grads
        offset = 0
        for p in params:
            p.grad = torch.from_numpy(grads[offset:offset + p.numel()].copy()).view_as(p)
            offset += p.numel()
        torch_adam.step()
    learner.optimizer.load_state_dict(torch_adam.state_dict())
    state = learner.optimizer.state
    assert float(state["step"]) == 3
    torch.testing.assert_close(state["exp_avg"], torch.cat([torch_adam.state[p]["exp_avg"].reshape(-1)
                                                            for p in params]))


def test_the_seed_fixes_the_initial_weights(tmp_path):
    """Every worker starts from the driver's weights, so --seed must fix those, not only the envs and sampling."""
    from a3c_ray.run.trainer import Trainer

    def initial(seed: int, name: str) -> np.ndarray:
        return get_flat_weights(Trainer(tiny_config(tmp_path, seed=seed, out=str(tmp_path / name))).learner.model)

    np.testing.assert_array_equal(initial(3, "a"), initial(3, "b"))
    assert not np.array_equal(initial(3, "c"), initial(4, "d"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_flat_clip_leaves_a_non_finite_gradient_as_torch_does(bad):
    """torch's clip_grad_norm_ scales by max_norm / (norm + 1e-6) clamped to 1: a NaN norm turns every entry NaN,
    an infinite one zeroes the finite entries. Either way the norm reported is not finite (the learner skips it)."""
    layer = torch.nn.Linear(2, 1)
    grads = FlatGradients(layer)
    grads.zero()[:] = torch.tensor([bad, 1.0, 0.0])
    reference = [torch.zeros_like(p, requires_grad=True) for p in layer.parameters()]
    for holder, view in zip(reference, grads.views):
        holder.grad = view.clone()
    expected = torch.nn.utils.clip_grad_norm_(reference, 0.5)
    norm = grads.clip_norm(0.5)
    assert not np.isfinite(norm) and not torch.isfinite(expected)
    torch.testing.assert_close(grads.flat, torch.cat([h.grad.reshape(-1) for h in reference]), equal_nan=True)
