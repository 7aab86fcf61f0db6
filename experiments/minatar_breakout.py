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
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

from a3c_ray import make_config, train  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write, atomic_write_text  # noqa: E402
from a3c_ray.run.recorder import WINDOW  # noqa: E402
from common import local_ray, output_dir, parser  # noqa: E402

ENV = "MinAtar/Breakout-v1"
TARGET = 10.0
CURVE_EVERY = 50  # curves.csv keeps every 50th episode's 100-episode mean
PAPER = {"AC(0.8)": {1e6: 10, 2e6: 14, 5e6: 17}, "AC(0)": {1e6: 8, 2e6: 12, 5e6: 15}}


def curve(returns: pd.Series, steps: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"env_steps": steps.to_numpy(), "mean_100": returns.rolling(WINDOW).mean().to_numpy()})


def reached(frame: pd.DataFrame, elapsed: pd.Series) -> tuple[float | None, float | None]:
    hit = np.flatnonzero(frame["mean_100"].to_numpy() >= TARGET)
    return (float(elapsed.iloc[hit[0]]), float(frame["env_steps"].iloc[hit[0]])) if len(hit) else (None, None)


def run_a3c(seed: int, seconds: float, out, system: str = "a3c_ray ray (CLI defaults)", name: str = "a3c",
            **overrides) -> tuple[dict, pd.DataFrame]:
    """A run with CLI defaults (plus `overrides`, as flags would be) into `out/<name>-s<seed>`; its row and curve."""
    config = make_config(ENV, seed=seed, stop_seconds=seconds, stop_at_threshold=False, progress_bar=False,
                         overwrite=True, out=str(out / f"{name}-s{seed}"), **overrides)
    result = train(config)
    episodes = result.episodes
    frame = curve(episodes["return"], episodes["env_steps"])
    time_s, steps = reached(frame, episodes["time_s"])
    return {"system": system, "seed": seed, "time_to_10_s": time_s, "env_steps_to_10": steps,
            "final_mean_100": frame["mean_100"].iloc[-1], "env_steps": result.summary["env_steps"],
            "env_steps_per_s": result.summary["env_steps_per_s"]}, frame


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
    prepare(ENV)
    env = make_vec_env(ENV, n_envs=8, seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, n_steps=128, batch_size=256, n_epochs=4,
                learning_rate=2.5e-4, clip_range=0.1, ent_coef=0.01, vf_coef=0.5,
                policy_kwargs=dict(features_extractor_class=MinAtarCNN, net_arch=[]))
    clock = Clock()
    model.learn(total_timesteps=10**10, callback=clock)
    episodes = pd.DataFrame(clock.rows, columns=["return", "env_steps", "time_s"])
    frame = curve(episodes["return"], episodes["env_steps"])
    time_s, steps = reached(frame, episodes["time_s"])
    return {"system": "SB3 PPO (RL-Zoo Atari settings, MinAtar CNN)", "seed": seed, "time_to_10_s": time_s,
            "env_steps_to_10": steps, "final_mean_100": frame["mean_100"].iloc[-1], "env_steps": model.num_timesteps,
            "env_steps_per_s": model.num_timesteps / (time.perf_counter() - clock.start)}, frame


def markdown(runs: pd.DataFrame) -> str:
    """One table row per run (run_a3c's or run_ppo's row)."""
    lines = ["| system | seed | minutes to a 100-episode mean of 10 | env steps to 10 | final 100-episode mean | "
             "env steps | env steps/s |", "|---|---|---|---|---|---|---|"]
    for _, r in runs.iterrows():
        to10 = "not reached" if pd.isna(r["time_to_10_s"]) else f"{r['time_to_10_s'] / 60:.1f}"
        steps = "–" if pd.isna(r["env_steps_to_10"]) else f"{r['env_steps_to_10']:,.0f}"
        lines.append(f"| {r['system']} | {r['seed']} | {to10} | {steps} | {r['final_mean_100']:.1f} | "
                     f"{r['env_steps']:,.0f} | {r['env_steps_per_s']:,.0f} |")
    return "\n".join(lines) + "\n"


def plot(curves: dict[str, pd.DataFrame], path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, frame in curves.items():
        ax.plot(frame["env_steps"], frame["mean_100"], label=label)
    for name, points in PAPER.items():
        ax.plot(list(points), list(points.values()), "k--" if name == "AC(0.8)" else "k:", marker="o", ms=3,
                label=f"MinAtar paper {name} (read off its figure)")
    ax.axhline(TARGET, color="grey", lw=0.8)
    ax.set_xlabel("env steps (frames)")
    ax.set_ylabel("return, 100-episode mean")
    ax.set_title(f"{ENV} on 2 cores")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


def main() -> None:
    options = parser(__doc__.splitlines()[0], "minatar")
    options.add_argument("--seeds", default="0")
    options.add_argument("--minutes", type=float, default=15.0)
    options.add_argument("--no-baseline", action="store_true")
    args = options.parse_args()
    out = output_dir(args, "minatar")
    seconds = 120.0 if args.quick else args.minutes * 60
    rows, curves = [], {}
    with local_ray():
        for seed in [int(s) for s in args.seeds.split(",")]:
            systems = [("a3c", lambda s=seed: run_a3c(s, seconds, out / "runs"))]
            if not args.no_baseline:
                systems.append(("ppo", lambda s=seed: run_ppo(s, seconds)))
            for name, run in systems:
                row, frame = run()
                rows.append(row)
                curves[f"{row['system']}, seed {seed}"] = frame
                print(row, flush=True)
    runs = pd.DataFrame(rows)
    atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
    thinned = pd.concat([f.iloc[::CURVE_EVERY].assign(run=k) for k, f in curves.items()])  # ~1M episodes in full
    atomic_write_text(out / "curves.csv", thinned.to_csv(index=False))
    atomic_write_text(out / "minatar.md", markdown(runs))
    plot(curves, out / "breakout.png")
    print(markdown(runs))


if __name__ == "__main__":
    main()
