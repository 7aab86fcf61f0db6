"""Benchmark: a3c_ray (Ray and mp backends) against Stable-Baselines3 A2C, measured in the same invocation.

    python experiments/bench.py            # full: CartPole-v1 and Pendulum-v1, 3 seeds each
    python experiments/bench.py --quick    # CartPole-v1 only, 1 seed, short budgets (< 3 minutes)

Writes `<out>/runs.csv` (one row per run), `<out>/bench.csv` and `<out>/bench.md` (medians with min/max, and
ratios against SB3 A2C from this same run). "Solved" = mean of the last 100 finished training episodes reaches
the threshold; training seconds start when the workers start stepping. Needs the `bench` extra for SB3.
"""

from __future__ import annotations

import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pandas as pd
import torch

from a3c_ray.plumbing.atomic import atomic_write_text
from common import (
    csv_list,
    local_ray,
    output_dir,
    parser,
    pick,
    plan,
    run_row,
    sb3_stop_callback,
    share,
    table,
    threshold,
    value,
)

# RL-Zoo's A2C settings (hyperparams/a2c.yml; Pendulum's entry is listed as "almost tuned")
SB3_A2C = {
    "CartPole-v1": dict(n_envs=8, kwargs=dict(ent_coef=0.0), normalize=False),
    "Pendulum-v1": dict(n_envs=8, normalize=True, kwargs=dict(
        ent_coef=0.0, max_grad_norm=0.5, n_steps=8, gae_lambda=0.9, vf_coef=0.4, gamma=0.99, use_rms_prop=True,
        normalize_advantage=False, use_sde=True, policy_kwargs=dict(log_std_init=-2, ortho_init=False))),
}


def raw_ceiling(env_id: str, seconds: float = 2.0) -> dict:
    """Env steps/s of one env on one core: constant action, then random actions (the sampling cost)."""
    row = {"system": "env.step alone", "env": env_id}
    for label, policy in (("env_steps_per_s", "fixed"), ("random_policy_steps_per_s", "random")):
        env = gym.make(env_id)
        env.reset(seed=0)
        action, steps, start = env.action_space.sample(), 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            _, _, term, trunc, _ = env.step(env.action_space.sample() if policy == "random" else action)
            steps += 1
            if term or trunc:
                env.reset()
        row[label] = steps / (time.perf_counter() - start)
    row["batched_random_steps_per_s"] = batched_ceiling(env_id, seconds)
    return row


def batched_ceiling(env_id: str, seconds: float, n: int = 32) -> float | None:
    """Env steps/s of the batched numpy version the workers use when the env has one (random actions)."""
    from a3c_ray.envs.groups import make_env_group
    from a3c_ray.envs.loop_group import EnvGroup

    group, rng = make_env_group(env_id, n, seed=0), np.random.default_rng(0)
    if isinstance(group, EnvGroup):
        group.close()
        return None
    space = group.action_space
    discrete = isinstance(space, gym.spaces.Discrete)
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        actions = rng.integers(0, space.n, n) if discrete else rng.uniform(space.low, space.high, (n, 1))
        result = group.step(actions if discrete else actions.astype(np.float32))
        steps += n if result.valid is None else int(result.valid.sum())
    return steps / (time.perf_counter() - start)


A3C_KEYS = ["env", "seed", "workers", "solved", "time_to_solve_s", "env_steps_to_solve", "env_steps_per_s",
            "startup_s", "greedy_return", "best_episode_return_mean"]
A3C_RENAME = {"greedy_return": "eval_return", "best_episode_return_mean": "best_return_mean"}


def run_a3c(env_id: str, backend: str, seed: int, budget_s: float, out: Path, eval_episodes: int) -> dict:
    """a3c_ray with 2 workers, stopped when solved (or at the budget), its kept policy evaluated greedily."""
    row = run_row(env_id, out / f"{env_id}-{backend}-w2-s{seed}", eval_episodes, backend=backend, seed=seed,
                  workers=2, stop_seconds=budget_s)
    return {"system": f"a3c_ray {backend}", **pick(row, A3C_KEYS, A3C_RENAME)}


def scaling(seconds: float, out: Path) -> pd.DataFrame:
    """CartPole env steps/s with 1 and 2 workers per backend, no early stop."""
    def steps_per_s(backend: str, workers: int) -> float:
        return run_row("CartPole-v1", out / f"CartPole-v1-{backend}-w{workers}-s{100 + workers}", backend=backend,
                       seed=100 + workers, workers=workers, stop_seconds=seconds,
                       stop_at_threshold=False)["env_steps_per_s"]
    return pd.DataFrame([{"backend": b, "w1": steps_per_s(b, 1), "w2": steps_per_s(b, 2)} for b in ("ray", "mp")])


def run_sb3_a2c(env_id: str, seed: int, budget_s: float, eval_episodes: int) -> dict:
    from stable_baselines3 import A2C
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    settings = SB3_A2C[env_id]
    callback = sb3_stop_callback(threshold(env_id), budget_s)

    torch.set_num_threads(1)
    env = make_vec_env(env_id, n_envs=settings["n_envs"], seed=seed)
    if settings["normalize"]:
        env = VecNormalize(env, gamma=settings["kwargs"].get("gamma", 0.99))
    kwargs = dict(settings["kwargs"])
    if env_id == "Pendulum-v1":
        kwargs["learning_rate"] = lambda progress: 7e-4 * progress  # "lin_7e-4"
    model = A2C("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **kwargs)
    model.learn(total_timesteps=10**9, callback=callback)
    elapsed = time.perf_counter() - callback.start
    if settings["normalize"]:
        env.training, env.norm_reward = False, False
    returns = []
    for k in range(eval_episodes):
        env.seed(10_000 + k)
        obs, done, total = env.reset(), False, 0.0
        while not done:
            action, _ = model.predict(obs, deterministic=True)
            obs, reward, dones, infos = env.step(action)
            total += float(env.get_original_reward()[0] if settings["normalize"] else reward[0])
            done = bool(dones[0])
        returns.append(total)
    return {"system": "SB3 A2C (RL-Zoo)", "env": env_id, "seed": seed, "workers": 1,
            "solved": callback.solved_at is not None,
            "time_to_solve_s": callback.solved_at[0] if callback.solved_at else None,
            "env_steps_to_solve": callback.solved_at[1] if callback.solved_at else None,
            "env_steps_per_s": model.num_timesteps / elapsed, "startup_s": 0.0,
            "eval_return": float(np.mean(returns)),
            "best_return_mean": callback.best_return_mean()}


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    """Median [min, max] per system and env, and ratios against SB3 A2C on the same env."""
    rows = []
    for (env_id, system), group in runs.groupby(["env", "system"], sort=False):
        row = {"env": env_id, "system": system, "seeds": len(group), "solved": int(group["solved"].sum())}
        for col in ("time_to_solve_s", "env_steps_to_solve", "env_steps_per_s", "eval_return"):
            values = pd.to_numeric(group[col], errors="coerce").dropna()
            row[col] = values.median() if len(values) else np.nan
            row[f"{col}_min"], row[f"{col}_max"] = (values.min(), values.max()) if len(values) else (np.nan,) * 2
        rows.append(row)
    summary = pd.DataFrame(rows)
    for env_id, group in summary.groupby("env"):
        base = group[group["system"].str.startswith("SB3")]
        if len(base):
            b = base.iloc[0]
            summary.loc[group.index, "speedup_vs_sb3_time"] = b["time_to_solve_s"] / group["time_to_solve_s"]
            summary.loc[group.index, "throughput_vs_sb3"] = group["env_steps_per_s"] / b["env_steps_per_s"]
    return summary


def markdown(runs: pd.DataFrame, summary: pd.DataFrame, ceilings: pd.DataFrame, scaling: pd.DataFrame) -> str:
    """The runs (median [min, max] per env and system, with the ratios of `summary`), the env's own ceilings
    and the worker scaling."""
    ratios = summary.reindex(columns=["env", "system", "speedup_vs_sb3_time", "throughput_vs_sb3"])
    lines = [table(runs.merge(ratios, on=["env", "system"], how="left"), ["env", "system"], {
        "solved": share("solved"), "training s to solved": ("time_to_solve_s", ".1f"),
        "env steps to solved": ("env_steps_to_solve", ",.0f"), "env steps/s": ("env_steps_per_s", ",.0f"),
        "greedy return": ("eval_return", ".0f"), "time vs SB3 A2C": value("speedup_vs_sb3_time", ".1f", "x"),
        "steps/s vs SB3 A2C": value("throughput_vs_sb3", ".1f", "x")})]
    lines.append(table(ceilings, ["env"], {
        "env.step alone (1 core)": value("env_steps_per_s", ",.0f"),
        "with random actions": value("random_policy_steps_per_s", ",.0f"),
        "batched numpy env, 32 envs, random actions": value("batched_random_steps_per_s", ",.0f")}, each_row=True))
    if len(scaling):
        lines.append(table(scaling, ["backend"], {
            "env steps/s, 1 worker": value("w1", ",.0f"), "2 workers": value("w2", ",.0f"),
            "ratio": lambda g: f"{g['w2'].iloc[0] / g['w1'].iloc[0]:.2f}x"}, each_row=True))
    return "\n".join(lines)


def main() -> None:
    options = parser(__doc__, "bench")
    options.add_argument("--no-sb3", action="store_true", help="skip the SB3 A2C baseline")
    options.add_argument("--envs", type=csv_list, help="comma-separated subset of the envs (default: "
                         "CartPole-v1,Pendulum-v1)")
    args = options.parse_args()
    out = output_dir(args, "bench")
    envs, seeds = plan(args.quick)
    envs = args.envs or envs
    budget = {"CartPole-v1": 40.0 if args.quick else 90.0, "Pendulum-v1": 180.0}
    eval_episodes = 10 if args.quick else 100

    with local_ray():
        ceilings = pd.DataFrame([raw_ceiling(e, 1.0 if args.quick else 3.0) for e in envs])
        runs = []
        for env_id in envs:
            for seed in seeds:
                for backend in ("ray", "mp"):
                    runs.append(run_a3c(env_id, backend, seed, budget[env_id], out / "runs", eval_episodes))
                    print(runs[-1], flush=True)
                if not args.no_sb3:
                    runs.append(run_sb3_a2c(env_id, seed, budget[env_id] * (1 if args.quick else 2), eval_episodes))
                    print(runs[-1], flush=True)
        scaling_df = scaling(10.0 if args.quick else 20.0, out / "scaling")
    runs_df = pd.DataFrame(runs)
    summary = summarise(runs_df)
    for name, frame in (("runs", runs_df), ("bench", summary), ("scaling", scaling_df), ("ceiling", ceilings)):
        atomic_write_text(out / f"{name}.csv", frame.to_csv(index=False))
    text = markdown(runs_df, summary, ceilings, scaling_df)
    atomic_write_text(out / "bench.md", text)
    print(text)


if __name__ == "__main__":
    main()
