"""Result tables of a run: per-episode and per-interval rows, summary, and loaders that return pandas."""

from __future__ import annotations

import json
import math
import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from a3c_ray.atomic import atomic_write, atomic_write_text
from a3c_ray.config import Config

WINDOW = 100  # episodes in the "solved" mean, as gymnasium's reward_threshold is meant
METRICS = ("policy_loss", "value_loss", "entropy", "grad_norm")


@dataclass
class Update:
    """One gradient as the driver saw it: applied, or skipped for being non-finite."""

    worker: int
    env_steps: int
    episodes: list[tuple[float, int]]
    metrics: dict[str, float]
    policy_lag: int
    applied: bool = True
    skip_reason: str = ""  # "non_finite" or "stale" when not applied


@dataclass
class Recorder:
    """Accumulates updates into `episodes` and `progress` rows; knows when the run is solved."""

    config: Config
    start_time: float = 0.0
    time_offset: float = 0.0  # training seconds of earlier sessions of a resumed run
    env_steps: int = 0
    updates: int = 0
    skipped_updates: int = 0  # non-finite loss or gradients
    stale_updates: int = 0  # dropped for a policy lag over --max-policy-lag
    skipped_in_a_row: int = 0
    episode_rows: list[dict[str, Any]] = field(default_factory=list)
    progress_rows: list[dict[str, Any]] = field(default_factory=list)
    recent_returns: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    recent_lengths: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    solved_at: tuple[float, int] | None = None  # (training seconds, env steps)
    best_return_mean: float = -math.inf
    _interval: list[Update] = field(default_factory=list)
    _last_row: tuple[float, int] = (0.0, 0)

    def elapsed(self, now: float) -> float:
        return now - self.start_time + self.time_offset

    def restore(self, episodes: pd.DataFrame, progress: pd.DataFrame, counters: dict[str, float]) -> None:
        """Continue a saved run: its rows, counters and the window of recent returns carry on."""
        self.episode_rows = episodes.to_dict("records")
        self.progress_rows = progress.to_dict("records")
        self.env_steps = int(counters["env_steps"])
        self.skipped_updates = int(counters.get("skipped_updates", 0))
        self.stale_updates = int(counters.get("stale_updates", 0))
        self.time_offset = float(counters.get("training_s", progress["time_s"].max() if len(progress) else 0.0))
        self._last_row = (self.time_offset, self.env_steps)
        for row in self.episode_rows[-WINDOW:]:
            self.recent_returns.append(row["return"])
            self.recent_lengths.append(row["length"])

    def record(self, update: Update, now: float) -> None:
        elapsed = self.elapsed(now)
        self.env_steps += update.env_steps
        if update.applied:
            self.updates += 1
            self.skipped_in_a_row = 0
        elif update.skip_reason == "stale":
            self.stale_updates += 1
        else:
            self.skipped_updates += 1  # non-finite loss or gradient: never applied, counted
            self.skipped_in_a_row += 1
        self._interval.append(update)
        for ret, length in update.episodes:
            self.episode_rows.append({"episode": len(self.episode_rows), "worker": update.worker, "return": ret,
                                      "length": length, "env_steps": self.env_steps, "time_s": elapsed})
            self.recent_returns.append(ret)
            self.recent_lengths.append(length)
        if len(self.recent_returns) == WINDOW:
            self.best_return_mean = max(self.best_return_mean, self.return_mean)
            if self.solved_at is None and self.config.stop_return is not None \
                    and self.return_mean >= self.config.stop_return:
                self.solved_at = (elapsed, self.env_steps)

    @property
    def return_mean(self) -> float:
        return float(np.mean(self.recent_returns)) if self.recent_returns else math.nan

    def progress_row(self, now: float, version: int, extra: dict[str, float] | None = None) -> dict[str, Any]:
        elapsed = self.elapsed(now)
        last_time, last_steps = self._last_row
        applied = [u for u in self._interval if u.applied]
        lags = [u.policy_lag for u in self._interval]
        row: dict[str, Any] = {
            "time_s": elapsed, "updates": version, "env_steps": self.env_steps, "episodes": len(self.episode_rows),
            "episode_return_mean": self.return_mean,
            "episode_len_mean": float(np.mean(self.recent_lengths)) if self.recent_lengths else math.nan,
            **{m: float(np.mean([u.metrics[m] for u in applied])) if applied else math.nan for m in METRICS},
            "policy_lag_mean": float(np.mean(lags)) if lags else math.nan,
            "policy_lag_max": int(max(lags)) if lags else 0,
            "env_steps_per_s": (self.env_steps - last_steps) / max(elapsed - last_time, 1e-9),
            "skipped_updates": self.skipped_updates, "stale_updates": self.stale_updates,
            **(extra or {}),
        }
        self.progress_rows.append(row)
        self._interval = []
        self._last_row = (elapsed, self.env_steps)
        return row

    def progress(self) -> pd.DataFrame:
        return pd.DataFrame(self.progress_rows)

    def episodes(self) -> pd.DataFrame:
        return pd.DataFrame(self.episode_rows, columns=["episode", "worker", "return", "length", "env_steps",
                                                        "time_s"])


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


@dataclass
class RunResult:
    """A finished (or loaded) run: its directory, tables and summary."""

    run_dir: Path
    config: Config
    progress: pd.DataFrame
    episodes: pd.DataFrame
    summary: dict[str, Any]


def load_run(run_dir: str | os.PathLike) -> RunResult:
    """Read one run directory back into DataFrames."""
    run_dir = Path(run_dir)
    config = Config.from_json((run_dir / "config.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    return RunResult(run_dir, config, pd.read_csv(run_dir / "progress.csv"), pd.read_csv(run_dir / "episodes.csv"),
                     summary)


def load_runs(run_dirs: list[str | os.PathLike], table: str = "progress") -> pd.DataFrame:
    """Stack many runs' `progress` (or `episodes`, or `summary`) rows, config columns beside the metrics."""
    frames = []
    for run_dir in run_dirs:
        run = load_run(run_dir)
        frame = pd.DataFrame([run.summary]) if table == "summary" else getattr(run, table).copy()
        for key, value in json.loads(run.config.to_json()).items():
            if key not in frame.columns:
                frame[key] = str(value) if isinstance(value, list) else value
        frame["run_dir"] = str(run.run_dir)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
