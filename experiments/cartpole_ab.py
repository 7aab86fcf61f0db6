"""CartPole-v1 with the CLI defaults (through the API), on this checkout or another one: seconds and env steps to
solved, per backend and seed. For an A/B in one sitting when a change might slow CartPole down.

    python experiments/cartpole_ab.py --label after
    PYTHONPATH=/tmp/old python experiments/cartpole_ab.py --label before    # a worktree of an older commit

`PYTHONPATH` picks which a3c_ray is imported (the script prints its path). Appends to `<out>/runs.csv` and
rewrites `<out>/cartpole_ab.md` (median [min, max] per label and backend).
"""

from __future__ import annotations

import pandas as pd

import a3c_ray
from a3c_ray.plumbing.atomic import atomic_write_text
from common import count, csv_list, output_dir, parser, seed_list, sweep, table

KEYS = ["seed", "solved", "time_to_solve_s", "env_steps_to_solve"]


def markdown(runs: pd.DataFrame) -> str:
    """Median [min, max] per label and backend."""
    return table(runs, ["label", "backend"], {"seeds": len, "solved": count("solved"),
                                              "training s to solved": ("time_to_solve_s", ".2f"),
                                              "env steps to solved": ("env_steps_to_solve", ",.0f")})


def main() -> None:
    """Every seed on every backend, one run at a time (seeds outer), rows appended as they finish."""
    options = parser(__doc__, "cartpole_ab")
    options.add_argument("--label", required=True)
    options.add_argument("--backends", type=csv_list, default="ray,mp")
    options.add_argument("--seeds", type=seed_list, default="0,1,2,3,4")
    args = options.parse_args()
    out = output_dir(args, "cartpole_ab")
    print("a3c_ray from", a3c_ray.__file__, flush=True)
    csv = out / "runs.csv"
    grid = {(args.label, backend): {"backend": backend} for backend in args.backends}
    runs = sweep(grid, args.seeds, out / "runs", label=("label", "backend"), keys=KEYS, interleave=True,
                 before=pd.read_csv(csv) if csv.is_file() else None, env="CartPole-v1",
                 on_row=lambda runs: atomic_write_text(csv, runs.to_csv(index=False)))
    atomic_write_text(out / "cartpole_ab.md", markdown(runs))
    print(markdown(runs))


if __name__ == "__main__":
    main()
