"""A run's files as pandas: the loaders users call, and the atomic writers of its tables."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from a3c_ray.config import Config
from a3c_ray.plumbing.atomic import atomic_write, atomic_write_text


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
    evals: pd.DataFrame | None = None  # one row per greedy evaluation during training


def load_run(run_dir: str | os.PathLike) -> RunResult:
    """Read one run directory back into DataFrames."""
    run_dir = Path(run_dir)
    config = Config.from_json((run_dir / "config.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    evals = pd.read_csv(run_dir / "evals.csv") if (run_dir / "evals.csv").is_file() else None
    return RunResult(run_dir, config, pd.read_csv(run_dir / "progress.csv"), pd.read_csv(run_dir / "episodes.csv"),
                     summary, evals)


def load_runs(run_dirs: list[str | os.PathLike], table: str = "progress") -> pd.DataFrame:
    """Stack many runs' `progress` (or `episodes`, `evals` or `summary`) rows, config columns beside the
    metrics."""
    frames = []
    for run_dir in run_dirs:
        run = load_run(run_dir)
        frame = pd.DataFrame([run.summary]) if table == "summary" else getattr(run, table)
        if frame is None:  # a run without evaluations
            continue
        frame = frame.copy()
        for key, value in json.loads(run.config.to_json()).items():
            if key not in frame.columns:
                frame[key] = str(value) if isinstance(value, list) else value
        frame["run_dir"] = str(run.run_dir)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
