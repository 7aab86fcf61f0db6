"""The counters and rows of one run: episodes, progress intervals and evaluations, and the summary built from them.

The Recorder owns every counter the summary reports; when the run stops is its StopRule's to say.
"""

from __future__ import annotations

import math
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from a3c_ray.config import Config
from a3c_ray.core.gradient_batch import Update
from a3c_ray.run.stop_rule import StopRule

WINDOW = 100  # episodes in the "solved" mean, as gymnasium's reward_threshold is meant
METRICS = ("policy_loss", "value_loss", "entropy", "grad_norm", "compute_s", "round_trip_s")


@dataclass
class Recorder:
    """Accumulates updates into `episodes` and `progress` rows; its StopRule says when the run is solved."""

    config: Config
    start_time: float | None = None  # the training clock's reading when training started (None: not yet)
    time_offset: float = 0.0  # training seconds of earlier sessions of a resumed run
    env_steps: int = 0
    updates: int = 0  # optimizer steps
    gradients: int = 0  # gradients applied (an update holds one or more)
    skipped_updates: int = 0  # gradients left out: non-finite loss or gradients
    stale_updates: int = 0  # gradients dropped for a policy lag over --max-policy-lag
    skipped_in_a_row: int = 0
    episode_rows: list[dict[str, Any]] = field(default_factory=list)
    progress_rows: list[dict[str, Any]] = field(default_factory=list)
    recent_returns: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    recent_lengths: deque = field(default_factory=lambda: deque(maxlen=WINDOW))
    stop: StopRule | None = None  # from the config, when not given
    best_return_mean: float = -math.inf
    eval_rows: list[dict[str, Any]] = field(default_factory=list)
    best_eval: dict[str, Any] | None = None  # the eval row with the highest mean return
    lags: Counter = field(default_factory=Counter)  # policy lag -> gradients with it (this session's)
    _interval: list[Update] = field(default_factory=list)
    _interval_evals: list[dict[str, Any]] = field(default_factory=list)
    _last_row: tuple[float, int] = (0.0, 0)

    def __post_init__(self) -> None:
        if self.stop is None:
            self.stop = StopRule.of(self.config)

    def elapsed(self, now: float) -> float:
        return now - (self.start_time or 0.0) + self.time_offset

    def restore(self, episodes: pd.DataFrame, progress: pd.DataFrame, counters: dict[str, float],
                evals: pd.DataFrame | None = None) -> None:
        """Continue a saved run: its rows, counters and the window of recent returns carry on."""
        self.episode_rows = episodes.to_dict("records")
        self.eval_rows = [] if evals is None else evals.to_dict("records")
        self.best_eval = max(self.eval_rows, key=lambda r: r["return_mean"], default=None)
        self.progress_rows = progress.to_dict("records")
        self.env_steps = int(counters["env_steps"])
        self.skipped_updates = int(counters.get("skipped_updates", 0))
        self.stale_updates = int(counters.get("stale_updates", 0))
        self.gradients = int(counters.get("gradients", counters.get("version", 0)))
        self.time_offset = float(counters.get("training_s", progress["time_s"].max() if len(progress) else 0.0))
        self._last_row = (self.time_offset, self.env_steps)
        for row in self.episode_rows[-WINDOW:]:
            self.recent_returns.append(row["return"])
            self.recent_lengths.append(row["length"])

    def record(self, update: Update, now: float) -> None:
        elapsed = self.elapsed(now)
        self.updates += int(update.applied)
        episodes = len(self.episode_rows)
        for info in update.gradients:
            self.env_steps += info.env_steps
            self.lags[info.policy_lag] += 1
            if not info.status:
                self.gradients += 1
                self.skipped_in_a_row = 0
            elif info.status == "stale":
                self.stale_updates += 1
            else:
                self.skipped_updates += 1  # non-finite loss or gradient: never applied, counted
                self.skipped_in_a_row += 1
            for ret, length in info.episodes:
                self.episode_rows.append({"episode": len(self.episode_rows), "worker": info.worker, "return": ret,
                                          "length": length, "env_steps": self.env_steps, "time_s": elapsed})
                self.recent_returns.append(ret)
                self.recent_lengths.append(length)
        self._interval.append(update)
        if len(self.recent_returns) == WINDOW and len(self.episode_rows) > episodes:  # the mean moved: one mean
            mean = self.return_mean  # per update that ended an episode (each update cost one: ~5% of Ray's driver)
            self.best_return_mean = max(self.best_return_mean, mean)
            self.stop.training_mean(mean, elapsed, self.env_steps)

    def record_eval(self, version: int, env_steps: int, returns: list[float], now: float,
                    confirmed_mean: float | None = None) -> bool:
        """One greedy evaluation of the weights taken at `env_steps`; True when it is the best so far. With the
        eval stop rule, the run is solved by `confirmed_mean`: a second round on fresh seeds of weights whose
        first round reached the threshold (see EvaluationSchedule and StopRule)."""
        row = {"eval": len(self.eval_rows), "version": version, "env_steps": env_steps,
               "time_s": self.elapsed(now), "return_mean": float(np.mean(returns)),
               "return_std": float(np.std(returns)), "episodes": len(returns)}
        self.eval_rows.append(row)
        self._interval_evals.append(row)
        best = self.best_eval is None or row["return_mean"] > self.best_eval["return_mean"]
        if best:
            self.best_eval = row
        if confirmed_mean is not None:
            self.stop.confirmed_eval(confirmed_mean, row["time_s"], self.env_steps)
        return best

    @property
    def return_mean(self) -> float:
        return float(np.mean(self.recent_returns)) if self.recent_returns else math.nan

    def progress_row(self, now: float, version: int, extra: dict[str, float] | None = None) -> dict[str, Any]:
        elapsed = self.elapsed(now)
        last_time, last_steps = self._last_row
        infos = [info for update in self._interval for info in update.gradients]
        applied = [info for info in infos if not info.status]
        steps = sum(update.applied for update in self._interval)
        lags = [info.policy_lag for info in infos]
        row: dict[str, Any] = {
            "time_s": elapsed, "updates": version, "env_steps": self.env_steps, "episodes": len(self.episode_rows),
            "episode_return_mean": self.return_mean,
            "episode_len_mean": float(np.mean(self.recent_lengths)) if self.recent_lengths else math.nan,
            **{m: float(np.mean([i.metrics.get(m, math.nan) for i in applied])) if applied else math.nan
               for m in METRICS},
            "policy_lag_mean": float(np.mean(lags)) if lags else math.nan,
            "policy_lag_p95": float(np.percentile(lags, 95, method="inverted_cdf")) if lags else math.nan,
            "policy_lag_max": int(max(lags)) if lags else 0,
            "gradients": self.gradients,
            "gradients_per_update": len(applied) / steps if steps else math.nan,
            "env_steps_per_s": (self.env_steps - last_steps) / max(elapsed - last_time, 1e-9),
            "skipped_updates": self.skipped_updates, "stale_updates": self.stale_updates,
            **self._eval_columns(), **(extra or {}),
        }
        self.progress_rows.append(row)
        self._interval, self._interval_evals = [], []
        self._last_row = (elapsed, self.env_steps)
        return row

    def _eval_columns(self) -> dict[str, float]:
        """The newest evaluation that finished in this interval (NaN when none did)."""
        last = self._interval_evals[-1] if self._interval_evals else None
        return {"eval_return_mean": last["return_mean"] if last else math.nan,
                "eval_return_std": last["return_std"] if last else math.nan,
                "eval_env_steps": last["env_steps"] if last else math.nan}

    def evals(self) -> pd.DataFrame:
        return pd.DataFrame(self.eval_rows, columns=["eval", "version", "env_steps", "time_s", "return_mean",
                                                     "return_std", "episodes"])

    def progress(self) -> pd.DataFrame:
        return pd.DataFrame(self.progress_rows)

    def episodes(self) -> pd.DataFrame:
        return pd.DataFrame(self.episode_rows, columns=["episode", "worker", "return", "length", "env_steps",
                                                        "time_s"])

    def counters(self, version: int, now: float) -> dict[str, float]:
        """What a checkpoint keeps of the counters, so that a resumed run carries on from them."""
        return {"version": version, "env_steps": self.env_steps, "episodes": len(self.episode_rows),
                "skipped_updates": self.skipped_updates, "gradients": self.gradients,
                "stale_updates": self.stale_updates, "training_s": self.training_s(now)}

    def training_s(self, now: float) -> float:
        return self.elapsed(now) if self.start_time is not None else self.time_offset

    def summary(self, config: Config, version: int, now: float, **extra: Any) -> dict[str, Any]:
        """summary.json: how the run went, with `extra` (the stop reason, the backend's counters, timings)."""
        training_s = self.training_s(now)
        best = self.best_eval
        return {
            "env": config.env, "backend": config.backend, "workers": config.workers, "seed": config.seed,
            **self.stop.summary(), "env_steps": self.env_steps, "updates": version, "gradients": self.gradients,
            "skipped_updates": self.skipped_updates, "stale_updates": self.stale_updates,
            "episodes": len(self.episode_rows), "episode_return_mean": self.return_mean,
            "best_episode_return_mean": self.best_return_mean if self.best_return_mean > -math.inf else None,
            "evals": len(self.eval_rows), "best_eval_return": best["return_mean"] if best else None,
            "best_eval_env_steps": best["env_steps"] if best else None, "training_s": training_s,
            "env_steps_per_s": self.env_steps / training_s if training_s > 0 else 0.0,
            "gradients_per_update": self.gradients / version if version else None, **self.lag_summary(), **extra,
        }

    def lag_summary(self) -> dict[str, float | None]:
        """Policy lag over the run (this session): versions between a gradient's weights and its update."""
        if not self.lags:
            return {"policy_lag_mean": None, "policy_lag_p50": None, "policy_lag_p95": None, "policy_lag_max": None}
        values, counts = np.array(sorted(self.lags)), np.array([self.lags[v] for v in sorted(self.lags)])
        cumulative = np.cumsum(counts) / counts.sum()
        return {"policy_lag_mean": float(np.average(values, weights=counts)),
                "policy_lag_p50": int(values[np.searchsorted(cumulative, 0.5)]),
                "policy_lag_p95": int(values[np.searchsorted(cumulative, 0.95)]),
                "policy_lag_max": int(values[-1])}
