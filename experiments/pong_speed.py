"""Pong on 2 cores: env steps/s with the Nature CNN on each backend, ale-py's AtariVectorEnv against the loop of
single envs, and the gradient size and round trip on Ray.

    python experiments/pong_speed.py                 # 45 s per configuration, seed 0
    python experiments/pong_speed.py --seconds 20
    python experiments/pong_speed.py --quick         # 15 s per configuration

Each configuration is `a3c-ray train --env ALE/Pong-v5` (the ALE preset: 4 envs x 20 steps per task, 2 workers)
with the evaluation off, stopped after `--seconds` of training. Throughput is the summary's env_steps_per_s; on
Ray the progress table's compute_s (a task's rollout + backward in the worker) and round_trip_s (the task sent
to its result back at the driver) give the transport's share of a worker's time. Writes `<out>/pong_speed.csv`
and `.md`. Training Pong to a mean of 18 takes hours here: `a3c-ray train --env ALE/Pong-v5 --workers 15 ...`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from a3c_ray import RunResult
from a3c_ray.core.learner import Learner
from a3c_ray.plumbing.atomic import atomic_write_text
from common import output_dir, parser, sweep, table, value

CONFIGS = {  # name -> overrides
    "ray, AtariVectorEnv": {"backend": "ray"},
    "ray, loop of envs": {"backend": "ray", "native_vector_env": False},
    "ray, AtariVectorEnv, bfloat16 gradients": {"backend": "ray", "grad_dtype": "bfloat16"},
    "mp, AtariVectorEnv": {"backend": "mp"},
    "serial, AtariVectorEnv": {"backend": "serial"},
}


KEYS = ["env_steps_per_s", "grad_bytes", "compute_s", "round_trip_s", "transport_share"]


def transport(result: RunResult) -> dict:
    """The gradient's size, and a task's compute and round trip in the steady state (past the workers' start)."""
    progress = result.progress.iloc[len(result.progress) // 3:]
    compute, round_trip = progress["compute_s"].median(), progress["round_trip_s"].median()
    params = sum(p.numel() for p in Learner(result.config).model.parameters())
    return {"grad_bytes": params * (2 if result.config.grad_dtype == "bfloat16" else 4), "compute_s": compute,
            "round_trip_s": round_trip,
            "transport_share": (round_trip - compute) / round_trip if round_trip and np.isfinite(round_trip) else None}


def markdown(runs: pd.DataFrame) -> str:
    """One line per configuration."""
    return table(runs, ["configuration"], {
        "env steps/s": value("env_steps_per_s", ",.0f"), "gradient bytes": value("grad_bytes", ","),
        "task compute s": value("compute_s", ".3f"), "round trip s": value("round_trip_s", ".3f"),
        "transport share": value("transport_share", ".0%")}, each_row=True)


def main() -> None:
    options = parser(__doc__, "pong_speed")
    options.add_argument("--seconds", type=float, default=45.0)
    args = options.parse_args()
    out = output_dir(args, "pong_speed")

    def save(runs: pd.DataFrame) -> None:
        atomic_write_text(out / "pong_speed.csv", runs.to_csv(index=False))
        atomic_write_text(out / "pong_speed.md", markdown(runs))

    sweep(CONFIGS, [0], out / "runs", label="configuration", keys=KEYS, extra=transport, on_row=save,
          env="ALE/Pong-v5", workers=2, stop_seconds=15.0 if args.quick else args.seconds, eval_interval_steps=0)


if __name__ == "__main__":
    main()
