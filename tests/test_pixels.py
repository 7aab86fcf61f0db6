"""Image observations: MinAtar trained for real (its return must rise above a random policy's), an Atari smoke run
through ale-py's AtariVectorEnv, and the CNN's handling of HWC/CHW and uint8 frames."""

import subprocess
import sys
import textwrap

import gymnasium as gym
import numpy as np
import pytest
import torch

from a3c_ray import make_config, train
from a3c_ray.core.encoders import ImageEncoder
from a3c_ray.envs.make import make_env
from conftest import cli_env


def random_policy_return(env_id: str, episodes: int, seed: int) -> float:
    """Mean return of uniformly random actions, measured here (not a constant from a paper)."""
    env = make_env(env_id)
    env.action_space.seed(seed)
    returns = []
    for k in range(episodes):
        env.reset(seed=seed + k)
        total, done = 0.0, False
        while not done:
            _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    env.close()
    return float(np.mean(returns))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_minatar_breakout_return_rises_above_a_random_policy(tmp_path):
    """MinAtar's 10x10x4 boolean frames (HWC) through the small CNN, serial, with the MinAtar preset as shipped.
    Measured (seeds 0-4, 100k steps, ~5 s of training here; seed 0 is deterministic; the preset's entropy bonus
    0.02 since 2026-12-07): the last 300 episodes average 2.47-2.90, the first 300 0.34-0.43, random actions 0.31."""
    env = "MinAtar/Breakout-v1"
    random_return = random_policy_return(env, episodes=300, seed=123)
    config = make_config(env, backend="serial", workers=1, seed=0, stop_steps=100_000, eval_interval_steps=0,
                         progress_bar=False, out=str(tmp_path / "run"))
    result = train(config)
    returns = result.episodes["return"]
    assert result.summary["env_steps"] >= 100_000 and result.summary["skipped_updates"] == 0
    assert len(returns) > 900, len(returns)
    first, late = returns.head(300).mean(), returns.tail(300).mean()
    assert first < 3 * random_return + 0.5, (first, random_return)  # it started near random
    assert late > 4 * random_return and late > random_return + 1.5, (late, random_return)
    assert late > 4 * first, (late, first)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_atari_smoke_run_through_the_atari_vector_env(tmp_path, monkeypatch):
    """A few hundred steps of ALE/Breakout-v5 (short random episodes): the worker steps ale-py's AtariVectorEnv,
    84x84x4 uint8 frames (CHW) go through the Nature CNN, gradients are applied and every file is written."""
    from a3c_ray.core import worker as worker_module
    from a3c_ray.envs.native_vector import NativeVectorGroup
    from a3c_ray.run.checkpoint import load_checkpoint
    from a3c_ray.run.trainer import Trainer

    groups = []
    make_group = worker_module.make_env_group
    monkeypatch.setattr(worker_module, "make_env_group", lambda *a, **kw: groups.append(make_group(*a, **kw))
                        or groups[-1])
    config = make_config("ALE/Breakout-v5", backend="serial", workers=1, envs_per_worker=2, stop_steps=1000,
                         eval_interval_steps=0, progress_bar=False, report_interval_s=0.2,
                         out=str(tmp_path / "run"))
    trainer = Trainer(config)
    initial = trainer.learner.model.flat.detach().clone()
    encoder = trainer.learner.model.encoder
    try:
        result = trainer.run()
    finally:
        trainer.close()

    (group,) = groups
    assert isinstance(group, NativeVectorGroup) and type(group.vec).__name__ == "AtariVectorEnv"
    assert group.observation_space.shape == (4, 84, 84) and group.observation_space.dtype == np.uint8
    assert isinstance(encoder, ImageEncoder) and encoder.uint8 and not encoder.hwc
    first_conv = encoder.convs[0]
    assert (first_conv.kernel_size, first_conv.stride) == ((8, 8), (4, 4))  # the Nature-DQN stack for 84x84

    s = result.summary
    assert s["env_steps"] >= 1000 and s["gradients"] >= 10 and s["skipped_updates"] == 0
    assert s["updates"] == s["gradients"]  # serial: one step per gradient
    applied = result.progress.dropna(subset=["policy_loss"])
    losses = applied[["policy_loss", "value_loss", "entropy", "grad_norm"]].to_numpy()
    assert len(applied) >= 3 and np.isfinite(losses).all()
    assert applied["entropy"].iloc[0] == pytest.approx(np.log(4), rel=1e-3)  # Breakout's 4 actions, near uniform
    assert len(result.episodes) >= 1 and (result.episodes["length"] > 0).all()
    for name in ("config.json", "progress.csv", "episodes.csv", "summary.json", "checkpoint.pt",
                 "learning_curve.png"):
        assert (result.run_dir / name).is_file(), name
    saved = load_checkpoint(result.run_dir)
    assert saved["config"].env == "ALE/Breakout-v5"
    assert not torch.equal(trainer.learner.model.flat.detach(), initial)  # gradients were applied
    for key, value in trainer.learner.model.state_dict().items():  # and the checkpoint holds the trained weights
        torch.testing.assert_close(saved["model"][key], value)


def test_the_cnn_reads_hwc_and_chw_and_scales_uint8_alike():
    torch.manual_seed(0)
    chw = ImageEncoder((4, 10, 10), uint8=False)
    hwc = ImageEncoder((10, 10, 4), uint8=False)
    as_uint8 = ImageEncoder((4, 10, 10), uint8=True)
    assert hwc.hwc and not chw.hwc
    hwc.load_state_dict(chw.state_dict())  # the same layers: only the axis order of the input differs
    as_uint8.load_state_dict(chw.state_dict())
    frames = torch.randint(0, 256, (3, 4, 10, 10), dtype=torch.uint8)
    scaled = frames.float() / 255.0
    torch.testing.assert_close(hwc(scaled.permute(0, 2, 3, 1)), chw(scaled))
    torch.testing.assert_close(as_uint8(frames), chw(scaled))
    assert not torch.allclose(chw(scaled), chw(scaled.transpose(2, 3)))  # and the check can fail: layout matters


def test_minatar_frames_reach_the_cnn_as_hwc():
    from a3c_ray.core.learner import Learner

    config = make_config("MinAtar/Breakout-v1", backend="serial", workers=1, stop_steps=100)
    encoder = Learner(config).model.encoder
    space = make_env("MinAtar/Breakout-v1").observation_space
    assert space.shape == (10, 10, 4) and space.dtype == np.bool_
    assert isinstance(encoder, ImageEncoder) and encoder.hwc and not encoder.uint8
    assert encoder.convs[0].in_channels == 4  # channels taken from the last axis


FRESH_PROCESS_GROUP = textwrap.dedent("""
    from a3c_ray.envs.groups import make_env_group

    group = make_env_group("ALE/Pong-v5", 2, seed=0)
    print(type(group).__name__)
""")


def test_a_fresh_worker_process_gets_the_atari_vector_env():
    """A Ray actor or mp worker builds its envs in a fresh process, where nothing has registered the ALE ids yet:
    it must still get the AtariVectorEnv, not fall back to the loop of single envs."""
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS_GROUP], capture_output=True, text=True, timeout=120,
                          env=cli_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "NativeVectorGroup"


def test_registered_ale_ids_have_a_vector_entry_point():
    """The premise of the test above: the AtariVectorEnv is there to be had once the suite is registered."""
    from a3c_ray.envs.native_vector import has_native_vector

    make_env("ALE/Pong-v5").close()  # registers the ALE ids
    assert gym.spec("ALE/Pong-v5").vector_entry_point.startswith("ale_py.")
    assert has_native_vector("ALE/Pong-v5")
