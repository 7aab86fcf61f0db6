"""`evaluate` and `a3c-ray evaluate`: the best-evaluated checkpoint unless --last, and a clip capped at MAX_FRAMES.

The run directory holds two hand-made CartPole policies whose greedy returns cannot be confused: the "best" one
balances the pole (500, the episode cap) and the "last" one always pushes left (~10).
"""

import json

import numpy as np
import pytest
import torch

from a3c_ray.core.learner import Learner
from a3c_ray.run.checkpoint import save_checkpoint
from a3c_ray.run.evaluation import checkpoint_path, evaluate
from a3c_ray.run.run_dir import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME
from a3c_ray.run.video import MAX_FRAMES, frame_skip, write_video
from conftest import tiny_config

BALANCED = 500  # CartPole-v1's episode cap


def set_policy(learner: Learner, balance: bool) -> None:
    """Greedy action = push right when 0.1 x + 0.5 v + theta + omega > 0 (a classic controller: 500 on every seed
    tried), or always push left."""
    actor = learner.model.actor  # Linear(4, 64), Tanh, Linear(64, 64), Tanh, Linear(64, 2)
    with torch.no_grad():
        for layer in (actor[0], actor[2], actor[4]):
            layer.weight.zero_()
            layer.bias.zero_()
        if balance:
            actor[0].weight[0] = torch.tensor([0.1, 0.5, 1.0, 1.0]) * 10
            actor[2].weight[0, 0] = 3.0
            actor[4].weight[:, 0] = torch.tensor([-1.0, 1.0])
        else:
            actor[4].bias[0] = 1.0


def save(learner: Learner, config, path, version: int) -> None:
    save_checkpoint(path, config=config, model_state=learner.model.state_dict(),
                    optimizer_state=learner.optimizer.state_dict(), normalizer_state=learner.normalizer.state(),
                    counters={"version": version, "env_steps": 1000 * version})


@pytest.fixture
def run_dir(tmp_path):
    config = tiny_config(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    learner = Learner(config)
    set_policy(learner, balance=True)
    save(learner, config, run / BEST_CHECKPOINT_NAME, version=3)
    set_policy(learner, balance=False)
    save(learner, config, run / CHECKPOINT_NAME, version=7)  # trained on past its best
    return run


def test_evaluate_takes_the_best_checkpoint_unless_asked_for_the_last(run_dir):
    assert checkpoint_path(run_dir) == run_dir / BEST_CHECKPOINT_NAME
    assert checkpoint_path(run_dir, "last") == run_dir / CHECKPOINT_NAME
    best, last = evaluate(run_dir, episodes=4), evaluate(run_dir, episodes=4, which="last")
    assert best == [BALANCED] * 4
    assert max(last) < 20
    assert evaluate(run_dir / CHECKPOINT_NAME, episodes=2) == last[:2]  # a file is taken as it is
    (run_dir / BEST_CHECKPOINT_NAME).unlink()  # a run that never evaluated: its latest weights
    assert checkpoint_path(run_dir) == run_dir / CHECKPOINT_NAME and evaluate(run_dir, episodes=4) == last


def test_cli_evaluate_last(run_dir, capsys):
    """`a3c-ray evaluate RUN [--last]`, through the console script's entry point (in this process)."""
    from a3c_ray.cli import main

    results = {}
    for flag in ([], ["--last"]):
        main(["evaluate", str(run_dir), "--episodes", "3", "--json", *flag])
        results[bool(flag)] = json.loads(capsys.readouterr().out)
    best, last = results[False], results[True]
    assert best["checkpoint"] == str(run_dir / BEST_CHECKPOINT_NAME) and best["mean_return"] == BALANCED
    assert last["checkpoint"] == str(run_dir / CHECKPOINT_NAME) and last["mean_return"] < 20
    assert best["episodes"] == last["episodes"] == 3 and best["std_return"] == 0
    main(["evaluate", str(run_dir), "--episodes", "2", "--last"])
    assert capsys.readouterr().out.strip().endswith(f"({CHECKPOINT_NAME})")


def test_a_long_episode_is_cut_to_max_frames_at_the_same_pace(run_dir, tmp_path):
    """A 500-step episode renders 501 frames (the reset's first): every 4th is kept, each shown 4 frames' time."""
    import imageio.v3 as iio

    video = tmp_path / "balance.gif"
    assert evaluate(run_dir, episodes=1, video=video) == [BALANCED]
    frames = BALANCED + 1
    skip = frame_skip(frames)
    kept = len(range(0, frames, skip))
    assert (skip, kept) == (4, 126)
    meta = [iio.immeta(video, index=i) for i in range(len(iio.imread(video, index=None)))]
    assert len(meta) <= kept  # Pillow merges identical neighbours (a balanced pole barely moves) into longer frames
    clip_s = sum(m["duration"] for m in meta) / 1000  # so the frames it kept cover the time of all 126
    assert clip_s == pytest.approx(kept * skip / 50, rel=0.02)  # the episode's own ~10 s at CartPole's 50 fps


@pytest.mark.parametrize("frames", [3, MAX_FRAMES, MAX_FRAMES + 1, 1000])
def test_write_video_keeps_at_most_max_frames(tmp_path, frames):
    import imageio.v3 as iio

    clip = [np.full((8, 8, 3), k % 256, dtype=np.uint8) for k in range(frames)]  # no two neighbours alike
    for k, frame in enumerate(clip):
        frame[0, 0] = (k // 256, 0, 0)
    written, skip = write_video(clip, tmp_path / "clip.gif", env_fps=30)
    if frames <= MAX_FRAMES:
        assert (written, skip) == (frames, 1)  # short clips are kept whole
    else:  # every k-th frame, k as small as the cap allows
        assert MAX_FRAMES // 2 < written <= MAX_FRAMES and written == len(range(0, frames, skip))
        assert len(range(0, frames, skip - 1)) > MAX_FRAMES
    assert len(iio.imread(tmp_path / "clip.gif", index=None)) == written
