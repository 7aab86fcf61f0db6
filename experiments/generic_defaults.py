"""Envs without a preset, trained with the generic defaults: do they still solve? (Acrobot-v1, LunarLander-v3)

    python experiments/generic_defaults.py                                   # this checkout, seed 0
    python experiments/generic_defaults.py --tree /tmp/old --label before    # another checkout, same machine

Each run is the real CLI, `a3c-ray train --env ENV --seed S --stop-seconds BUDGET [--args ...]`, followed by
`a3c-ray evaluate RUN --episodes 20 --json` (the best checkpoint where the run kept one). LunarLander needs the
box2d package (`pip install box2d`, in the bench extra). Appends to `<out>/runs.csv` and rewrites
`<out>/generic_defaults.md`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from a3c_ray.plumbing.atomic import atomic_write_text
from common import checkout_env, csv_list, output_dir, parser, seed_list, table, value

BUDGET_S = {"Acrobot-v1": 300, "LunarLander-v3": 900}


def run(env_id: str, seed: int, label: str, tree: str | None, extra: list[str] = (),
        budget_s: float | None = None) -> dict:
    environment = checkout_env(tree)
    cli = [sys.executable, "-m", "a3c_ray"]
    with tempfile.TemporaryDirectory(prefix="a3c-generic-") as tmp:
        out = Path(tmp) / "run"
        subprocess.run([*cli, "train", "--env", env_id, "--seed", str(seed), "--stop-seconds",
                        str(budget_s or BUDGET_S[env_id]), "--out", str(out), "--no-progress-bar", *extra], check=True,
                       env=environment, cwd=tmp, capture_output=True)
        s = json.loads((out / "summary.json").read_text())
        greedy = json.loads(subprocess.run([*cli, "evaluate", str(out), "--episodes", "20", "--json"], check=True,
                                           env=environment, cwd=tmp, capture_output=True, text=True).stdout)
    return {"label": label, "env": env_id, "seed": seed, "args": " ".join(extra), "solved": s["solved"],
            "solved_by": s.get("solved_by", "train"),
            "time_to_solve_s": s["time_to_solve_s"], "env_steps_to_solve": s["env_steps_to_solve"],
            "best_train_mean": s["best_episode_return_mean"], "greedy_return": greedy["mean_return"],
            "env_steps_per_s": s["env_steps_per_s"]}


def markdown(runs: pd.DataFrame) -> str:
    """One line per run."""
    runs = runs.assign(args=runs["args"].fillna("")) if "args" in runs else runs.assign(args="")
    return table(runs, ["label", "env", "seed", "args"], {
        "solved (by)": lambda r: f"yes ({r['solved_by'].iloc[0]})" if r["solved"].iloc[0] else "no",
        "training s to solved": value("time_to_solve_s", ".1f"),
        "env steps to solved": value("env_steps_to_solve", ",.0f"),
        "best 100-episode training mean": value("best_train_mean", ".1f"),
        "greedy return (20 episodes)": value("greedy_return", ".1f"),
        "env steps/s": value("env_steps_per_s", ",.0f")}, each_row=True)


def main() -> None:
    options = parser(__doc__, "generic_defaults")
    options.add_argument("--tree", help="a checkout of a3c_ray to run instead of this one (put on PYTHONPATH)")
    options.add_argument("--label", default="after")
    options.add_argument("--envs", type=csv_list, default=",".join(BUDGET_S))
    options.add_argument("--seeds", type=seed_list, default="0")
    options.add_argument("--args", default="", help="more `a3c-ray train` options, one string (\"--no-stop-on-eval\")")
    options.add_argument("--budget-s", type=float, help=f"training seconds a run may take (default: {BUDGET_S})")
    args = options.parse_args()
    out = output_dir(args, "generic_defaults")
    path = out / "runs.csv"
    rows = pd.read_csv(path).to_dict("records") if path.is_file() else []
    rows = [r for r in rows if not (r["label"] == args.label and r["env"] in args.envs and r["seed"] in args.seeds)]
    for env_id in args.envs:
        for seed in args.seeds:
            rows.append(run(env_id, seed, args.label, args.tree, args.args.split(), args.budget_s))
            print(rows[-1], flush=True)
            atomic_write_text(path, pd.DataFrame(rows).to_csv(index=False))
    text = markdown(pd.DataFrame(rows))
    atomic_write_text(out / "generic_defaults.md", text)
    print(text)


if __name__ == "__main__":
    main()
