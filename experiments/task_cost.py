"""CPU per worker task in one process: what a Ray task's body costs a worker, with no transport around it.

    python experiments/task_cost.py --compare before=/tmp/wt_before    # this checkout against another, in turns
    python experiments/task_cost.py --envs Pendulum-v1 --runs 1

Each measurement is a child process (`--tree` on PYTHONPATH) that builds one RolloutWorker with the env's preset
and, per task, packs the learner's weights, unpacks them, runs `compute_gradients` (rollout, loss, backward,
clip, copy), packs and unpacks the gradients and applies them with the global optimizer, so the weights move as
in training. After 50 warm-up tasks it times rounds of tasks with process CPU; the figure is the best of its
rounds (the least disturbed by the machine). The checkouts take turns measurement by measurement. Writes
`<out>/task_cost.csv` and `<out>/task_cost.md`.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd

from common import checkout_env, checkout_options, checkouts, csv_list, output_dir, parser, spread

CHILD = r"""
import json, sys, time
import torch
from a3c_ray.config import make_config
from a3c_ray.core.messages import Weights, pack_gradients, pack_weights, unpack_gradients, unpack_weights
from a3c_ray.core.model import build_model
from a3c_ray.core.optim import FlatOptimizer
from a3c_ray.core.worker import RolloutWorker

env, tasks, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
config = make_config(env, seed=0)
worker = RolloutWorker(config, 0)
learner = build_model(config, worker.envs.observation_space, worker.envs.action_space)
optimizer = FlatOptimizer(config.optimizer, learner.flat.numel(), config.lr)
statistics = worker.normalizer.state()

def task(version):
    payload = pack_weights(Weights(version, learner.flat.detach().numpy().copy(), statistics))
    gradients = unpack_gradients(pack_gradients(worker.compute_gradients(unpack_weights(payload))))
    optimizer.step(learner.flat.detach(), torch.from_numpy(gradients.values().copy()))
    return gradients.env_steps

for version in range(50):
    task(version)
best, steps = float("inf"), 0
for _ in range(rounds):
    start, steps = time.process_time(), 0
    for version in range(tasks):
        steps += task(version)
    best = min(best, (time.process_time() - start) / tasks)
print(json.dumps({"ms_per_task": best * 1e3, "env_steps_per_task": steps / tasks}))
"""


def measure(tree: str | None, env: str, tasks: int, rounds: int) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, env, str(tasks), str(rounds)], env=checkout_env(tree),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    options = parser(__doc__, "task_cost")
    checkout_options(options, runs=3)
    options.add_argument("--envs", type=csv_list, default=["Pendulum-v1", "CartPole-v1"])
    options.add_argument("--tasks", type=int, default=300)
    options.add_argument("--rounds", type=int, default=9)
    args = options.parse_args()
    out = output_dir(args, "task_cost")
    rows = []
    for env in args.envs:
        for run in range(args.runs):
            for label, tree in checkouts(args).items():
                row = {"env": env, "label": label, "run": run, **measure(tree, env, args.tasks, args.rounds)}
                rows.append(row)
                print(row, flush=True)
    runs = pd.DataFrame(rows)
    runs.to_csv(out / "task_cost.csv", index=False)
    labels = list(checkouts(args))
    lines = [f"CPU ms per worker task, one process, best of {args.rounds} rounds of {args.tasks} tasks; median "
             f"[min, max] over {args.runs} measurements per checkout, taking turns:", "",
             "| env | env steps a task | " + " | ".join(labels) + " | " + f"{labels[-1]} / {labels[0]} |",
             "|---|---|" + "---|" * (len(labels) + 1)]
    for env, group in runs.groupby("env", sort=False):
        cells = [spread(group[group.label == label].ms_per_task, ".3f") for label in labels]
        medians = group.groupby("label").ms_per_task.median()
        ratio = medians[labels[-1]] / medians[labels[0]]
        lines.append(f"| {env} | {group.env_steps_per_task.median():.0f} | " + " | ".join(cells) + f" | {ratio:.2f} |")
    (out / "task_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
