"""`a3c-ray train --help` shows every setting's default."""

import dataclasses

from a3c_ray.config import Config
from conftest import run_cli


def test_train_help_shows_every_default():
    done = run_cli("train", "--help")
    text = " ".join(done.stdout.split())
    assert done.returncode == 0
    assert "--lr <float> learning rate of the global optimizer [default: 0.0007]" in text
    assert "[default: 64,64]" in text and "[default: --normalize-obs]" in text and "[default: ray]" in text
    shown = text.count("[default: ")
    assert shown >= len(dataclasses.fields(Config)) - 1  # every field but --env, whose value has no default
