"""Does learning survive bfloat16 gradients on the wire? MinAtar/Breakout-v1, float32 against bfloat16.

    python experiments/grad_dtype.py                  # 150 s of training each, seed 0, one after the other
    python experiments/grad_dtype.py --seconds 300 --seeds 0,1,2
    python experiments/grad_dtype.py --quick          # 30 s each

Each run is minatar_breakout.py's a3c_ray run (`a3c-ray train --env MinAtar/Breakout-v1`, CLI defaults, Ray,
2 workers, no early stop) with `--grad-dtype` float32 or bfloat16. Compared: seconds and env steps to a
100-episode training mean of 10, and the mean at the end. Writes `<out>/runs.csv` and `<out>/grad_dtype.md`.
"""

from __future__ import annotations

from a3c_ray.plumbing.atomic import atomic_write_text
from common import MINATAR_COLUMNS, local_ray, minatar_options, minatar_table, output_dir, parser, seed_list, sweep


def main() -> None:
    options = parser(__doc__, "grad_dtype")
    options.add_argument("--seconds", type=float, default=150.0)
    options.add_argument("--seeds", type=seed_list, default="0")
    args = options.parse_args()
    out = output_dir(args, "grad_dtype")
    grid = {f"a3c_ray ray, --grad-dtype {dtype}": {"grad_dtype": dtype} for dtype in ("float32", "bfloat16")}
    with local_ray():
        runs = sweep(grid, args.seeds, out / "runs", label="system", keys=MINATAR_COLUMNS, interleave=True,
                     **minatar_options(30.0 if args.quick else args.seconds))
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    atomic_write_text(out / "grad_dtype.md", minatar_table(runs))
    print(minatar_table(runs))


if __name__ == "__main__":
    main()
