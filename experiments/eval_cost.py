"""CPU per greedy evaluation round: gymnasium's envs against the numpy path (plain Pendulum-v1's PendulumEpisodes).

    python experiments/eval_cost.py                 # Pendulum-v1, its preset's round (20 episodes), 7 rounds a side
    python experiments/eval_cost.py --rounds 3

The evaluator runs beside the workers, so its CPU is taken from them on a machine with no core to spare. Each
round is timed with process CPU (one torch thread), the two paths taking turns, on the untrained policy (Pendulum's
episodes are 200 steps whatever the policy) and on one perturbed to move. Writes `<out>/eval_cost.md` and `.csv`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from a3c_ray.config import make_config
from a3c_ray.run.evaluation import GymEpisodes, build_policy, greedy_returns, make_eval_envs
from common import output_dir, parser, spread


def round_cpu_s(model, normalizer, envs, episodes: int) -> float:
    start = time.process_time()
    greedy_returns(model, normalizer, envs, episodes, seed=0)
    return time.process_time() - start


def main() -> None:
    options = parser(__doc__, "eval_cost")
    options.add_argument("--env", default="Pendulum-v1")
    options.add_argument("--rounds", type=int, default=7)
    args = options.parse_args()
    out = output_dir(args, "eval_cost")
    torch.set_num_threads(1)
    config = make_config(args.env)
    episodes = config.eval_episodes
    numpy_path = make_eval_envs(config, episodes)
    gym_path = make_eval_envs(make_config(args.env, native_vector_env=False), episodes)
    assert not isinstance(numpy_path, GymEpisodes) and isinstance(gym_path, GymEpisodes), "no numpy path for this env"
    rows = []
    for policy in ("initial", "perturbed"):
        model, normalizer = build_policy(config)
        if policy == "perturbed":
            torch.manual_seed(1)
            with torch.no_grad():
                model.flat.add_(0.3 * torch.randn_like(model.flat))
        same = np.allclose(greedy_returns(model, normalizer, numpy_path, episodes, 0),
                           greedy_returns(model, normalizer, gym_path, episodes, 0), rtol=1e-9)
        for round_ in range(args.rounds):
            for path, envs in (("gymnasium envs", gym_path), ("numpy", numpy_path)):
                rows.append({"env": args.env, "policy": policy, "path": path, "round": round_, "episodes": episodes,
                             "cpu_s": round_cpu_s(model, normalizer, envs, episodes), "same_returns": same})
    runs = pd.DataFrame(rows)
    runs.to_csv(out / "eval_cost.csv", index=False)
    lines = [f"CPU seconds per greedy round of {episodes} episodes, {args.env}, median [min, max] over "
             f"{args.rounds} rounds (the paths taking turns):", "",
             "| policy | gymnasium envs | numpy | ratio | same returns |", "|---|---|---|---|---|"]
    for policy, group in runs.groupby("policy", sort=False):
        gym_s = group[group.path == "gymnasium envs"].cpu_s
        numpy_s = group[group.path == "numpy"].cpu_s
        lines.append(f"| {policy} | {spread(gym_s, '.3f')} | {spread(numpy_s, '.3f')} | "
                     f"{gym_s.median() / numpy_s.median():.1f}x | {bool(group.same_returns.all())} |")
    (out / "eval_cost.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
