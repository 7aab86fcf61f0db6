"""train(config): run a backend until a stop criterion, recording tables, checkpoints and the summary."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import torch

from a3c_ray.backends import make_backend
from a3c_ray.backends.protocol import counters as backend_counters
from a3c_ray.config import Config
from a3c_ray.core.learner import Learner
from a3c_ray.errors import CheckpointError, TrainingError
from a3c_ray.plumbing.atomic import atomic_write_text
from a3c_ray.plumbing.interrupts import Interrupts
from a3c_ray.plumbing.spawn import exit_if_reimported
from a3c_ray.run.checkpoint import keep_history, load_checkpoint, save_checkpoint
from a3c_ray.run.periodic_eval import EvaluationSchedule
from a3c_ray.run.progress import ProgressLine
from a3c_ray.run.recorder import Recorder
from a3c_ray.run.results import RunResult, write_csv, write_json
from a3c_ray.run.run_dir import CHECKPOINT_NAME, prepare_run_dir

MAX_SKIPPED_IN_A_ROW = 50
__all__ = ["Trainer", "train"]


class Trainer:
    """One run: owns the learner, the backend and the run directory."""

    def __init__(self, config: Config, resume: bool = False,
                 on_report: Callable[["Trainer", dict], None] | None = None):
        """on_report(trainer, progress_row) is called after every progress row (Tune reports through it)."""
        exit_if_reimported()
        self.on_report = on_report
        self.config = config.validate()
        if config.tensorboard:
            from a3c_ray.run.tensorboard_log import check_available

            check_available()
        # The driver's work (one small optimizer step per update) gains nothing from a second torch thread,
        # whose spin-waiting takes CPU from the workers on a small machine.
        torch.set_num_threads(1)
        torch.manual_seed(config.seed)  # the initial weights every worker starts from: --seed fixes them too
        self.learner = Learner(config)  # makes the env once: a bad id fails before anything touches the disk
        self.backend = make_backend(config, self.learner)
        self.backend.check()  # an unreachable cluster, too
        self.recorder = Recorder(config)
        if resume:
            self.run_dir = Path(config.out).absolute()  # as prepare_run_dir: a cwd can vanish (spawn.start_in)
            self.restore()
        else:
            self.run_dir = prepare_run_dir(config)
        atomic_write_text(self.run_dir / "config.json", config.to_json() + "\n")
        self.stop_reason = ""
        self.summary: dict = {}
        self.tensorboard = None

    def restore(self) -> None:
        """Load model, optimizer, normaliser, version and tables of the run in --out, to continue it."""
        payload = load_checkpoint(self.run_dir)
        try:
            self.learner.model.load_state_dict(payload["model"])
            self.learner.optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError):
            raise CheckpointError(f"the checkpoint in {str(self.run_dir)!r} does not fit env {self.config.env!r} "
                                  "and these settings (other shapes, --lstm or not); resume with the settings it "
                                  "was made with") from None
        self.learner.normalizer.load(payload["normalizer"])
        counters = payload["counters"]
        self.learner.version = int(counters["version"])
        evals = self.run_dir / "evals.csv"
        self.recorder.restore(pd.read_csv(self.run_dir / "episodes.csv"), pd.read_csv(self.run_dir / "progress.csv"),
                              counters, pd.read_csv(evals) if evals.is_file() else None)

    def run(self) -> RunResult:
        """Train until a stop criterion; stop the workers and write every file. The runtime (a Ray this run
        started) stays up until close(), so a crash in its teardown cannot cost a file."""
        t_begin = time.perf_counter()
        backend, startup_s, interrupts = self.backend, 0.0, Interrupts()
        evaluation = None
        self.bar = ProgressLine(self.config)
        with interrupts.installed():
            try:
                if self.config.eval_interval_steps:  # its process starts while the backend does
                    evaluation = EvaluationSchedule(self.config, self.run_dir, self.recorder.env_steps,
                                                    blocking=self.config.evaluations_block)
                if self.config.tensorboard:
                    from a3c_ray.run.tensorboard_log import TensorBoardLog

                    self.tensorboard = TensorBoardLog(self.run_dir)
                backend.start()
                interrupts.take_back()
                now = time.perf_counter()
                startup_s = now - t_begin
                self.recorder.start_time = backend.clock()
                self._train(now, evaluation)
            except KeyboardInterrupt:
                self.stop_reason = "interrupted"
            except TrainingError:
                self.stop_reason = "diverged"
                raise
            finally:
                interrupts.disarm()
                counters = backend_counters(self.backend)  # as the run ended, before the workers are stopped
                try:
                    backend.stop()
                    if evaluation is not None:
                        if self.stop_reason in ("stop_steps", "stop_seconds"):  # its last round, recorded
                            evaluation.finish(self.recorder, backend.clock)
                        evaluation.close()
                finally:
                    self.bar.close()
                    self.finish(counters, startup_s, time.perf_counter() - t_begin)
                    if self.tensorboard is not None:
                        self.tensorboard.close()
        r = self.recorder
        return RunResult(self.run_dir, self.config, r.progress(), r.episodes(), self.summary,
                         r.evals() if r.eval_rows else None)

    def _train(self, now: float, evaluation: EvaluationSchedule | None) -> None:
        """Reports and checkpoints follow the wall clock; what the run records (times, --stop-seconds) follows the
        backend's training clock, which is the wall clock too except for the virtual backend's simulated one."""
        next_report = now + self.config.report_interval_s
        next_checkpoint = now + self.config.checkpoint_interval_s
        clock = self.backend.clock
        while not self.stop_reason:
            for update in self.backend.poll(timeout=1.0):
                self.recorder.record(update, clock())
            self.learner.set_progress(self.recorder.env_steps)
            if evaluation is not None:
                evaluation.step(self.learner, self.recorder, clock())
            if self.recorder.skipped_in_a_row >= MAX_SKIPPED_IN_A_ROW:
                raise TrainingError(f"{self.recorder.skipped_in_a_row} non-finite gradients in a row; "
                                    "the last good weights are in the checkpoint. Lower --lr or "
                                    "--max-grad-norm, or turn on --normalize-obs/--normalize-reward")
            now = time.perf_counter()
            self.stop_reason = self.recorder.stop.reason(self.recorder.env_steps, self.recorder.elapsed(clock()))
            if now >= next_report:
                self._report(self.recorder.progress_row(clock(), self.learner.version,
                                                        backend_counters(self.backend)))
                next_report = now + self.config.report_interval_s
            if now >= next_checkpoint:
                self.flush()
                next_checkpoint = now + self.config.checkpoint_interval_s

    def _report(self, row: dict) -> None:
        """A progress row to the live line, TensorBoard and the caller (Tune)."""
        self.bar.update(row)
        if self.tensorboard is not None:
            self.tensorboard.write(row)
        if self.on_report is not None:
            self.on_report(self, row)

    def close(self) -> None:
        """Release the runtime (Ray's shutdown, when this run started Ray). Call it after run(), last."""
        self.backend.close()

    def flush(self, now: float | None = None) -> None:
        """Checkpoint and tables as they stand, each written atomically (`now` on the backend's clock)."""
        self.save_checkpoint(self.backend.clock() if now is None else now)
        write_csv(self.run_dir / "progress.csv", self.recorder.progress())
        write_csv(self.run_dir / "episodes.csv", self.recorder.episodes())
        if self.config.eval_interval_steps or self.recorder.eval_rows:
            write_csv(self.run_dir / "evals.csv", self.recorder.evals())

    def save_checkpoint(self, now: float) -> None:
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, config=self.config,
                        model_state=self.learner.model.state_dict(),
                        optimizer_state=self.learner.optimizer.state_dict(),
                        normalizer_state=self.learner.normalizer.state(),
                        counters=self.recorder.counters(self.learner.version, now))
        keep_history(self.run_dir / CHECKPOINT_NAME, self.learner.version, self.config.keep_checkpoints)

    def finish(self, counters: dict[str, int], startup_s: float, wall_s: float) -> None:
        """Write everything a run leaves behind; each file atomically, so an interrupt never leaves half a file."""
        from a3c_ray.run.plotting import plot_learning_curves  # matplotlib: only now, not at start-up

        r = self.recorder
        end = self.backend.clock()  # one clock reading: the last row, the checkpoint and the summary agree
        if r.start_time is not None:
            self._report(r.progress_row(end, self.learner.version, counters))
        self.flush(end)
        self.summary = r.summary(self.config, self.learner.version, end, stop_reason=self.stop_reason or "error",
                                 **counters, wall_s=wall_s, startup_s=startup_s)
        write_json(self.run_dir / "summary.json", self.summary)
        if len(r.episode_rows):
            plot_learning_curves({self.run_dir.name: r.episodes()}, self.run_dir / "learning_curve.png",
                                 title=f"{self.config.env} ({self.config.backend}, seed {self.config.seed})",
                                 evals={self.run_dir.name: r.evals()} if r.eval_rows else None)


def train(config: Config, resume: bool = False) -> RunResult:
    """Train A3C with `config` and return the run's tables; files land in the run directory too.

    With resume=True, continue the run in `config.out` from its checkpoint (see resume_config).
    """
    trainer = Trainer(config, resume)
    try:
        return trainer.run()
    finally:
        trainer.close()
