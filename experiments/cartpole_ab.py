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
from a3c_ray import make_config, train
from a3c_ray.plumbing.atomic import atomic_write_text
from common import output_dir, parser, spread


def table(runs: pd.DataFrame) -> str:
    """Median [min, max] per label and backend."""
    lines = ["| label | backend | seeds | solved | training s to solved | env steps to solved |",
             "|---|---|---|---|---|---|"]
    for (label, backend), g in runs.groupby(["label", "backend"], sort=False):
        lines.append(f"| {label} | {backend} | {len(g)} | {int(g['solved'].sum())} | "
                     f"{spread(g['time_to_solve_s'], '.2f')} | {spread(g['env_steps_to_solve'], ',.0f')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    """Every seed on every backend, one run at a time, rows appended as they finish."""
    options = parser(__doc__.splitlines()[0], "cartpole_ab")
    options.add_argument("--label", required=True)
    options.add_argument("--backends", default="ray,mp")
    options.add_argument("--seeds", default="0,1,2,3,4")
    args = options.parse_args()
    out = output_dir(args, "cartpole_ab")
    print("a3c_ray from", a3c_ray.__file__, flush=True)
    csv = out / "runs.csv"
    rows = pd.read_csv(csv).to_dict("records") if csv.is_file() else []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for backend in args.backends.split(","):
            config = make_config("CartPole-v1", backend=backend, seed=seed, progress_bar=False,
                                 out=str(out / "runs" / f"{args.label}-{backend}-s{seed}"), overwrite=True)
            s = train(config).summary
            rows.append({"label": args.label, "backend": backend, "seed": seed, "solved": s["solved"],
                         "time_to_solve_s": s["time_to_solve_s"], "env_steps_to_solve": s["env_steps_to_solve"]})
            print(rows[-1], flush=True)
            atomic_write_text(csv, pd.DataFrame(rows).to_csv(index=False))
    atomic_write_text(out / "cartpole_ab.md", table(pd.DataFrame(rows)))
    print(table(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
