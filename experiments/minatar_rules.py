"""MinAtar's env rules, measured on trained policies: each run's final policy played under MinAtar v1's rules as
registered (sticky actions 0.1: the env repeats the previous action one step in ten; no step cap) and under
gymnax's (no sticky actions, episodes cut at 1000 steps), greedy and sampled.

    python experiments/minatar_rules.py RUN_DIR [RUN_DIR ...] --episodes 200 --out experiments/results/minatar_rules

The suite's reference figures are gymnax's PPO on gymnax's MinAtar port, whose Breakout has no sticky actions and
a 1000-step limit (gymnax/environments/minatar/breakout.py); the suite trains on `MinAtar/<Game>-v1`, which has
both MinAtar defaults (sticky_action_prob=0.1). This says what the rules alone are worth to one policy. Each rule
plays `--episodes` episodes per run and mode on 20 envs side by side, each env an equal share of them (so short
episodes are not over-counted), seeded apart from training as `a3c-ray evaluate` is (10,000 + env index). Writes
`<out>/rules.csv` and `<out>/rules.md`, with each row's mean episode length and the share of episodes cut:
gymnax's cap can only lower a return, so the gap between the two rules is a lower bound on what the sticky actions
cost.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from a3c_ray import load_policy
from a3c_ray.envs.make import make_env
from a3c_ray.plumbing.atomic import atomic_write_text
from a3c_ray.run.evaluation import EVALUATE_SEED
from common import table

RULES = {
    "MinAtar v1 (sticky 0.1)": {},
    "gymnax (sticky 0, cap 1000)": {"sticky_action_prob": 0.0, "max_episode_steps": 1000},
}
SIDE_BY_SIDE = 20
MAX_STEPS = 100_000  # an episode this long is cut here (v1 has no cap; a policy that never misses would never end)


def play(policy, envs: list, episodes: int, deterministic: bool) -> pd.DataFrame:
    """Return, length and whether it was cut (truncated, or MAX_STEPS) of at least `episodes` episodes, each env
    playing an equal share (the first episodes to end would favour short ones); the envs are closed after."""
    share = -(-episodes // len(envs))
    obs = [env.reset(seed=EVALUATE_SEED + i)[0] for i, env in enumerate(envs)]
    totals, steps, ended = np.zeros(len(envs)), np.zeros(len(envs), dtype=int), [[] for _ in envs]
    while any(len(e) < share for e in ended):
        actions, _ = policy.predict(np.stack(obs), deterministic=deterministic)
        for i, env in enumerate(envs):
            if len(ended[i]) >= share:
                continue
            obs[i], reward, terminated, truncated, _ = env.step(actions[i])
            totals[i] += reward
            steps[i] += 1
            cut = bool(truncated) or steps[i] >= MAX_STEPS
            if terminated or cut:
                ended[i].append({"return": totals[i], "length": int(steps[i]), "cut": cut and not terminated})
                totals[i], steps[i] = 0.0, 0
                obs[i] = env.reset()[0]
    for env in envs:
        env.close()
    return pd.DataFrame([episode for episodes_of_env in ended for episode in episodes_of_env])


def rule_of(env_kwargs: dict | None) -> str:
    """The name of the rules a run trained under (its config's env_kwargs), or the kwargs themselves."""
    names = [name for name, kwargs in RULES.items() if kwargs == (env_kwargs or {})]
    return names[0] if names else json.dumps(env_kwargs, sort_keys=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", type=Path, help="run directories (their final policy, checkpoint.pt)")
    p.add_argument("--episodes", type=int, default=200)
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    torch.set_num_threads(1)
    rows = []
    for run in args.runs:
        policy = load_policy(run, which="last")
        env_id = policy.config.env
        for rule, kwargs in RULES.items():
            for mode, deterministic in (("sampled", False), ("greedy", True)):
                envs = [make_env(env_id, kwargs=kwargs) for _ in range(SIDE_BY_SIDE)]
                episodes = play(policy, envs, args.episodes, deterministic)
                rows.append({"run": run.name, "env": env_id, "trained_under": rule_of(policy.config.env_kwargs),
                             "played_under": rule, "mode": mode, "episodes": len(episodes),
                             "return_mean": episodes["return"].mean(), "return_std": episodes["return"].std(ddof=0),
                             "length_mean": episodes["length"].mean(), "cut_share": episodes["cut"].mean()})
                print(rows[-1], flush=True)
    frame = pd.DataFrame(rows)
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "rules.csv", frame.to_csv(index=False))
    md = table(frame, ["env", "trained_under", "played_under", "mode"],
               {"runs": len, "episodes per run": lambda g: int(g["episodes"].iloc[0]),
                "mean return, median [min, max] over runs": ("return_mean", ".1f"),
                "mean length": ("length_mean", ".0f"), "share cut": ("cut_share", ".2f")})
    atomic_write_text(args.out / "rules.md", md)
    print(md)


if __name__ == "__main__":
    main()
