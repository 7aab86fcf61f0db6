"""Does learning survive bfloat16 gradients on the wire? MinAtar/Breakout-v1, float32 against bfloat16.

    python experiments/grad_dtype.py                  # 150 s of training each, seed 0, one after the other
    python experiments/grad_dtype.py --seconds 300 --seeds 0,1,2

Each run is `a3c-ray train --env MinAtar/Breakout-v1` (CLI defaults, Ray, 2 workers) with `--grad-dtype` float32
or bfloat16 and no early stop. Compared: env steps and seconds to a 100-episode training mean of 10, and the mean
at the end. Writes `<out>/runs.csv` and `<out>/grad_dtype.md`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from a3c_ray import make_config, train
from a3c_ray.atomic import atomic_write_text
from a3c_ray.results import WINDOW
from common import local_ray, output_dir, parser

ENV, TARGET = "MinAtar/Breakout-v1", 10.0


def run(dtype: str, seed: int, seconds: float, out) -> dict:
    config = make_config(ENV, seed=seed, grad_dtype=dtype, stop_seconds=seconds, stop_at_threshold=False,
                         progress_bar=False, overwrite=True, out=str(out / f"{dtype}-s{seed}"))
    result = train(config)
    episodes = result.episodes
    mean = episodes["return"].rolling(WINDOW).mean().to_numpy()
    hit = np.flatnonzero(mean >= TARGET)
    return {"grad_dtype": dtype, "seed": seed,
            "env_steps_to_10": int(episodes["env_steps"].iloc[hit[0]]) if len(hit) else None,
            "time_to_10_s": float(episodes["time_s"].iloc[hit[0]]) if len(hit) else None,
            "final_mean_100": float(mean[-1]), "env_steps": result.summary["env_steps"],
            "env_steps_per_s": result.summary["env_steps_per_s"]}


def main() -> None:
    options = parser(__doc__.splitlines()[0], "grad_dtype")
    options.add_argument("--seconds", type=float, default=150.0)
    options.add_argument("--seeds", default="0")
    args = options.parse_args()
    out = output_dir(args, "grad_dtype")
    rows = []
    with local_ray():
        for seed in [int(s) for s in args.seeds.split(",")]:
            for dtype in ("float32", "bfloat16"):
                rows.append(run(dtype, seed, 30.0 if args.quick else args.seconds, out / "runs"))
                print(rows[-1], flush=True)
    table = pd.DataFrame(rows)
    atomic_write_text(out / "runs.csv", table.to_csv(index=False))
    lines = ["| --grad-dtype | seed | env steps to a mean of 10 | seconds to 10 | final 100-episode mean | env steps | "
             "env steps/s |", "|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        steps = "not reached" if pd.isna(r["env_steps_to_10"]) else f"{r['env_steps_to_10']:,.0f}"
        secs = "–" if pd.isna(r["time_to_10_s"]) else f"{r['time_to_10_s']:.0f}"
        lines.append(f"| {r['grad_dtype']} | {r['seed']} | {steps} | {secs} | {r['final_mean_100']:.1f} | "
                     f"{r['env_steps']:,} | {r['env_steps_per_s']:,.0f} |")
    atomic_write_text(out / "grad_dtype.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
