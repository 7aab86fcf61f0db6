"""Ablation of the continuous-control levers on Pendulum-v1: each lever on its own against the preset, 3 seeds.

    python experiments/levers.py                      # every lever below, Ray backend, seeds 0-2
    python experiments/levers.py --levers base,samples_64 --backends ray,mp --seeds 0,1,2,3
    python experiments/levers.py --quick              # two levers, one seed, short budget

Every run stops when its greedy evaluation reaches -200 (the default "solved"), or at the budget. Writes
`<out>/runs.csv` (one row per run) and `<out>/levers.md` (median [min, max] per lever and backend): env steps and
training seconds to solved, the greedy return of the kept policy (`a3c-ray evaluate`, 20 episodes).
"""

from __future__ import annotations

import pandas as pd

from a3c_ray.plumbing.atomic import atomic_write_text
from common import count, csv_list, local_ray, output_dir, parser, seed_list, sweep, table

SB3_A2C = {"envs_per_worker": 8, "rollout_length": 8, "lr": 7e-4, "lr_schedule": "linear", "gae_lambda": 0.9,
           "value_coef": 0.4, "optimizer": "rmsprop"}
GSDE_256 = {"rollout_length": 8, "lr": 2e-3, "log_std_init": -2.0}  # the preset before the second ablation
LEVERS = {  # name -> overrides of the Pendulum-v1 preset
    "base": {},
    "samples_128": {"envs_per_worker": 8},  # 8 envs x 16 steps per gradient (preset: 32 x 16 = 512)
    "samples_64": {"envs_per_worker": 8, "rollout_length": 8},
    "samples_256": {"envs_per_worker": 16},
    "lr_linear": {"lr_schedule": "linear"},
    "log_std_-1": {"log_std_init": -1.0},
    "gae_0.9_vf_0.4": {"gae_lambda": 0.9, "value_coef": 0.4},
    "squash": {"squash_actions": True},
    "norm_adv": {"normalize_advantage": True},
    "eps_1e-8": {"optimizer_eps": 1e-8},  # the actor's hidden layers get gradients of ~1e-6, below 1e-5
    # SB3 A2C's RL-Zoo Pendulum settings: 64 samples a gradient, lr 7e-4 decaying linearly, GAE 0.9, value coef 0.4,
    # RMSprop; without gSDE (log std -1), and with it (log std -2, as RL-Zoo)
    "sb3_like": {**SB3_A2C, "log_std_init": -1.0},
    "sb3_gsde": {**SB3_A2C, "gsde": True, "log_std_init": -2.0},
    # the same with fewer, larger Ray tasks (a Ray task costs ~2-4 ms of round trip here): 128 or 256 samples a
    # gradient, a larger learning rate, 2 tasks queued per worker
    "gsde_128": {**SB3_A2C, "gsde": True, "log_std_init": -2.0, "envs_per_worker": 16, "lr": 1e-3,
                 "tasks_per_worker": 2},
    "gsde_256": {**SB3_A2C, "gsde": True, "log_std_init": -2.0, "envs_per_worker": 32, "lr": 1.4e-3,
                 "tasks_per_worker": 2},
    "gsde_256_lr2e-3": {**SB3_A2C, "gsde": True, "log_std_init": -2.0, "envs_per_worker": 32, "lr": 2e-3,
                        "tasks_per_worker": 2},
    "gsde_256_lr3e-3": {**SB3_A2C, "gsde": True, "log_std_init": -2.0, "envs_per_worker": 32, "lr": 3e-3,
                        "tasks_per_worker": 2},
    "gsde_256_lr2e-3_const": {**SB3_A2C, "gsde": True, "log_std_init": -2.0, "envs_per_worker": 32, "lr": 2e-3,
                              "tasks_per_worker": 2, "lr_schedule": "constant"},
    # the second ablation (results/pendulum_levers_1201), each on the gSDE preset as it was then (GSDE_256: 32 envs
    # x 8 steps = 256 samples a gradient, RMSprop 2e-3, log std -2), pinned so the table can be rerun
    "preset": GSDE_256,
    "preset_lr_linear": {**GSDE_256, "lr_schedule": "linear"},  # falls to 0 at the preset's 2M-step cap
    "preset_lr_3e-3": {**GSDE_256, "lr": 3e-3},
    "preset_lr_3e-3_linear": {**GSDE_256, "lr": 3e-3, "lr_schedule": "linear"},
    "preset_128": {**GSDE_256, "envs_per_worker": 16, "lr": 1.4e-3},  # 16 envs x 8 steps: twice the updates per sample
    "preset_128_lr2e-3": {**GSDE_256, "envs_per_worker": 16},
    "preset_steps_4": {**GSDE_256, "rollout_length": 4, "lr": 1.4e-3},  # 32 x 4: shorter rollouts, fresher weights
    "preset_steps_4_lr2e-3": {**GSDE_256, "rollout_length": 4},
    "preset_steps_4_eps_1e-8": {**GSDE_256, "rollout_length": 4, "lr": 1.4e-3, "optimizer_eps": 1e-8},
    "preset_steps_4_log_std_-1": {**GSDE_256, "rollout_length": 4, "lr": 1.4e-3, "log_std_init": -1.0},
    "preset_no_ortho": {**GSDE_256, "ortho_init": False},  # PyTorch's default init, as RL-Zoo's A2C/PPO gSDE settings
    "preset_steps_4_no_ortho": {**GSDE_256, "rollout_length": 4, "lr": 1.4e-3, "ortho_init": False},
    "preset_steps_2": {**GSDE_256, "rollout_length": 2, "lr": 1e-3},
    "preset_grad_norm_1": {**GSDE_256, "max_grad_norm": 1.0},
    "preset_gamma_0.95": {**GSDE_256, "gamma": 0.95},
    "preset_eps_1e-8": {**GSDE_256, "optimizer_eps": 1e-8},
    "preset_eps_1e-7": {**GSDE_256, "optimizer_eps": 1e-7},
    "preset_eps_1e-8_log_std_-1": {**GSDE_256, "optimizer_eps": 1e-8, "log_std_init": -1.0},
    "preset_log_std_-1": {**GSDE_256, "log_std_init": -1.0},
    "preset_log_std_-3": {**GSDE_256, "log_std_init": -3.0},
    "preset_norm_adv": {**GSDE_256, "normalize_advantage": True},
    "preset_gae_0.95": {**GSDE_256, "gae_lambda": 0.95},
    "gsde_256_adam": {**SB3_A2C, "gsde": True, "log_std_init": -2.0, "envs_per_worker": 32, "lr": 1e-3,
                      "tasks_per_worker": 2, "optimizer": "adam"},
}


KEYS = ["seed", "solved", "env_steps_to_solve", "time_to_solve_s", "env_steps", "training_s", "env_steps_per_s",
        "best_eval_return", "greedy_return"]
COLUMNS = {"seeds": len, "solved": count("solved"), "env steps to solved": ("env_steps_to_solve", ",.0f"),
           "training s to solved": ("time_to_solve_s", ".1f"),
           "greedy return (20 episodes)": ("greedy_return", ".0f"), "env steps/s": ("env_steps_per_s", ",.0f")}


def markdown(runs: pd.DataFrame) -> str:
    """Median [min, max] per lever and backend."""
    return table(runs, ["lever", "backend"], COLUMNS)


def main() -> None:
    options = parser(__doc__, "pendulum_levers")
    options.add_argument("--env", default="Pendulum-v1")
    options.add_argument("--levers", type=csv_list, default=",".join(LEVERS))
    options.add_argument("--backends", type=csv_list, default="ray")
    options.add_argument("--seeds", type=seed_list, default="0,1,2")
    options.add_argument("--budget-steps", type=int, default=2_000_000)
    options.add_argument("--budget-s", type=float, default=120.0)
    args = options.parse_args()
    out = output_dir(args, "pendulum_levers")
    levers = ["base", "samples_64"] if args.quick else args.levers
    budget_steps, budget_s = (300_000, 30.0) if args.quick else (args.budget_steps, args.budget_s)

    def save(runs: pd.DataFrame) -> None:
        atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
        atomic_write_text(out / "levers.md", markdown(runs))

    grid = {(lever, backend): {**LEVERS[lever], "backend": backend} for lever in levers for backend in args.backends}
    with local_ray():
        runs = sweep(grid, [0] if args.quick else args.seeds, out / "runs", label=("lever", "backend"), keys=KEYS,
                     eval_episodes=20, on_row=save, env=args.env, stop_steps=budget_steps, stop_seconds=budget_s)
    print(markdown(runs))


if __name__ == "__main__":
    main()
