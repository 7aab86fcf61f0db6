"""Env steps/s with the evaluator running beside training: two checkouts paired seed by seed.

    python experiments/eval_share.py --compare before=/tmp/wt_before    # Pendulum-v1, Ray and mp, seeds 0-3, 15 s
    python experiments/eval_share.py --backends ray --seeds 0 --seconds 10

Each run is `a3c-ray train --env <env> --backend <b> --seed <s> --stop-seconds <seconds> --no-stop-at-threshold`:
CLI defaults otherwise, so the greedy evaluation runs every --eval-interval-steps in its own process, as in a
real run, but no run stops early, and every run measures the same seconds of training whatever its seed's luck.
The checkouts take turns run by run, the first of each pair alternating with the seed, so they share the
machine's drift. Writes `<out>/runs.csv` and `<out>/eval_share.md`: env steps/s and evaluation rounds per
checkout, and the per-seed ratio of the last checkout over the first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from common import checkout_env, checkout_options, checkouts, csv_list, output_dir, parser, seed_list, spread


def run(tree: str | None, env: str, backend: str, seed: int, seconds: float, out: Path) -> dict:
    run_dir = out / "runs" / f"{Path(tree).name if tree else 'this'}-{backend}-s{seed}"
    command = [str(Path(sys.executable).with_name("a3c-ray")), "train", "--env", env, "--backend", backend,
               "--seed", str(seed), "--stop-seconds", str(seconds), "--no-stop-at-threshold", "--out", str(run_dir),
               "--overwrite", "--no-progress-bar"]
    subprocess.run(command, env=checkout_env(tree), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    summary = json.loads((run_dir / "summary.json").read_text())
    evals = pd.read_csv(run_dir / "evals.csv") if (run_dir / "evals.csv").is_file() else pd.DataFrame()
    return {"env_steps": summary["env_steps"], "training_s": summary["training_s"],
            "env_steps_per_s": summary["env_steps"] / summary["training_s"], "evaluations": len(evals)}


def main() -> None:
    options = parser(__doc__, "eval_share")
    checkout_options(options, runs=1)
    options.add_argument("--env", default="Pendulum-v1")
    options.add_argument("--backends", type=csv_list, default=["ray", "mp"])
    options.add_argument("--seeds", type=seed_list, default=[0, 1, 2, 3])
    options.add_argument("--seconds", type=float, default=15.0)
    args = options.parse_args()
    out = output_dir(args, "eval_share")
    trees = checkouts(args)
    labels = list(trees)
    rows = []
    for seed in args.seeds:
        for backend in args.backends:
            order = labels if seed % 2 == 0 else labels[::-1]
            for label in order:
                row = {"env": args.env, "backend": backend, "seed": seed, "label": label,
                       **run(trees[label], args.env, backend, seed, args.seconds, out)}
                rows.append(row)
                print(row, flush=True)
    runs = pd.DataFrame(rows)
    runs.to_csv(out / "runs.csv", index=False)
    lines = [f"{args.env}, {args.seconds:.0f} s of training per run, CLI defaults with the evaluator on, no stop at "
             f"the threshold; median [min, max] over seeds {args.seeds}:", "",
             "| backend | " + " | ".join(f"{label}: env steps/s | {label}: evaluations" for label in labels)
             + f" | {labels[-1]} / {labels[0]}, per seed |", "|---|" + "---|---|" * len(labels) + "---|"]
    for backend, group in runs.groupby("backend", sort=False):
        cells = []
        for label in labels:
            mine = group[group.label == label]
            cells += [spread(mine.env_steps_per_s, ",.0f"), spread(mine.evaluations, ".0f")]
        speed = group.pivot(index="seed", columns="label", values="env_steps_per_s")
        ratio = spread(speed[labels[-1]] / speed[labels[0]], ".2f")
        lines.append(f"| {backend} | " + " | ".join(cells) + f" | {ratio} |")
    (out / "eval_share.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
