"""env= a function that returns an env (or a functools.partial of one), on all three backends."""

from __future__ import annotations

import functools

import pytest
from space_envs import make_short_cartpole

from a3c_ray import evaluate, load_run, make_config, train
from a3c_ray.errors import ConfigError
from conftest import run_cli, tiny_config


def test_a_creator_is_recorded_by_name_and_a_partials_keywords_as_env_kwargs():
    config = make_config(functools.partial(make_short_cartpole, max_episode_steps=50), stop_steps=100)
    assert config.env == "space_envs:make_short_cartpole" and config.env_kwargs == {"max_episode_steps": 50}


@pytest.mark.parametrize("creator, words", [
    (lambda: None, ["module level", "lambda"]),
    (functools.partial(make_short_cartpole, 50), ["by keyword"]),
    (functools.partial(make_short_cartpole, reward_scale=object()), ["JSON values"]),
])
def test_a_creator_the_workers_could_not_rebuild_is_refused(creator, words):
    with pytest.raises(ConfigError) as error:
        make_config(creator, stop_steps=100)
    assert all(w in str(error.value) for w in words)


@pytest.mark.timeout(120)
def test_a_creator_trains_serially_and_its_run_evaluates(tmp_path):
    env = functools.partial(make_short_cartpole, max_episode_steps=30, reward_scale=2.0)
    result = train(tiny_config(tmp_path, env=env, stop_steps=400, eval_interval_steps=0))
    assert result.summary["env_steps"] >= 400 and result.episodes["length"].max() <= 30
    assert (result.episodes["return"] == 2 * result.episodes["length"]).all()  # the wrapper ran in the workers
    returns = evaluate(result.run_dir, episodes=3)
    assert all(2 <= r <= 60 and r % 2 == 0 for r in returns)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_creator_trains_on_mp_from_python(tmp_path):
    env = functools.partial(make_short_cartpole, max_episode_steps=30, reward_scale=2.0)
    result = train(tiny_config(tmp_path, env=env, backend="mp", workers=2, stop_steps=2_000, eval_interval_steps=0))
    assert result.summary["env_steps"] >= 2_000 and (result.episodes["return"] == 2 * result.episodes["length"]).all()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_creator_trains_on_ray_from_the_cli(tmp_path):
    out = tmp_path / "run"
    done = run_cli("train", "--env", "space_envs:make_short_cartpole", "--env-kwargs", '{"reward_scale": 2.0}',
                   "--stop-steps", "3000", "--eval-interval-steps", "0", "--no-progress-bar", "--out", str(out),
                   timeout=240)
    assert done.returncode == 0, done.stderr
    episodes = load_run(out).episodes
    assert len(episodes) and (episodes["return"] == 2 * episodes["length"]).all()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_creator_trains_on_ray_from_python(tmp_path, ray_session):
    env = functools.partial(make_short_cartpole, max_episode_steps=30, reward_scale=2.0)
    result = train(tiny_config(tmp_path, env=env, backend="ray", workers=2, stop_steps=2_000, eval_interval_steps=0))
    assert result.summary["env_steps"] >= 2_000 and (result.episodes["return"] == 2 * result.episodes["length"]).all()
