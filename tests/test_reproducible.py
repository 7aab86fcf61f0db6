"""What is bit-for-bit: a serial run with a seed (eval off). Ray and mp runs are not: which worker's gradient the
driver applies first depends on timing."""

from __future__ import annotations

import pytest

from a3c_ray import train
from conftest import tiny_config


@pytest.mark.timeout(120)
def test_a_serial_run_with_a_seed_repeats_bit_for_bit(tmp_path):
    runs = [train(tiny_config(tmp_path / str(k), workers=2, stop_steps=3_000, eval_interval_steps=0, seed=7))
            for k in range(2)]
    columns = ["worker", "return", "length", "env_steps"]
    assert len(runs[0].episodes) > 50 and runs[0].episodes[columns].equals(runs[1].episodes[columns])
    other = train(tiny_config(tmp_path / "other", workers=2, stop_steps=3_000, eval_interval_steps=0, seed=8))
    assert not other.episodes[columns].head(50).equals(runs[0].episodes[columns].head(50))
