"""Your own problem: envs with the spaces users bring, solved by CLI defaults (no preset), against SB3 A2C with
its defaults in the same run.

    python experiments/own_problem.py            # 4 envs x 3 seeds, a3c_ray (Ray, 2 workers) and SB3 A2C
    python experiments/own_problem.py --quick    # FrozenLake only, 1 seed

a3c_ray is solved when a greedy evaluation, confirmed on fresh seeds, reaches the env's reward_threshold (the
CLI's rule); its kept policy is then evaluated greedily over 100 episodes. SB3 A2C (A2C(policy, env), one env,
MultiInputPolicy for Dict observations) is judged by bench.py's rule, the mean of its last 100 training
episodes, within a budget of seconds, and evaluated greedily too. Writes runs.csv and own_problem.md.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from a3c_ray.plumbing.atomic import atomic_write_text
from common import local_ray, output_dir, parser, run_row, sb3_stop_callback, seed_list, share, table

ENVS = {  # env id -> (env kwargs, a3c_ray env-step budget)
    "FrozenLake-v1": ({"is_slippery": False}, 200_000),
    "Taxi-v4": (None, 1_000_000),
    "a3c_ray/DictReach-v0": (None, 500_000),
    "a3c_ray/MultiDiscreteMatch-v0": (None, 500_000),
}
EVAL_EPISODES = 100


def run_a3c(env_id: str, seed: int, out: Path) -> dict:
    kwargs, steps = ENVS[env_id]
    row = run_row(env_id, out / f"{env_id.replace('/', '_')}-s{seed}", eval_episodes=EVAL_EPISODES,
                  env_kwargs=kwargs, seed=seed, stop_steps=steps)
    return {"system": "a3c_ray ray (CLI defaults)", "env": env_id, "seed": seed, "solved": bool(row["solved"]),
            "time_to_solve_s": row["time_to_solve_s"], "env_steps_to_solve": row["env_steps_to_solve"],
            "env_steps": row["env_steps"], "training_s": row["training_s"], "greedy_return": row["greedy_return"],
            "note": ""}


def run_sb3(env_id: str, seed: int, budget_s: float) -> dict:
    import gymnasium as gym
    import torch
    from stable_baselines3 import A2C
    from stable_baselines3.common.env_util import make_vec_env

    kwargs, _ = ENVS[env_id]
    torch.set_num_threads(1)
    target = gym.spec(env_id).reward_threshold
    callback = sb3_stop_callback(target, budget_s)
    env = make_vec_env(env_id, n_envs=1, seed=seed, env_kwargs=kwargs)
    policy = "MultiInputPolicy" if isinstance(env.observation_space, gym.spaces.Dict) else "MlpPolicy"
    model = A2C(policy, env, seed=seed, device="cpu", verbose=0)
    row = {"system": f"SB3 A2C (defaults, {policy})", "env": env_id, "seed": seed, "solved": False,
           "time_to_solve_s": None, "env_steps_to_solve": None, "env_steps": 0, "training_s": 0.0,
           "greedy_return": None, "note": ""}
    try:
        model.learn(total_timesteps=10**9, callback=callback)
    except (ValueError, AssertionError) as exc:  # e.g. an action outside the env's space
        row["note"] = f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
        return row
    solved = callback.solved_at
    row.update(solved=solved is not None, time_to_solve_s=solved[0] if solved else None,
               env_steps_to_solve=solved[1] if solved else None, env_steps=model.num_timesteps,
               training_s=time.perf_counter() - callback.start, greedy_return=greedy(model, env_id, kwargs))
    return row


def greedy(model, env_id: str, kwargs: dict | None) -> float:
    import gymnasium as gym

    env, returns = gym.make(env_id, **(kwargs or {})), []
    for k in range(EVAL_EPISODES):
        obs, _ = env.reset(seed=10_000 + k)
        total, done = 0.0, False
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            if isinstance(env.action_space, gym.spaces.Discrete):
                action = int(action)  # SB3 hands back a 0-d array; FrozenLake indexes a dict with it
            obs, reward, terminated, truncated, _ = env.step(action)
            total, done = total + float(reward), terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def notes(group: pd.DataFrame) -> str:
    """The runs' distinct errors, the values in them left out (SB3 sends 0..n-1, whatever the space's start)."""
    return "; ".join(sorted({re.sub(r"array\(\[[^]]*\]\)", "[...]", n) for n in group["note"].fillna("") if n}))


def main() -> None:
    options = parser(__doc__, "own_problem")
    options.add_argument("--seeds", type=seed_list, default=[0, 1, 2])
    options.add_argument("--sb3-budget-s", type=float, default=60.0)
    args = options.parse_args()
    out = output_dir(args, "own_problem")
    envs, seeds = (["FrozenLake-v1"], [0]) if args.quick else (list(ENVS), args.seeds)
    rows = []
    with local_ray():
        for env_id in envs:
            for seed in seeds:
                for run in (lambda: run_a3c(env_id, seed, out / "runs"), lambda: run_sb3(env_id, seed,
                                                                                           args.sb3_budget_s)):
                    rows.append(run())
                    print(rows[-1], flush=True)
    runs = pd.DataFrame(rows)
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    render(runs, out)


def render(runs: pd.DataFrame, out: Path) -> None:
    text = table(runs, ["env", "system"], {
        "solved": share("solved"), "training s to solved": ("time_to_solve_s", ".1f"),
        "env steps to solved": ("env_steps_to_solve", ",.0f"), "env steps run": ("env_steps", ",.0f"),
        "greedy return (100 episodes)": ("greedy_return", ".2f"), "note": notes})
    atomic_write_text(out / "own_problem.md", text)
    print(text)


if __name__ == "__main__":
    main()
