"""Ray Tune integration: a function trainable that reports every progress row and checkpoints the run every
--checkpoint-interval-s (the model, optimizer and counters, the tables, the evaluation history and the best
weights), so a trial restarted or cloned (PBT's exploit) continues from exactly that run.

    from ray import tune
    from a3c_ray.tune import a3c_trainable, trial_resources
    tuner = tune.Tuner(tune.with_resources(a3c_trainable, trial_resources(workers=2)),
                       param_space={"env": "CartPole-v1", "lr": tune.grid_search([3e-4, 1e-3])},
                       run_config=tune.RunConfig(checkpoint_config=tune.CheckpointConfig(num_to_keep=3)))
    tuner.fit().get_dataframe()

Keys of the param space are a3c_ray.Config fields (presets apply to what is left out). experiments/tune_sweep.py
has a search and a PBT example.

A trial's run as it stands is its last checkpoint (`Result.checkpoint`; its run_files.json lists the run's files).
The run's directory in the trial directory (`a3c_run`) reaches storage through Tune's uploads, which never delete:
after a PBT clone it may keep a best_checkpoint.pt of the trial's life before the clone.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ray import tune

from a3c_ray.config import make_config
from a3c_ray.plumbing.atomic import atomic_write_text
from a3c_ray.run.run_dir import BEST_CHECKPOINT_NAME, CHECKPOINT_NAME, resume_config
from a3c_ray.run.trainer import Trainer

REPORT_EVERY_S = 2.0
RUN_FILES_LIST = "run_files.json"  # in a trial's checkpoint: the run files that belong to it (see _copy_run)
RUN_FILE_NAMES = ("config.json", "progress.csv", "episodes.csv", "evals.csv", CHECKPOINT_NAME, BEST_CHECKPOINT_NAME)


def trial_resources(workers: int = 2, backend: str = "ray") -> tune.PlacementGroupFactory:
    """One bundle for the trial's driver and one per Ray rollout worker actor, reserved together (the serial
    backend's workers take turns in the driver; mp's processes are the trial's own: give them CPUs as bundles)."""
    return tune.PlacementGroupFactory([{"CPU": 1}] + ([{"CPU": 1}] * workers if backend != "serial" else []))


def a3c_trainable(param_space: dict[str, Any], checkpoint_every: int | None = None) -> None:
    """Train one config; resume from the trial's last checkpoint after a Tune restart or a PBT exploit.

    With PBT, a function trainable must report a checkpoint at each perturbation: pass its interval, in reports,
    as `checkpoint_every` (tune.with_parameters(a3c_trainable, checkpoint_every=4))."""
    trial_dir = Path(tune.get_context().get_trial_dir()) / "a3c_run"
    # Tune keeps the trial's checkpoints (CheckpointConfig(num_to_keep=...)); a history of our own in the trial
    # directory would be synced as artifacts while it rotates
    values = {"progress_bar": False, "report_interval_s": REPORT_EVERY_S, "keep_checkpoints": 0, **param_space}
    reporter = TuneReporter(checkpoint_every)
    checkpoint = tune.get_checkpoint()
    if checkpoint is not None:  # a restart, or PBT's clone of another trial: that run, whole, replaces this one's
        with checkpoint.as_directory() as saved:
            restore_from = Path(saved)
            config = resume_config(restore_from, **{k: v for k, v in values.items() if k != "env"})
            shutil.rmtree(trial_dir, ignore_errors=True)  # no best weights or evaluations of its own past stay
            _copy_run(restore_from, trial_dir)
        config.out = str(trial_dir)
        trainer = Trainer(config, resume=True, on_report=reporter)
    else:
        env = values.pop("env")
        config = make_config(env, out=str(trial_dir), overwrite=True, **values)
        trainer = Trainer(config, on_report=reporter)
    try:
        trainer.run()
    finally:
        trainer.close()
    reporter(trainer, trainer.recorder.progress_rows[-1] if trainer.recorder.progress_rows else {}, final=True)


class TuneReporter:
    """tune.report with each progress row; with a checkpoint of the run every --checkpoint-interval-s (and every
    `checkpoint_every` reports, when given), and last."""

    def __init__(self, checkpoint_every: int | None = None):
        self.checkpointed: float | None = None  # when the last checkpoint went with a report
        self.every, self.reports = checkpoint_every, 0

    def __call__(self, trainer: Trainer, row: dict, final: bool = False) -> None:
        metrics = {k: v for k, v in row.items() if isinstance(v, (int, float))}
        metrics["solved"] = trainer.recorder.stop.solved_at is not None
        metrics["finished"] = final  # not "done": Tune reserves that key
        now = time.monotonic()
        self.reports += 1
        due = self.checkpointed is None or now - self.checkpointed >= trainer.config.checkpoint_interval_s or (
            self.every is not None and self.reports % self.every == 0)
        if not (final or due):
            tune.report(metrics)
            return
        self.checkpointed = now  # the first report checkpoints too: PBT may clone a trial early
        with tempfile.TemporaryDirectory() as tmp:
            trainer.flush()
            names = _copy_run(trainer.run_dir, Path(tmp))
            atomic_write_text(Path(tmp) / RUN_FILES_LIST, json.dumps(names) + "\n")
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(tmp))


def _copy_run(source: Path, target: Path) -> list[str]:
    """Copy what a run continues from (its settings, tables, evaluations, latest and best checkpoints) and return
    their names. Out of a checkpoint, only the files on its RUN_FILES_LIST: Tune writes a checkpoint into a
    directory that may hold an older checkpoint of the same name (a trial restored from an earlier index reuses the
    names after it) and never deletes there, so a best_checkpoint.pt of another history may sit beside tables that
    never recorded it (seen: a PBT clone whose evals.csv was empty beside a best checkpoint scoring 500)."""
    listed = source / RUN_FILES_LIST
    names = json.loads(listed.read_text()) if listed.is_file() else \
        [name for name in RUN_FILE_NAMES if (source / name).exists()]
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(source / name, target / name)
    return names
