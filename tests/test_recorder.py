"""The Recorder's statistics: the same one computed the same way in progress.csv and summary.json."""

from a3c_ray.core.gradient_batch import GradientInfo, Update
from a3c_ray.run.recorder import Recorder
from conftest import tiny_config


def test_policy_lag_p95_is_the_nearest_rank_in_progress_and_summary(tmp_path):
    """95 gradients at lag 0-1 and 5 at lag 7: the 95th percentile by nearest rank is 1 (an interpolated one,
    which progress.csv once used, would say 1.3 and disagree with summary.json)."""
    config = tiny_config(tmp_path)
    recorder = Recorder(config)
    recorder.start_time = 0.0
    for k, lag in enumerate([0] * 90 + [1] * 5 + [7] * 5):
        recorder.record(Update([GradientInfo(0, k, 10, [], {}, "", lag)], True), now=0.01 * k)
    row = recorder.progress_row(1.0, version=100)
    summary = recorder.summary(config, 100, 1.0)
    assert row["policy_lag_p95"] == summary["policy_lag_p95"] == 1
    assert row["policy_lag_max"] == summary["policy_lag_max"] == 7
