"""The live progress line: env steps, return mean, steps/s."""

from __future__ import annotations

import math
import sys

from tqdm import tqdm

from a3c_ray.config import Config


class ProgressLine:
    def __init__(self, config: Config):
        self.bar = None
        if config.progress_bar:
            total = config.stop_steps
            self.bar = tqdm(total=total, unit="step", unit_scale=True, dynamic_ncols=True, file=sys.stderr,
                            desc=config.env, disable=None)

    def update(self, row: dict) -> None:
        if self.bar is None:
            return
        self.bar.n = min(row["env_steps"], self.bar.total or row["env_steps"])
        ret = row["episode_return_mean"]
        self.bar.set_postfix_str(
            f"return {ret:.1f}, {row['env_steps_per_s'] / 1000:.1f}k steps/s, lag {row['policy_lag_mean']:.1f}"
            if not math.isnan(ret) else f"{row['env_steps_per_s'] / 1000:.1f}k steps/s")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
