"""train(config): run a backend until a stop criterion, recording tables, checkpoints and the summary."""

from __future__ import annotations

import json
import shutil
import signal
import time
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pandas as pd
import torch

from a3c_ray.atomic import atomic_write_text
from a3c_ray.backends import make_backend
from a3c_ray.checkpoint import (CHECKPOINT_NAME, HISTORY_DIR, CheckpointError, keep_history, load_checkpoint,
                                save_checkpoint)
from a3c_ray.config import Config, ConfigError
from a3c_ray.learner import Learner
from a3c_ray.plotting import plot_learning_curves
from a3c_ray.progress import ProgressLine
from a3c_ray.results import Recorder, RunResult, write_csv, write_json

MAX_SKIPPED_IN_A_ROW = 50


class TrainingError(RuntimeError):
    """Training cannot go on (say, the loss keeps diverging); the files hold the last good state."""


RUN_FILES = ("config.json", "summary.json", "progress.csv", "episodes.csv", CHECKPOINT_NAME)


def default_run_dir(config: Config) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path("runs") / f"{config.env.replace(':', '_').replace('/', '_')}-{config.backend}-s{config.seed}-{stamp}"


def prepare_run_dir(config: Config) -> Path:
    run_dir = Path(config.out) if config.out else default_run_dir(config)
    if run_dir.exists() and not run_dir.is_dir():
        raise ConfigError(f"--out {str(run_dir)!r} is a file; give a directory")
    if any((run_dir / name).exists() for name in RUN_FILES):
        if not config.overwrite:
            raise ConfigError(f"--out {str(run_dir)!r} already holds a run; choose another directory or pass "
                              "--overwrite")
        for name in (*RUN_FILES, "learning_curve.png"):
            (run_dir / name).unlink(missing_ok=True)
        shutil.rmtree(run_dir / HISTORY_DIR, ignore_errors=True)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        probe = run_dir / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {str(run_dir)!r} is not writable ({exc.strerror}); choose another directory") \
            from None
    return run_dir


@contextmanager
def sigterm_as_interrupt():
    """SIGTERM ends a run like Ctrl-C does: files are flushed, then the process exits."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class Trainer:
    """One run: owns the learner, the backend and the run directory."""

    def __init__(self, config: Config, resume: bool = False,
                 on_report: Callable[["Trainer", dict], None] | None = None):
        """on_report(trainer, progress_row) is called after every progress row (Tune reports through it)."""
        self.on_report = on_report
        self.config = config.validate()
        # The driver's work (one small optimizer step per gradient) gains nothing from a second torch thread,
        # and that thread's spin-waiting took ~60% of a core from the workers (measured on 2 cores).
        torch.set_num_threads(1)
        self.learner = Learner(config)  # makes the env once: a bad id fails before anything touches the disk
        self.backend = make_backend(config, self.learner)
        self.backend.check()  # an unreachable cluster, too
        self.recorder = Recorder(config)
        if resume:
            self.run_dir = Path(config.out)
            self.restore()
        else:
            self.run_dir = prepare_run_dir(config)
        atomic_write_text(self.run_dir / "config.json", config.to_json() + "\n")
        self.stop_reason = ""

    def restore(self) -> None:
        """Load model, optimizer, normaliser, version and tables of the run in --out, to continue it."""
        payload = load_checkpoint(self.run_dir)
        try:
            self.learner.model.load_state_dict(payload["model"])
            self.learner.optimizer.load_state_dict(payload["optimizer"])
        except (RuntimeError, ValueError, KeyError):
            raise CheckpointError(f"the checkpoint in {str(self.run_dir)!r} does not fit env {self.config.env!r} "
                                  "and these settings (other shapes); resume with the settings it was made with") \
                from None
        self.learner.normalizer.load(payload["normalizer"])
        counters = payload["counters"]
        self.learner.version = int(counters["version"])
        self.recorder.restore(pd.read_csv(self.run_dir / "episodes.csv"), pd.read_csv(self.run_dir / "progress.csv"),
                              counters)

    def should_stop(self, now: float) -> str:
        c, r = self.config, self.recorder
        if r.solved_at is not None:
            return "solved"
        if c.stop_steps is not None and r.env_steps >= c.stop_steps:
            return "stop_steps"
        if c.stop_seconds is not None and r.elapsed(now) >= c.stop_seconds:
            return "stop_seconds"
        return ""

    def run(self) -> RunResult:
        t_begin = time.perf_counter()
        backend = self.backend
        bar = ProgressLine(self.config)
        startup_s = 0.0
        try:
            with sigterm_as_interrupt():
                backend.start()
                now = time.perf_counter()
                startup_s = now - t_begin
                self.recorder.start_time = now
                next_report = now + self.config.report_interval_s
                next_checkpoint = now + self.config.checkpoint_interval_s
                while not self.stop_reason:
                    for update in backend.poll(timeout=1.0):
                        self.recorder.record(update, time.perf_counter())
                    if self.recorder.skipped_in_a_row > MAX_SKIPPED_IN_A_ROW:
                        raise TrainingError(f"{self.recorder.skipped_in_a_row} non-finite gradients in a row; "
                                            "the last good weights are in the checkpoint. Lower --lr or "
                                            "--max-grad-norm, or turn on --normalize-obs/--normalize-reward")
                    now = time.perf_counter()
                    self.stop_reason = self.should_stop(now)
                    if now >= next_report:
                        row = self.recorder.progress_row(now, self.learner.version, self.counters(backend))
                        bar.update(row)
                        if self.on_report is not None:
                            self.on_report(self, row)
                        next_report = now + self.config.report_interval_s
                    if now >= next_checkpoint:
                        self.flush()
                        next_checkpoint = now + self.config.checkpoint_interval_s
        except KeyboardInterrupt:
            self.stop_reason = "interrupted"
        except TrainingError:
            self.stop_reason = "diverged"
            raise
        finally:
            backend.close()
            bar.close()
            self.finish(backend, startup_s, time.perf_counter() - t_begin)
        return RunResult(self.run_dir, self.config, self.recorder.progress(), self.recorder.episodes(),
                         self.summary)

    def flush(self, now: float | None = None) -> None:
        """Checkpoint and tables as they stand, each written atomically."""
        self.save_checkpoint(time.perf_counter() if now is None else now)
        write_csv(self.run_dir / "progress.csv", self.recorder.progress())
        write_csv(self.run_dir / "episodes.csv", self.recorder.episodes())

    def save_checkpoint(self, now: float) -> None:
        r = self.recorder
        save_checkpoint(self.run_dir / CHECKPOINT_NAME, config=self.config,
                        model_state=self.learner.model.state_dict(),
                        optimizer_state=self.learner.optimizer.state_dict(),
                        normalizer_state=self.learner.normalizer.state(),
                        counters={"version": self.learner.version, "env_steps": r.env_steps,
                                  "episodes": len(r.episode_rows), "skipped_updates": r.skipped_updates,
                                  "stale_updates": r.stale_updates,
                                  "training_s": r.elapsed(now) if r.start_time else r.time_offset})
        keep_history(self.run_dir / CHECKPOINT_NAME, self.learner.version, self.config.keep_checkpoints)

    @staticmethod
    def counters(backend) -> dict[str, int]:
        return {"worker_restarts": backend.restarts, "worker_nodes": backend.nodes}

    def finish(self, backend, startup_s: float, wall_s: float) -> None:
        """Write everything a run leaves behind; each file atomically, so an interrupt never leaves half a file."""
        r = self.recorder
        end = time.perf_counter()  # one clock reading: the last row, the checkpoint and the summary agree
        if r.start_time:
            r.progress_row(end, self.learner.version, self.counters(backend))
        self.flush(end)
        training_s = r.elapsed(end) if r.start_time else r.time_offset
        self.summary = {
            "env": self.config.env, "backend": self.config.backend, "workers": self.config.workers,
            "seed": self.config.seed, "stop_reason": self.stop_reason or "error",
            "solved": r.solved_at is not None,
            "time_to_solve_s": r.solved_at[0] if r.solved_at else None,
            "env_steps_to_solve": r.solved_at[1] if r.solved_at else None,
            "env_steps": r.env_steps, "updates": self.learner.version, "skipped_updates": r.skipped_updates,
            "stale_updates": r.stale_updates, **self.counters(backend),
            "episodes": len(r.episode_rows), "episode_return_mean": r.return_mean,
            "best_episode_return_mean": r.best_return_mean if r.best_return_mean > float("-inf") else None,
            "stop_return": self.config.stop_return, "wall_s": wall_s, "startup_s": startup_s,
            "training_s": training_s, "env_steps_per_s": r.env_steps / training_s if training_s > 0 else 0.0,
        }
        write_json(self.run_dir / "summary.json", self.summary)
        if len(r.episode_rows):
            plot_learning_curves({self.run_dir.name: r.episodes()}, self.run_dir / "learning_curve.png",
                                 title=f"{self.config.env} ({self.config.backend}, seed {self.config.seed})")


def train(config: Config, resume: bool = False) -> RunResult:
    """Train A3C with `config` and return the run's tables; files land in the run directory too.

    With resume=True, continue the run in `config.out` from its checkpoint (see resume_config).
    """
    return Trainer(config, resume).run()


def resume_config(run_dir: str | Path, **overrides) -> Config:
    """The saved config of the run in `run_dir`, with `overrides` (None means not given) on top."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ConfigError(f"--resume {str(run_dir)!r} holds no run (no config.json); give a run directory")
    values = json.loads(Config.from_json(path.read_text()).to_json())
    values.update({k: v for k, v in overrides.items() if v is not None}, out=str(run_dir))
    return Config.from_dict(values)
