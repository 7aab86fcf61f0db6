"""MinAtar's env rules, measured on trained policies: each run's final policy played under MinAtar v1's rules as
registered (sticky actions 0.1: the env repeats the previous action one step in ten; no step cap) and under
gymnax's (no sticky actions, episodes cut at 1000 steps), greedy and sampled.

    python experiments/minatar_rules.py RUN_DIR [RUN_DIR ...] --episodes 200 --out experiments/results/minatar_rules

The suite's reference figures are gymnax's PPO on gymnax's MinAtar port, whose Breakout has no sticky actions and
a 1000-step limit (gymnax/environments/minatar/breakout.py); the suite trains on `MinAtar/<Game>-v1`, which has
both MinAtar defaults (sticky_action_prob=0.1). This says what the rules alone are worth to one policy. Each rule
plays `--episodes` episodes per run and mode on 20 envs side by side, each env an equal share of them (so short
episodes are not over-counted), seeded apart from training (10,000 + env index). Writes `<out>/rules.csv` and
`<out>/rules.md`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from a3c_ray import load_policy
from a3c_ray.envs.suites import make, prepare
from a3c_ray.plumbing.atomic import atomic_write_text
from common import table

RULES = {"MinAtar v1 (sticky 0.1)": {}, "gymnax (sticky 0, cap 1000)": {"sticky_action_prob": 0.0,
                                                                       "max_episode_steps": 1000}}
SIDE_BY_SIDE = 20
EVAL_SEED = 10_000


def play(policy, envs: list, episodes: int, deterministic: bool) -> list[float]:
    """Returns of at least `episodes` episodes, each env playing an equal share (the first episodes to end would
    favour short ones); the envs are closed after."""
    share = -(-episodes // len(envs))
    obs = [env.reset(seed=EVAL_SEED + i)[0] for i, env in enumerate(envs)]
    totals, done_returns = np.zeros(len(envs)), [[] for _ in envs]
    while any(len(r) < share for r in done_returns):
        actions, _ = policy.predict(np.stack(obs), deterministic=deterministic)
        for i, env in enumerate(envs):
            if len(done_returns[i]) >= share:
                continue
            obs[i], reward, terminated, truncated, _ = env.step(actions[i])
            totals[i] += reward
            if terminated or truncated:
                done_returns[i].append(totals[i])
                totals[i] = 0.0
                obs[i] = env.reset()[0]
    for env in envs:
        env.close()
    return [r for returns in done_returns for r in returns]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run directories (their final policy, checkpoint.pt)")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for run in args.runs:
        config = json.loads((run / "config.json").read_text())
        prepare(config["env"])
        policy = load_policy(run, which="last")
        trained = "gymnax" if (config.get("env_kwargs") or {}).get("sticky_action_prob") == 0.0 else "MinAtar v1"
        for rule, kwargs in RULES.items():
            for mode, deterministic in (("sampled", False), ("greedy", True)):
                envs = [make(config["env"], kwargs=kwargs) for _ in range(SIDE_BY_SIDE)]
                returns = play(policy, envs, args.episodes, deterministic)
                rows.append({"run": run.name, "env": config["env"], "trained_under": trained, "played_under": rule,
                             "mode": mode, "episodes": len(returns), "return_mean": float(np.mean(returns)),
                             "return_std": float(np.std(returns))})
                print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "rules.csv", frame.to_csv(index=False))
    md = table(frame, ["env", "trained_under", "played_under", "mode"],
               {"runs": len, "episodes per run": lambda g: int(g["episodes"].iloc[0]),
                "mean return, median [min, max] over runs": ("return_mean", ".1f")})
    atomic_write_text(args.out / "rules.md", md + "\n")
    print(md)


if __name__ == "__main__":
    main()
