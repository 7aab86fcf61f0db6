"""Checkpoints round-trip, load with weights_only=True, and refuse damaged or untrusted files."""


import numpy as np
import pytest
import torch

from a3c_ray.core.learner import Learner
from a3c_ray.core.worker import RolloutWorker
from a3c_ray.errors import CheckpointError
from a3c_ray.run.checkpoint import load_checkpoint, save_checkpoint
from a3c_ray.run.evaluation import load_model
from conftest import tiny_config


def _save(tmp_path, config):
    learner = Learner(config)
    learner.apply_gradients(RolloutWorker(config, 0).compute_gradients(learner.weights()))
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, config=config, model_state=learner.model.state_dict(),
                    optimizer_state=learner.optimizer.state_dict(), normalizer_state=learner.normalizer.state(),
                    counters={"version": learner.version, "env_steps": 16})
    return path, learner


def test_round_trip(tmp_path):
    config = tiny_config(tmp_path, env="Pendulum-v1")
    path, learner = _save(tmp_path, config)
    raw = torch.load(path, weights_only=True)  # plain tensors and containers only
    assert raw["format"].startswith("a3c_ray.run.checkpoint")
    payload = load_checkpoint(path)
    assert payload["config"] == config
    assert payload["counters"]["version"] == 1
    for key, value in learner.model.state_dict().items():
        torch.testing.assert_close(payload["model"][key], value)
    np.testing.assert_allclose(payload["normalizer"]["obs_mean"], learner.normalizer.obs_rms.mean)
    restored = Learner(config)
    restored.optimizer.load_state_dict(payload["optimizer"])
    model, normalizer, _ = load_model(path)
    np.testing.assert_allclose(normalizer.obs_rms.var, learner.normalizer.obs_rms.var)


def test_no_temp_files_left(tmp_path):
    _save(tmp_path, tiny_config(tmp_path))
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_truncated_file_is_refused(tmp_path):
    path, _ = _save(tmp_path, tiny_config(tmp_path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or not a checkpoint"):
        load_checkpoint(path)


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickled_object_is_refused_not_run(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"format": "a3c_ray.run.checkpoint/1", "x": Payload()}, path)
    with pytest.raises(CheckpointError, match="untrusted"):
        load_checkpoint(path)
    assert "must never run" not in capsys.readouterr().out


def test_foreign_file_is_refused(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"state_dict": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not an a3c-ray checkpoint"):
        load_checkpoint(path)
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / "text.pt")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")


def test_periodic_checkpoints_keep_the_last_k(tmp_path):
    from a3c_ray import train
    from a3c_ray.run.run_dir import HISTORY_DIR

    config = tiny_config(tmp_path, stop_steps=4000, checkpoint_interval_s=0.05, keep_checkpoints=2)
    result = train(config)
    history = sorted((result.run_dir / HISTORY_DIR).glob("checkpoint-*.pt"))
    assert len(history) == 2
    versions = [int(load_checkpoint(p)["counters"]["version"]) for p in history]
    assert versions[0] < versions[1] == int(load_checkpoint(result.run_dir)["counters"]["version"])
    assert not list(result.run_dir.rglob("*.tmp"))
