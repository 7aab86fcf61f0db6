"""Does learning survive bfloat16 gradients on the wire? MinAtar/Breakout-v1, float32 against bfloat16.

    python experiments/grad_dtype.py                  # 150 s of training each, seed 0, one after the other
    python experiments/grad_dtype.py --seconds 300 --seeds 0,1,2

Each run is minatar_breakout.py's a3c_ray run (`a3c-ray train --env MinAtar/Breakout-v1`, CLI defaults, Ray,
2 workers, no early stop) with `--grad-dtype` float32 or bfloat16. Compared: seconds and env steps to a
100-episode training mean of 10, and the mean at the end. Writes `<out>/runs.csv` and `<out>/grad_dtype.md`.
"""

from __future__ import annotations

import pandas as pd
from minatar_breakout import markdown, run_a3c

from a3c_ray.plumbing.atomic import atomic_write_text
from common import local_ray, output_dir, parser


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
                row, _ = run_a3c(seed, 30.0 if args.quick else args.seconds, out / "runs",
                                 system=f"a3c_ray ray, --grad-dtype {dtype}", name=dtype, grad_dtype=dtype)
                rows.append(row)
                print(row, flush=True)
    runs = pd.DataFrame(rows)
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(out / "grad_dtype.md", markdown(runs))
    print(markdown(runs))


if __name__ == "__main__":
    main()
