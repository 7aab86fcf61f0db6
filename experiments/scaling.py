"""Learning at scale: env steps to solve from 1 to 256 workers, asynchronous (with each staleness rule) and sync.

Every run is on the virtual backend (--backend virtual: N workers simulated in one process, learning real, time
simulated as a cluster with one core per worker would see it; docs/scaling.md), solved by a confirmed greedy
evaluation on the --eval-interval-steps grid (training waits for it). Task times are drawn around one core's
measured time for that env and envs per worker (calibrated_task_ms), so every run is reproducible. Modes:
- async: today's defaults (one step per gradient below 64 workers, Pendulum's preset batched; node aggregators
  from 64);
- async-batched: every gradient that has arrived applied as one step (their mean): the default below 64 workers
  until 2026-12-07;
- sync: --sync, synchronous A2C (one mean of every worker's gradient on the same weights per update);
- async-per-gradient: one optimizer step per gradient, as the A3C paper's driver (no batching, no aggregators);
- async-max-lag-N: gradients more than N versions old dropped (--max-policy-lag);
- async-lr-lag, async-lr-sqrt-batch: each update's learning rate divided by its gradients' mean lag (Zhang et al.
  2016), or times the square root of their count (--lr-per-update);
- async-envs-per-worker-scaled: the envs of 2 workers shared among N (at least 1 each), so that an update holds
  about as many samples at any N.

    python experiments/scaling.py --quick     # CartPole-v1 at 2, 64, 256 workers, async and sync, 3 seeds
    python experiments/scaling.py             # the study (hours): see --envs, --workers, --modes, --seeds
    python experiments/scaling.py --predict   # predicted time to solve on 16, 64, 256 cores, from scaling.csv

Writes <out>/scaling.csv (env, mode, workers, seed, solved, env_steps_to_solve, lag_p95, gradients_per_update,
...), a row as each run ends, scaling.md and scaling.png (env steps to solve against workers, one line per mode,
one panel per env), and task_ms.json (each env's calibrated task time, measured once per folder). Two invocations
on different modes or envs may share a folder (they take turns at its files), one per core.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scaling_predict import predict  # noqa: E402

from a3c_ray import make_config  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write_text  # noqa: E402
from common import SEEDS, csv_list, output_dir, parser, seed_list, share, sweep, table  # noqa: E402

ENVS = ["CartPole-v1", "Pendulum-v1", "LunarLander-v3", "MinAtar/Breakout-v1"]
WORKERS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
MODES = {"async": {}, "sync": {"sync": True}, "async-batched": {"batch_gradients": True},
         "async-per-gradient": {"batch_gradients": False, "node_aggregators": False},
         "async-max-lag-4": {"max_policy_lag": 4}, "async-lr-lag": {"lr_per_update": "lag"},
         "async-lr-sqrt-batch": {"lr_per_update": "sqrt-batch", "batch_gradients": True},
         "async-envs-per-worker-scaled": "scaled"}
QUICK = {"envs": ENVS[:1], "workers": [2, 64, 256], "modes": ["async", "sync"], "seeds": SEEDS}
COLUMNS = ["env", "mode", "workers", "seed", "solved", "env_steps_to_solve", "lag_p95", "gradients_per_update",
           "lag_p50", "lag_mean", "envs_per_worker", "time_to_solve_s", "updates", "env_steps", "task_ms",
           "wall_s", "best_eval_return"]  # the last: rows from 2026-12-07 evening on (the Breakout rows)
RENAME = {"policy_lag_p95": "lag_p95", "policy_lag_p50": "lag_p50", "policy_lag_mean": "lag_mean"}
# a finer grid than the default 25,000 where runs solve within a few of those (CartPole's greedy policy often
# passes at the first evaluation): env steps to solve are judged on it
EVAL_INTERVAL = {"CartPole-v1": 5_000, "Pendulum-v1": 10_000, "MinAtar/Breakout-v1": 125_000}
# the env-step budget of a run, where the env's default (make_config's stop_steps) would end runs that the
# study needs to see solve: LunarLander-v3 takes ~1.3M env steps at 2 workers on the generic defaults
STOP_STEPS = {"LunarLander-v3": 4_000_000, "MinAtar/Breakout-v1": 6_000_000}
# the return that solves an env with no registered reward_threshold. Breakout: the preset's 2 workers solve 12 at
# 1.4-2.5M env steps (scaling.csv; its training mean reaches 28 only near 10M, an hour of simulation a run)
STOP_RETURN = {"MinAtar/Breakout-v1": 12.0}


def overrides(env: str, mode: str, workers: int) -> dict:
    """The config overrides of a mode at this worker count."""
    spec = MODES[mode]
    if spec == "scaled":
        return {"envs_per_worker": scaled_envs_per_worker(env, workers)}
    return dict(spec)


def config_at(env: str, mode: str, workers: int):
    """The config the study runs (env, mode) with at this worker count (the virtual cluster aside)."""
    return make_config(env, workers=workers, **overrides(env, mode, workers))


def scaled_envs_per_worker(env: str, workers: int) -> int:
    """The rule tried (and not adopted) for async-envs-per-worker-scaled: the envs of 2 workers shared among all,
    at least 1 each, so that an update holds about as many samples at any N."""
    return max(1, round(make_config(env).envs_per_worker * 2 / workers))


TASK_CV = 0.2  # the spread of task times real Ray workers showed here (virtual_validation: 0.16-0.24 at 2 workers)


def calibrated_task_ms(config, out: Path) -> float:
    """One task's compute time on one core of this machine (ms; the median of 30, after 5 to warm up), for this
    env, model and envs per worker: the study's virtual runs draw their task times around it, so that they are
    reproducible. Timed in the process's CPU time, and kept in <out>/task_ms.json: measured once per results
    folder (on a quiet machine), so every row of a study, and a second invocation started beside the first, draws
    from the same time (the gradients per update, and so the learning, depend on it)."""
    import json
    import time

    from a3c_ray.core.learner import Learner
    from a3c_ray.core.worker import RolloutWorker

    path, key = out / "task_ms.json", f"{config.env}|{config.envs_per_worker}|{config.rollout_length}"
    with locked(out):
        known = json.loads(path.read_text()) if path.is_file() else {}
        if key not in known:
            worker, weights = RolloutWorker(config, 0), Learner(config).weights()
            times = []
            for i in range(35):
                start = time.process_time()
                worker.compute_gradients(weights)
                times.append(time.process_time() - start)
            worker.close()
            known[key] = round(1000 * float(np.median(times[5:])), 3)
            atomic_write_text(path, json.dumps(known, indent=2, sort_keys=True) + "\n")
    return known[key]


@contextmanager
def locked(out: Path):
    """Holds <out>/.lock: invocations sharing a results folder take turns at its files (scaling.csv, task_ms.json)."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_rows(csv: Path) -> pd.DataFrame:
    return pd.read_csv(csv) if csv.is_file() else pd.DataFrame(columns=COLUMNS)


def add_row(csv: Path, row: pd.DataFrame) -> None:
    """Appends one run's row to scaling.csv as it is now on disk (another invocation may have added rows since)."""
    with locked(csv.parent):
        frame = read_rows(csv)
        frame = row if frame.empty else pd.concat([frame, row], ignore_index=True)
        atomic_write_text(csv, frame.to_csv(index=False))


def task_ms(result) -> dict:
    return {"task_ms": result.config.virtual["task_ms"]}


def run_study(envs, workers, modes, seeds, out: Path) -> pd.DataFrame:
    """Runs every (env, mode, workers, seed) that scaling.csv has no row of, each run's row written as it ends
    (an interrupted study keeps what it measured and runs only the rest; two invocations on other modes can share
    the folder)."""
    csv = out / "scaling.csv"
    for env in envs:
        for mode in modes:
            for n in workers:
                done = read_rows(csv)
                have = set(done[(done["env"] == env) & (done["mode"] == mode) & (done["workers"] == n)]["seed"])
                missing = [seed for seed in seeds if seed not in have]
                if not missing:
                    continue
                task = calibrated_task_ms(config_at(env, mode, n), out)
                grid = {(env, mode, n): {"workers": n, **overrides(env, mode, n),
                                         "virtual": {"task_ms": task, "task_cv": TASK_CV}}}
                sweep(grid, missing, out / "runs", label=("env", "mode", "n"), keys=None, extra=task_ms,
                      on_row=lambda rows: add_row(csv, rows.rename(columns=RENAME)[COLUMNS].tail(1)),
                      env=env, backend="virtual", eval_interval_steps=EVAL_INTERVAL.get(env),
                      stop_steps=STOP_STEPS.get(env), stop_return=STOP_RETURN.get(env))
    return read_rows(csv)


def report(frame: pd.DataFrame) -> str:
    columns = {"solved": share("solved"), "env steps to solve": ("env_steps_to_solve", ",.0f"),
               "lag p95": ("lag_p95", ".0f"), "gradients per update": ("gradients_per_update", ".1f"),
               "envs per worker": ("envs_per_worker", ".0f"), "simulated s to solve": ("time_to_solve_s", ".2f"),
               "updates": ("updates", ",.0f")}
    best = {"best greedy evaluation": ("best_eval_return", ".1f")}  # how far a run got, where it did not solve
    lines = ["# Learning at scale (virtual backend)\n", "Median [min, max] over seeds; env steps to solve by a "
             "confirmed greedy evaluation. Ratios: the median env steps to solve against 2 workers' (same env and "
             "mode). Updates (and the best greedy evaluation, where recorded): until the run solved, or over its "
             "whole budget where it did not.\n"]
    for env, rows in frame.groupby("env", sort=False):
        rows = rows.sort_values(["mode", "workers"], kind="stable")
        base = rows[rows["workers"] == 2].groupby("mode")["env_steps_to_solve"].median()
        ratio = {"x 2 workers": lambda g: _ratio(g, base)}
        solved_at = f"Solved at a confirmed greedy mean of {STOP_RETURN[env]:g} (no registered threshold).\n\n" \
            if env in STOP_RETURN else ""
        shown = {**columns, **(best if rows.get("best_eval_return", pd.Series()).notna().any() else {}), **ratio}
        lines += [f"\n## {env}\n", solved_at + table(rows, ["mode", "workers"], shown)]
    return "\n".join(lines)


def _ratio(group: pd.DataFrame, base: pd.Series) -> str:
    mode = group["mode"].iloc[0]
    steps = group["env_steps_to_solve"].dropna()
    if mode not in base.index or not len(steps) or not group["solved"].all():
        return "–"
    return f"{steps.median() / base[mode]:.2f}"


def plot(frame: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = list(dict.fromkeys(frame["env"]))
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 4), squeeze=False)
    for ax, env in zip(axes[0], envs):
        for mode, rows in frame[frame["env"] == env].groupby("mode", sort=False):
            # a run that did not solve counts as its budget (a lower bound); such points carry "solved/runs"
            rows = rows.assign(steps=rows["env_steps_to_solve"].fillna(rows["env_steps"]))
            by_n = rows.groupby("workers")
            median, low, high = by_n["steps"].median(), by_n["steps"].min(), by_n["steps"].max()
            line = ax.plot(median.index, median.values, marker="o", label=mode)[0]
            ax.fill_between(median.index, low.values, high.values, alpha=0.15, color=line.get_color())
            for n, group in by_n:
                if not group["solved"].all():
                    ax.annotate(f"{int(group['solved'].sum())}/{len(group)}", (n, median[n]), fontsize=7,
                                color=line.get_color(), xytext=(3, 3), textcoords="offset points")
        ax.set(xscale="log", yscale="log", title=env, xlabel="workers",
               ylabel="env steps to solve (unsolved: the budget)")
        ax.set_xticks(sorted(frame["workers"].unique()), labels=sorted(frame["workers"].unique()))
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    p = parser(__doc__, "scaling")
    p.add_argument("--envs", type=csv_list)
    p.add_argument("--workers", type=lambda t: [int(n) for n in csv_list(t)])
    p.add_argument("--modes", type=csv_list)
    p.add_argument("--seeds", type=seed_list)
    p.add_argument("--predict", action="store_true", help="only the prediction table, from <out>/scaling.csv")
    p.add_argument("--render", action="store_true", help="only scaling.md and the plot, from <out>/scaling.csv")
    args = p.parse_args()
    out = output_dir(args, "scaling")
    if args.render:
        frame = pd.read_csv(out / "scaling.csv")
        atomic_write_text(out / "scaling.md", report(frame))
        plot(frame, out / "scaling.png")
        return
    if not args.predict:
        plan = QUICK if args.quick else {"envs": ENVS, "workers": WORKERS, "modes": list(MODES), "seeds": SEEDS}
        frame = run_study(args.envs or plan["envs"], args.workers or plan["workers"], args.modes or plan["modes"],
                          args.seeds or plan["seeds"], out)
        atomic_write_text(out / "scaling.md", report(frame))
        plot(frame, out / "scaling.png")
        print(report(frame))
    frame = pd.read_csv(out / "scaling.csv")
    text = "# Predicted time to solve on N cores\n\n" + predict(frame, config_at)
    atomic_write_text(out / "predict.md", text)
    print(text)


if __name__ == "__main__":
    main()
