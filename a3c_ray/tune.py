"""Ray Tune integration: a function trainable that reports every progress row and checkpoints the run.

    from ray import tune
    from a3c_ray.tune import a3c_trainable, trial_resources
    tuner = tune.Tuner(tune.with_resources(a3c_trainable, trial_resources(workers=2)),
                       param_space={"env": "CartPole-v1", "lr": tune.grid_search([3e-4, 1e-3])})
    tuner.fit().get_dataframe()

Keys of the param space are a3c_ray.Config fields (presets apply to what is left out).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ray import tune

from a3c_ray.config import make_config
from a3c_ray.run.run_dir import CHECKPOINT_NAME, resume_config
from a3c_ray.run.trainer import Trainer

REPORT_EVERY_S = 2.0


def trial_resources(workers: int = 2) -> tune.PlacementGroupFactory:
    """One bundle for the trial's driver and one per rollout worker actor, reserved together."""
    return tune.PlacementGroupFactory([{"CPU": 1}] + [{"CPU": 1}] * workers)


def a3c_trainable(param_space: dict[str, Any]) -> None:
    """Train one config; resume from the trial's last checkpoint after a Tune restart."""
    trial_dir = Path(tune.get_context().get_trial_dir()) / "a3c_run"
    values = {"progress_bar": False, "report_interval_s": REPORT_EVERY_S, **param_space}
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:
        with checkpoint.as_directory() as saved:
            restore_from = Path(saved)
            config = resume_config(restore_from, **{k: v for k, v in values.items() if k != "env"})
        config.out = str(trial_dir)
        _copy_run(restore_from, trial_dir)
        trainer = Trainer(config, resume=True, on_report=_report)
    else:
        env = values.pop("env")
        config = make_config(env, out=str(trial_dir), overwrite=True, **values)
        trainer = Trainer(config, on_report=_report)
    try:
        trainer.run()
    finally:
        trainer.close()
    _report(trainer, trainer.recorder.progress_rows[-1] if trainer.recorder.progress_rows else {}, final=True)


def _report(trainer: Trainer, row: dict, final: bool = False) -> None:
    """tune.report with the progress row; a checkpoint (the whole run directory) every report."""
    metrics = {k: v for k, v in row.items() if isinstance(v, (int, float))}
    metrics["solved"] = trainer.recorder.stop.solved_at is not None
    metrics["finished"] = final  # not "done": Tune reserves that key
    with tempfile.TemporaryDirectory() as tmp:
        trainer.flush()
        _copy_run(trainer.run_dir, Path(tmp))
        tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def _copy_run(source: Path, target: Path) -> None:
    import shutil

    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "progress.csv", "episodes.csv", CHECKPOINT_NAME):
        if (source / name).exists():
            shutil.copy2(source / name, target / name)
