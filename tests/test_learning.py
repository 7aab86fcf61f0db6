"""Real training: CartPole's return must rise far above a random policy's (~22) on every backend."""

import pytest

from a3c_ray import make_config, train

RANDOM_POLICY_RETURN = 22


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("backend", ["ray", "mp"])
def test_cartpole_return_rises(tmp_path, request, backend):
    if backend == "ray":
        request.getfixturevalue("ray_session")
    config = make_config("CartPole-v1", backend=backend, seed=0, stop_return=300, stop_seconds=90,
                         progress_bar=False, out=str(tmp_path / "run"))
    result = train(config)
    first = result.episodes["return"].head(50).mean()
    assert first < 4 * RANDOM_POLICY_RETURN  # it started near random
    assert result.summary["solved"] and result.summary["stop_reason"] == "solved"
    assert result.summary["best_eval_return"] >= 300  # the greedy policy, over 10x a random policy's return
    assert result.episodes["return"].tail(100).mean() > 2 * first  # and the sampling policy learned too
    # asynchronous: some gradients were computed with weights that others had moved on since (policy lag >= 1)
    assert result.progress["policy_lag_max"].max() >= 1
