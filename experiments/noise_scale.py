"""The gradient noise scale of each env's preset along a training run (McCandlish et al. 2018, "An empirical model
of large-batch training"): the update size, in env steps, past which a bigger update stops saving updates and only
spends more env steps. It is what bounds env steps to solve as workers are added (docs/scaling.md).

    python experiments/noise_scale.py --quick     # CartPole-v1, seed 0
    python experiments/noise_scale.py             # CartPole-v1, Pendulum-v1, LunarLander-v3; seeds 0-2

One process, the env's CLI defaults (its preset, or the generic defaults: LunarLander-v3 has no preset): a run
trains with one gradient per update and no staleness, from M env groups in turn (each group so steps 1/M as
often), clipped at max_grad_norm. At 0, then 8 gradients' env steps and each doubling up to the budget (its last
hold), the weights are held
and each of the M groups computes one unclipped gradient of one rollout (B_small = envs x rollout steps) on them.
From the two batch sizes (one gradient; the mean of all M, B_big) come unbiased estimates of the true gradient's
squared norm |G|^2 and of the per-sample variance S (McCandlish et al., appendix A), each averaged over `--rounds`
holds; B_noise = S / |G|^2, in env steps of this batch structure. Their model: an update of B env steps needs
(1 + B_noise / B) times the fewest updates and (1 + B / B_noise) times the fewest env steps, so going from updates
of B_2 env steps to B_N costs (1 + B_N / B_noise) / (1 + B_2 / B_noise) times the env steps, at the best learning
rate for each B (a fixed learning rate does no better). Beside the scaling study's runs (--study, its scaling.csv)
it predicts each (mode, workers) row's env steps to solve against 2 workers': the study's gradients per update
times the env steps per gradient is B_N, each stage of the run weighted by the env steps it covers, up to the
study's median env steps to solve at 2 workers. Writes <out>/noise.csv and <out>/noise.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from a3c_ray import make_config
from a3c_ray.core.learner import Learner
from a3c_ray.core.worker import RolloutWorker
from a3c_ray.plumbing.atomic import atomic_write_text
from common import csv_list, output_dir, parser, return_mean, seed_list, table

BUDGETS = {"CartPole-v1": 160_000, "Pendulum-v1": 640_000, "LunarLander-v3": 1_280_000,
           "Acrobot-v1": 320_000, "MinAtar/Breakout-v1": 1_280_000}


def estimates(gradients: list[np.ndarray], b_small: float) -> tuple[float, float]:
    """Unbiased |G|^2 and S from M >= 2 gradients of b_small samples each and their mean (of M * b_small)."""
    small = float(np.mean([g @ g for g in gradients]))
    mean = np.mean(gradients, axis=0)
    big, b_big = float(mean @ mean), b_small * len(gradients)
    g2 = (b_big * big - b_small * small) / (b_big - b_small)
    s = (small - big) / (1 / b_small - 1 / b_big)
    return g2, s


def measure(env: str, seed: int, groups: int, rounds: int, budget: int) -> list[dict]:
    """Train `budget` env steps, holding the weights `rounds` times at 0, 8 gradients' env steps, each doubling,
    and the budget. B_noise is inf where |G|^2 came out <= 0: noise too large against the signal to resolve."""
    config = make_config(env, seed=seed, workers=groups, grad_dtype="float32", eval_interval_steps=0)
    unclipped = make_config(env, seed=seed, workers=groups, grad_dtype="float32", max_grad_norm=0)
    torch.manual_seed(seed)  # the initial weights, as the trainer seeds them
    learner = Learner(config)
    workers = [RolloutWorker(unclipped, index) for index in range(groups)]
    rows, returns, env_steps, turn = [], [], 0, 0
    b_small = config.envs_per_worker * config.rollout_length
    hold_at = 0
    try:
        while True:
            if env_steps >= hold_at:
                g2s, ss = [], []
                for _ in range(rounds):
                    weights = learner.weights()
                    g2, s = estimates([w.compute_gradients(weights).values() for w in workers], b_small)
                    g2s.append(g2)
                    ss.append(s)
                g2, s = float(np.mean(g2s)), float(np.mean(ss))
                recent = return_mean(pd.Series(returns[-100:])).iloc[-1] if returns else np.nan
                rows.append({"env": env, "seed": seed, "stage": hold_at, "env_steps": env_steps,
                             "updates": learner.version, "return_mean": recent, "g2": g2, "s": s,
                             "b_noise": s / g2 if g2 > 0 else np.inf, "b_small": b_small, "groups": groups})
                print(rows[-1], flush=True)
                if env_steps >= budget:
                    return rows
                hold_at = min(max(2 * hold_at, b_small * 8), budget)
            gradients = workers[turn % groups].compute_gradients(learner.weights())
            turn += 1
            values = gradients.values()
            norm = float(np.linalg.norm(values))
            if config.max_grad_norm > 0 and norm > config.max_grad_norm:
                gradients.grads = values * (config.max_grad_norm / norm)  # as clip_grad_norm_ over all params
            learner.apply_gradients(gradients)
            env_steps += gradients.env_steps
            returns += [ret for ret, _ in gradients.episodes]
    finally:
        for worker in workers:
            worker.close()


def markdown(frame: pd.DataFrame) -> str:
    """Per env and point of the run: B_noise, median [min, max] over seeds (inf: unresolved), beside the return."""
    frame = frame.assign(stage=frame["stage"].astype(int))
    columns = {"seeds": lambda g: len(g), "return (100-episode mean)": ("return_mean", ".1f"),
               "B_noise (env steps)": ("b_noise", ",.0f"), "unresolved": lambda g: int(np.isinf(g["b_noise"]).sum()),
               "env steps per gradient": lambda g: f"{int(g['b_small'].iloc[0]):,}"}
    return table(frame, ["env", "stage"], columns)


def predicted_ratio(stages: pd.DataFrame, b_from: float, b_to: float, until: float) -> float:
    """McCandlish et al.'s env steps at updates of b_to against b_from, summed over the run's stages (each the
    median B_noise over seeds, weighted by the env steps from it to the next stage) up to `until` env steps. The
    hold at 0 is left out (the untrained value head's gradient dominates it): the first later stage covers from 0."""
    noise = stages.groupby("stage")["b_noise"].median().sort_index()
    noise = noise[noise.index > 0]
    starts = noise.index.to_numpy(dtype=float).copy()
    starts[0] = 0.0
    edges = np.minimum(np.append(starts[1:], np.inf), until)
    width = np.clip(edges - starts, 0, None)
    b_noise = noise.to_numpy().clip(min=1.0)
    cost = (1 + b_to / b_noise) / (1 + b_from / b_noise)
    return float((width * cost).sum() / width.sum())


def against_study(frame: pd.DataFrame, study: pd.DataFrame) -> str:
    """Each study row (env, mode, workers) with its measured ratio of env steps to solve against 2 workers and
    the ratio the noise scale predicts from its gradients per update. A mode without 2-worker runs is measured
    against async's (at 2 workers, one gradient per update, the staleness rules change nothing)."""
    lines = ["| env | mode | workers | env steps per update (median) | measured x 2 workers | predicted x 2 workers |",
             "|---|---|---|---|---|---|"]
    study = study[study["env"].isin(frame["env"])]
    for (env, mode), rows in study.groupby(["env", "mode"], sort=False):
        base = rows[rows["workers"] == 2]
        if base.empty:  # at 2 workers (one gradient per update) the staleness rules are async itself
            base = study[(study["env"] == env) & (study["mode"] == "async") & (study["workers"] == 2)]
        if base.empty or not base["solved"].all():
            continue
        rollout = make_config(env).rollout_length
        until = base["env_steps_to_solve"].median()
        b_from = (base["gradients_per_update"] * base["envs_per_worker"]).median() * rollout
        for workers, group in rows.sort_values("workers").groupby("workers"):
            b_to = (group["gradients_per_update"] * group["envs_per_worker"]).median() * rollout
            solved = group["solved"].all()
            measured = (f"{group['env_steps_to_solve'].median() / until:.1f}" if solved else
                        f"– ({int(group['solved'].sum())}/{len(group)} solved)")
            predicted = predicted_ratio(frame[frame["env"] == env], b_from, b_to, until)
            lines.append(f"| {env} | {mode} | {workers} | {b_to:,.0f} | {measured} | {predicted:.1f} |")
    return "\n".join(lines) + "\n"


def render(frame: pd.DataFrame, study: pd.DataFrame | None) -> str:
    """noise.md: the noise scale along each run, then the study's rows with measured and predicted ratios."""
    text = "# Gradient noise scale along a run\n\n" + markdown(frame)
    if study is not None:
        text += "\n## Against the scaling study\n\n" + against_study(frame, study)
    return text


def main() -> None:
    torch.set_num_threads(1)
    options = parser(__doc__, "noise_scale")
    options.add_argument("--envs", type=csv_list, default="CartPole-v1,Pendulum-v1,LunarLander-v3")
    options.add_argument("--seeds", type=seed_list, default="0,1,2")
    options.add_argument("--groups", type=int, default=32, help="M >= 2: env groups (gradients) per hold (default 32)")
    options.add_argument("--rounds", type=int, default=4, help="holds averaged at each point (default 4)")
    options.add_argument("--study", default=str(Path(__file__).parent / "results/scaling/scaling.csv"),
                         help="the scaling study's scaling.csv to predict (default: the committed one)")
    options.add_argument("--render", action="store_true", help="only noise.md, from <out>/noise.csv")
    args = options.parse_args()
    if args.groups < 2:
        options.error(f"--groups {args.groups}: needs 2 or more (one gradient against the mean of all)")
    out = output_dir(args, "noise_scale")
    envs, seeds = (["CartPole-v1"], [0]) if args.quick else (args.envs, args.seeds)
    path = out / "noise.csv"
    if args.render and not path.is_file():
        options.error(f"--render: no {path} yet; run the measurement first")
    frame = pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=["env", "seed"])
    study = pd.read_csv(args.study) if Path(args.study).is_file() else None
    for env in [] if args.render else envs:
        for seed in seeds:
            if ((frame["env"] == env) & (frame["seed"] == seed)).any():
                continue
            start = time.perf_counter()
            rows = measure(env, seed, args.groups, args.rounds, BUDGETS.get(env, 640_000))
            print(f"{env} seed {seed}: {time.perf_counter() - start:.0f} s", flush=True)
            frame = pd.concat([frame, pd.DataFrame(rows)], ignore_index=True)
            atomic_write_text(path, frame.to_csv(index=False))
            atomic_write_text(out / "noise.md", render(frame, study))
    atomic_write_text(out / "noise.md", render(frame, study))


if __name__ == "__main__":
    main()
