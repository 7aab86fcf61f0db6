"""--lr-per-update: each update's learning rate, constant, divided by its gradients' mean lag, or scaled by the
square root of their count."""

from __future__ import annotations

import numpy as np
import pytest

from a3c_ray.core.gradient_batch import GradientBatch
from a3c_ray.core.learner import Learner
from a3c_ray.core.messages import Gradients
from conftest import run_cli, tiny_config


def first_step(tmp_path, rule: str, count: int, version: int = 0, learner_version: int = 0) -> float:
    """The largest parameter change of a first Adam step (lr times the factor: m / sqrt(v) is 1 on step one)."""
    learner = Learner(tiny_config(tmp_path / rule, lr_per_update=rule, lr=1e-3))
    learner.version = learner_version
    size = learner.model.flat.numel()
    before = learner.model.flat.clone()
    batch = GradientBatch.of(*[Gradients(i, version, np.ones(size, np.float32), 1, [], {}) for i in range(count)])
    learner.apply_gradients(batch)
    assert learner.optimizer.lr == pytest.approx(1e-3)  # the rule scales one step, not the run's rate
    return float((learner.model.flat - before).abs().max())


def test_each_rule_scales_the_step(tmp_path):
    assert first_step(tmp_path, "constant", 4) == pytest.approx(1e-3, rel=1e-3)
    assert first_step(tmp_path, "sqrt-batch", 4) == pytest.approx(2e-3, rel=1e-3)
    assert first_step(tmp_path, "lag", 4, version=0, learner_version=4) == pytest.approx(0.25e-3, rel=1e-3)
    assert first_step(tmp_path, "lag", 1, version=3, learner_version=3) == pytest.approx(1e-3, rel=1e-3)  # lag 0


def test_mp_refuses_a_rule_it_cannot_apply(tmp_path):
    done = run_cli("train", "--env", "CartPole-v1", "--backend", "mp", "--lr-per-update", "lag",
                   "--out", str(tmp_path / "x"))
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "--lr-per-update" in done.stderr
