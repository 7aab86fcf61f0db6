"""A3C-LSTM on a task that needs memory: a3c_ray/CartPoleNoVel-v1 (CartPole without its velocities).

    python experiments/lstm_bench.py            # 3 seeds: --lstm, no LSTM, sb3-contrib RecurrentPPO (RL-Zoo)
    python experiments/lstm_bench.py --quick    # 1 seed, 120 s budgets
    python experiments/lstm_bench.py --budget-s 300

Every system runs in this one invocation on this machine, with the same budget (600 s of training by default).
a3c_ray runs its CLI defaults (`--lstm` or not), stops when its greedy evaluation reaches 475, and its kept
policy is then evaluated (`a3c-ray evaluate`, 100 episodes). RecurrentPPO uses RL-Zoo's CartPoleNoVel-v1 entry
(hyperparams/ppo_lstm.yml, as its published sb3/ppo_lstm-CartPoleNoVel-v1 model lists it: 8 envs, observations
normalised, LSTM of 64 for the actor and the critic, linear schedules over its 100,000 env steps) and stops when
its last 100 training episodes average 475, or at those 100,000 steps; its final policy is evaluated greedily
(LSTM state carried, the frozen observation statistics) over 100 episodes. Then the cost of the LSTM where no memory is
needed: env steps/s on CartPole-v1 with and without --lstm (20 s each, no early stop). The no-LSTM control runs
last (it uses its whole budget); the tables are rewritten after every run, so a stopped bench keeps its rows.

Writes `<out>/runs.csv`, `<out>/lstm.md`.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import torch

from a3c_ray.plumbing.atomic import atomic_write_text
from common import count, local_ray, output_dir, parser, sb3_stop_callback, sweep, table

ENV = "a3c_ray/CartPoleNoVel-v1"
THRESHOLD = 475.0
RL_ZOO = dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0)  # + 8 envs
RL_ZOO_STEPS = 100_000  # its n_timesteps: the schedules run over these
KEYS = ["seed", "solved", "time_to_solve_s", "env_steps_to_solve", "training_s", "env_steps_per_s",
        "best_episode_return_mean", "best_eval_return", "greedy_return"]
RENAME = {"best_episode_return_mean": "best_train_mean"}


def run_recurrent_ppo(seed: int, budget_s: float, eval_episodes: int) -> dict:
    import gymnasium as gym
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    torch.set_num_threads(1)
    env = VecNormalize(make_vec_env(ENV, n_envs=8, seed=seed), norm_obs=True, norm_reward=False)
    schedule = lambda start: (lambda progress: start * progress)  # noqa: E731  RL-Zoo's lin_<start>
    policy_kwargs = dict(ortho_init=False, activation_fn=torch.nn.ReLU, lstm_hidden_size=64, enable_critic_lstm=True,
                         net_arch=dict(pi=[64], vf=[64]))
    model = RecurrentPPO("MlpLstmPolicy", env, seed=seed, device="cpu", verbose=0, learning_rate=schedule(1e-3),
                         clip_range=schedule(0.2), policy_kwargs=policy_kwargs, **RL_ZOO)
    callback = sb3_stop_callback(THRESHOLD, budget_s)
    model.learn(total_timesteps=RL_ZOO_STEPS, callback=callback)
    elapsed = time.perf_counter() - callback.start
    env.training = False
    eval_env, returns = gym.make(ENV), []
    for k in range(eval_episodes):
        obs, _ = eval_env.reset(seed=10_000 + k)
        state, start, total, done = None, np.ones(1, dtype=bool), 0.0, False
        while not done:
            action, state = model.predict(env.normalize_obs(obs[None]), state=state, episode_start=start,
                                          deterministic=True)
            obs, reward, terminated, truncated, _ = eval_env.step(int(action[0]))
            start, total, done = np.zeros(1, dtype=bool), total + reward, terminated or truncated
        returns.append(total)
    return {"system": "sb3-contrib RecurrentPPO (RL-Zoo)", "seed": seed, "solved": callback.solved_at is not None,
            "time_to_solve_s": callback.solved_at[0] if callback.solved_at else None,
            "env_steps_to_solve": callback.solved_at[1] if callback.solved_at else None, "training_s": elapsed,
            "env_steps_per_s": model.num_timesteps / elapsed, "best_train_mean": callback.best_return_mean(),
            "best_eval_return": None, "greedy_return": float(np.mean(returns))}


def lstm_cost(seconds: float, out) -> pd.DataFrame:
    """Env steps/s on CartPole-v1 with and without --lstm, no early stop and no evaluation."""
    return sweep({"cost-mlp": {"lstm": False}, "cost-lstm": {"lstm": True}}, [100], out, label="run",
                 keys=["env", "lstm", "env_steps_per_s"], env="CartPole-v1", stop_at_threshold=False,
                 stop_seconds=seconds, eval_interval_steps=0)


def markdown(runs: pd.DataFrame, cost: pd.DataFrame) -> str:
    to = f"{THRESHOLD:.0f}"
    lines = [table(runs, ["system"], {
        "seeds": len, f"reached {to}": count("solved"), f"training s to {to}": ("time_to_solve_s", ".1f"),
        f"env steps to {to}": ("env_steps_to_solve", ",.0f"),
        "best 100-episode training mean": ("best_train_mean", ".0f"),
        "greedy return (100 episodes)": ("greedy_return", ".0f"), "env steps/s": ("env_steps_per_s", ",.0f"),
    }).rstrip("\n")]
    if len(cost):
        plain, lstm = cost.set_index("lstm")["env_steps_per_s"][False], cost.set_index("lstm")["env_steps_per_s"][True]
        lines += ["", "| CartPole-v1 (full observations) | env steps/s |", "|---|---|",
                  f"| no LSTM | {plain:,.0f} |", f"| --lstm | {lstm:,.0f} ({lstm / plain:.2f}x) |"]
    return "\n".join(lines) + "\n"


def main() -> None:
    options = parser(__doc__, "lstm")
    options.add_argument("--budget-s", type=float, default=600.0)
    options.add_argument("--no-baseline", action="store_true", help="skip RecurrentPPO")
    options.add_argument("--control-seeds", type=int, default=3, help="seeds of the no-LSTM control (10 min each)")
    args = options.parse_args()
    out = output_dir(args, "lstm")
    seeds, budget = ([0], min(120.0, args.budget_s)) if args.quick else ([0, 1, 2], args.budget_s)
    episodes = 20 if args.quick else 100
    runs, cost = pd.DataFrame(), pd.DataFrame()

    def save(frame: pd.DataFrame) -> None:  # after every run: an interrupted bench keeps what it measured
        nonlocal runs
        runs = frame
        atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
        atomic_write_text(out / "lstm.md", markdown(runs, cost))

    def a3c(system: str, lstm: bool, seeds: list[int]) -> None:
        sweep({system: {"lstm": lstm}}, seeds, out / "runs", label="system", keys=KEYS, rename=RENAME,
              eval_episodes=episodes, before=runs, on_row=save, env=ENV, stop_seconds=budget)

    with local_ray():  # the must-show first: every --lstm seed, then the baseline, the cost, the 10-min control
        a3c("a3c_ray ray --lstm", True, seeds)
        if not args.no_baseline:
            for seed in seeds:
                row = run_recurrent_ppo(seed, budget, episodes)
                print(row, flush=True)
                save(pd.concat([runs, pd.DataFrame([row])], ignore_index=True))
        cost = lstm_cost(10.0 if args.quick else 20.0, out / "runs")
        a3c("a3c_ray ray", False, seeds[:args.control_seeds])
    save(runs)
    print((out / "lstm.md").read_text())


if __name__ == "__main__":
    main()
