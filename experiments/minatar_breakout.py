"""MinAtar Breakout from pixels (10x10x4 boolean channels), CLI defaults, on this 2-core machine.

(Not named minatar.py: run as a script, that name would shadow the minatar package.)

    python experiments/minatar_breakout.py             # a3c_ray (Ray, 2 workers) then SB3 PPO, 15 minutes each, seed 0
    python experiments/minatar_breakout.py --quick     # 2 minutes each
    python experiments/minatar_breakout.py --seeds 0,1,2 --minutes 15

a3c_ray runs `a3c-ray train --env MinAtar/Breakout-v1` as it comes (its preset; the CNN is picked from the
observation space) with no early stop. The baseline, in the same invocation, is SB3 PPO with RL-Zoo's Atari
settings (8 envs, 128 steps, 4 epochs of 256-sample batches, lr 2.5e-4, clip 0.1, entropy 0.01) and MinAtar's own
network (conv16 3x3 + FC128, the same one a3c_ray uses). The MinAtar paper's AC(lambda) reference is read off its
published curves (kenjyoung/MinAtar, img/learning_curves.gif: 30 runs, full action set of 6): AC(0.8) ~10 at 1M
frames, ~14 at 2M, ~17 at 5M; AC(0) ~8, ~12, ~15.

Writes `<out>/runs.csv`, `<out>/curves.csv` (100-episode mean return against env steps, per run, every 50th episode),
`<out>/minatar.md` and `<out>/breakout.png`.
"""

from __future__ import annotations

import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from a3c_ray import load_run  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write_text  # noqa: E402
from common import (  # noqa: E402
    MINATAR_COLUMNS,
    MINATAR_ENV,
    MINATAR_TARGET,
    local_ray,
    minatar_options,
    minatar_table,
    minatar_to_target,
    output_dir,
    parser,
    pick,
    return_mean,
    run_row,
    save_png,
    seed_list,
)

A3C = "a3c_ray ray (CLI defaults)"
CURVE_EVERY = 50  # curves.csv keeps every 50th episode's 100-episode mean
PAPER = {"AC(0.8)": {1e6: 10, 2e6: 14, 5e6: 17}, "AC(0)": {1e6: 8, 2e6: 12, 5e6: 15}}


def curve(episodes: pd.DataFrame) -> pd.DataFrame:
    """The 100-episode mean return against env steps."""
    return pd.DataFrame({"env_steps": episodes["env_steps"].to_numpy(),
                         "mean_100": return_mean(episodes["return"]).to_numpy()})


def run_a3c(seed: int, seconds: float, out) -> tuple[dict, pd.DataFrame]:
    """A run with CLI defaults into `out/a3c-s<seed>`; its row and curve."""
    row = run_row(out=out / f"a3c-s{seed}", seed=seed, **minatar_options(seconds))
    return {"system": A3C, **pick(row, MINATAR_COLUMNS)}, curve(load_run(row["run_dir"]).episodes)


def run_ppo(seed: int, seconds: float) -> tuple[dict, pd.DataFrame]:
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    from a3c_ray.core.encoders import ImageEncoder
    from a3c_ray.envs.suites import prepare

    class MinAtarCNN(BaseFeaturesExtractor):
        def __init__(self, space: gym.spaces.Box):
            super().__init__(space, features_dim=128)
            self.net = ImageEncoder(tuple(space.shape), uint8=False)

        def forward(self, obs: torch.Tensor) -> torch.Tensor:
            return self.net(obs)

    class Clock(BaseCallback):
        def __init__(self):
            super().__init__()
            self.start, self.rows = time.perf_counter(), []

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.rows.append((info["episode"]["r"], self.num_timesteps, time.perf_counter() - self.start))
            return time.perf_counter() - self.start < seconds

    torch.set_num_threads(1)
    prepare(MINATAR_ENV)
    env = make_vec_env(MINATAR_ENV, n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, n_steps=128, batch_size=256, n_epochs=4,
                learning_rate=2.5e-4, clip_range=0.1, ent_coef=0.01, vf_coef=0.5,
                policy_kwargs=dict(features_extractor_class=MinAtarCNN, net_arch=[]))
    clock = Clock()
    model.learn(total_timesteps=10**10, callback=clock)
    episodes = pd.DataFrame(clock.rows, columns=["return", "env_steps", "time_s"])
    return {"system": "SB3 PPO (RL-Zoo Atari settings, MinAtar CNN)", "seed": seed, **minatar_to_target(episodes),
            "env_steps": model.num_timesteps,
            "env_steps_per_s": model.num_timesteps / (time.perf_counter() - clock.start)}, curve(episodes)


def plot(curves: dict[str, pd.DataFrame], path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, frame in curves.items():
        ax.plot(frame["env_steps"], frame["mean_100"], label=label)
    for name, points in PAPER.items():
        ax.plot(list(points), list(points.values()), "k--" if name == "AC(0.8)" else "k:", marker="o", ms=3,
                label=f"MinAtar paper {name} (read off its figure)")
    ax.axhline(MINATAR_TARGET, color="grey", lw=0.8)
    ax.set_xlabel("env steps (frames)")
    ax.set_ylabel("return, 100-episode mean")
    ax.set_title(f"{MINATAR_ENV} on 2 cores")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save_png(fig, path)


def main() -> None:
    options = parser(__doc__, "minatar")
    options.add_argument("--seeds", type=seed_list, default="0")
    options.add_argument("--minutes", type=float, default=15.0)
    options.add_argument("--no-baseline", action="store_true")
    args = options.parse_args()
    out = output_dir(args, "minatar")
    seconds = 120.0 if args.quick else args.minutes * 60
    rows, curves = [], {}

    def record(row: dict, frame: pd.DataFrame) -> None:
        rows.append(row)
        curves[f"{row['system']}, seed {row['seed']}"] = frame
        print(row, flush=True)

    with local_ray():
        for seed in args.seeds:
            record(*run_a3c(seed, seconds, out / "runs"))
            if not args.no_baseline:
                record(*run_ppo(seed, seconds))
    runs = pd.DataFrame(rows)
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    thinned = pd.concat([f.iloc[::CURVE_EVERY].assign(run=k) for k, f in curves.items()])  # ~1M episodes in full
    atomic_write_text(out / "curves.csv", thinned.to_csv(index=False))
    atomic_write_text(out / "minatar.md", minatar_table(runs))
    plot(curves, out / "breakout.png")
    print(minatar_table(runs))


if __name__ == "__main__":
    main()
