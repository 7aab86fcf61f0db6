"""An env's CLI defaults on held-out seeds: `a3c-ray train --env <env> --seed <s>`'s config, timed to solve.

    python experiments/heldout.py                                   # Pendulum-v1, seeds 100-104
    python experiments/heldout.py --env CartPole-v1 --seeds 200,201,202

Seeds 0-2 are the ones presets and benchmarks were tuned and measured on; these are others. Each run is the CLI's
defaults (Ray, 2 workers, the env's preset, solved by a greedy evaluation confirmed on fresh seeds), one at a time.
The table: training seconds and env steps to solve, the best greedy evaluation, wall seconds (train() end to
end), median [min, max] over the seeds, and how many solved. Writes `<out>/<env>.csv` and `<out>/<env>.md`.
"""

from __future__ import annotations

from a3c_ray.plumbing.atomic import atomic_write_text
from common import output_dir, parser, seed_list, sweep, table

KEYS = ["env", "seed", "solved", "time_to_solve_s", "env_steps_to_solve", "best_eval_return", "stop_return",
        "wall_s"]


def main() -> None:
    options = parser(__doc__, "heldout")
    options.add_argument("--env", default="Pendulum-v1")
    options.add_argument("--seeds", type=seed_list, default=[100, 101, 102, 103, 104])
    args = options.parse_args()
    out = output_dir(args, "heldout")
    runs = sweep([{}], args.seeds, out / "runs", keys=KEYS, env=args.env)
    name = args.env.replace("/", "_")
    atomic_write_text(out / f"{name}.csv", runs.to_csv(index=False))
    atomic_write_text(out / f"{name}.md", f"{args.env}, CLI defaults, seeds {args.seeds}:\n\n" + table(
        runs, ["env"], {"solved": lambda g: f"{int(g['solved'].sum())}/{len(g)}",
                        "training s to solve": ("time_to_solve_s", ".1f"),
                        "env steps to solve": ("env_steps_to_solve", ",.0f"),
                        "best greedy eval": ("best_eval_return", ".1f"), "wall s": ("wall_s", ".1f")}))


if __name__ == "__main__":
    main()
