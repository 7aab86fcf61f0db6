"""The run directory: where a run's files go, refusing to overwrite a run unless asked, and reading one back for
--resume."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

from a3c_ray.config import Config
from a3c_ray.errors import ConfigError

CHECKPOINT_NAME = "checkpoint.pt"
BEST_CHECKPOINT_NAME = "best_checkpoint.pt"  # the weights with the best greedy evaluation during training
HISTORY_DIR = "checkpoints"
RUN_FILES = ("config.json", "summary.json", "progress.csv", "episodes.csv", "evals.csv", CHECKPOINT_NAME,
             BEST_CHECKPOINT_NAME, "learning_curve.png")
RUN_DIRS = (HISTORY_DIR, "tb")


def default_run_dir(config: Config) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path("runs") / f"{config.env.replace(':', '_').replace('/', '_')}-{config.backend}-s{config.seed}-{stamp}"


def check_run_dir(run_dir: Path, overwrite: bool) -> bool:
    """Raise ConfigError if `run_dir` cannot take a run (a file, or a run without --overwrite); touches nothing.
    True when it holds a run that --overwrite replaces."""
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {str(run_dir)!r} is a file; give a directory")
    holds_a_run = any((run_dir / name).exists() for name in RUN_FILES[:-1])
    if holds_a_run and not overwrite:
        raise ConfigError(f"--out {str(run_dir)!r} already holds a run; choose another directory or pass "
                          "--overwrite")
    return holds_a_run


def prepare_run_dir(config: Config) -> Path:
    run_dir = Path(config.out) if config.out else default_run_dir(config)
    if check_run_dir(run_dir, config.overwrite):
        for name in RUN_FILES:
            (run_dir / name).unlink(missing_ok=True)
        for name in RUN_DIRS:
            shutil.rmtree(run_dir / name, ignore_errors=True)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {str(run_dir)!r} is not writable ({exc.strerror}); choose another directory") \
            from None
    return run_dir.absolute()  # the cwd of a driver inside `ray job submit` can vanish (see spawn.start_in)


def resume_config(run_dir: str | Path, **overrides) -> Config:
    """The saved config of the run in `run_dir`, with `overrides` (None means not given) on top."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ConfigError(f"--resume {str(run_dir)!r} holds no run (no config.json); give a run directory")
    values = json.loads(Config.from_json(path.read_text()).to_json())
    values.update({k: v for k, v in overrides.items() if v is not None}, out=str(run_dir))
    return Config.from_dict(values)
