"""Checkpoints: plain tensors, dicts and strings, so torch.load(weights_only=True) reads them and runs no code."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from a3c_ray.config import Config
from a3c_ray.errors import CheckpointError, ConfigError
from a3c_ray.plumbing.atomic import atomic_write
from a3c_ray.run.run_dir import CHECKPOINT_NAME, HISTORY_DIR

FORMAT = "a3c_ray.run.checkpoint/1"


def save_checkpoint(path: str | os.PathLike, *, config: Config, model_state: dict, optimizer_state: dict,
                    normalizer_state: dict[str, np.ndarray], counters: dict[str, float]) -> None:
    payload = {
        "format": FORMAT,
        "config_json": config.to_json(),
        "model": model_state,
        "optimizer": optimizer_state,
        "normalizer": {k: torch.as_tensor(np.asarray(v)) for k, v in normalizer_state.items()},
        "counters": {k: float(v) for k, v in counters.items()},
    }
    atomic_write(path, lambda tmp: torch.save(payload, tmp))


def keep_history(latest: Path, version: int, keep: int) -> Path | None:
    """Copy the latest checkpoint to checkpoints/checkpoint-<version>.pt and delete all but the newest `keep`.

    The newest copies stay on disk so a checkpoint damaged later (or a run that went bad) can be rolled back.
    """
    if keep < 1:
        return None
    history = latest.parent / HISTORY_DIR
    history.mkdir(exist_ok=True)
    target = history / f"checkpoint-{version:09d}.pt"
    atomic_write(target, lambda tmp: shutil.copyfile(latest, tmp))
    for old in sorted(history.glob("checkpoint-*.pt"))[:-keep]:
        old.unlink(missing_ok=True)
    return target


def load_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Load and check a checkpoint; raise CheckpointError with the reason and what to do instead."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {str(path)!r}; pass a run directory or its {CHECKPOINT_NAME}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights_only" in str(exc) or "Unsupported global" in str(exc):
            raise CheckpointError(f"{str(path)!r} holds pickled objects and is untrusted; it was not loaded. "
                                  "Use a checkpoint written by a3c-ray") from None
        raise CheckpointError(f"{str(path)!r} is not a readable checkpoint ({exc})") from None
    except Exception as exc:  # torch raises many kinds for a damaged file; all mean the same to the user
        raise CheckpointError(f"{str(path)!r} is truncated or not a checkpoint ({type(exc).__name__}); "
                              "use a complete checkpoint.pt written by a3c-ray") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{str(path)!r} is not an a3c-ray checkpoint (format {FORMAT} expected)")
    try:
        payload["config"] = Config.from_json(payload["config_json"])
    except (ConfigError, ValueError, TypeError) as exc:
        raise CheckpointError(f"{str(path)!r} has an unreadable config ({exc})") from None
    payload["normalizer"] = {k: v.numpy() for k, v in payload["normalizer"].items()}
    return payload
