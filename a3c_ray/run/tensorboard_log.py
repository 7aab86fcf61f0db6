"""--tensorboard: the progress table's scalars as TensorBoard events in <run>/tb, stepped by env steps.

Uses torch.utils.tensorboard (the `tensorboard` extra). Every numeric progress column is written under its own
name (episode_return_mean, policy_loss, ..., env_steps_per_s, policy_lag_mean), and the evaluation columns on
the rows where an evaluation finished, stepped by the env steps its weights were taken at.
"""

from __future__ import annotations

import math
from pathlib import Path

from a3c_ray.errors import ConfigError

TB_DIR = "tb"
NOT_SCALARS = {"env_steps", "eval_env_steps", "eval_return_mean", "eval_return_std"}
INSTALL = "--tensorboard needs the tensorboard extra: pip install \"a3c-ray[tensorboard]\""


def check_available() -> None:
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise ConfigError(INSTALL) from None


class TensorBoardLog:
    def __init__(self, run_dir: Path):
        check_available()
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(run_dir / TB_DIR))

    def write(self, row: dict) -> None:
        step = int(row["env_steps"])
        for key, value in row.items():
            if key not in NOT_SCALARS and isinstance(value, (int, float)) and math.isfinite(value):
                self.writer.add_scalar(key, value, step)
        if math.isfinite(row.get("eval_return_mean", math.nan)):
            eval_step = int(row["eval_env_steps"])
            self.writer.add_scalar("eval_return_mean", row["eval_return_mean"], eval_step)
            self.writer.add_scalar("eval_return_std", row["eval_return_std"], eval_step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()
