"""Learning at scale: env steps to solve from 1 to 256 workers, asynchronous (with each staleness rule) and sync.

Every run is on the virtual backend (--backend virtual: N workers simulated in one process, learning real, time
simulated as a cluster with one core per worker would see it; docs/scaling.md), solved by a confirmed greedy
evaluation on the --eval-interval-steps grid (training waits for it). Task times are drawn around one core's
measured time for that env and envs per worker (calibrated_task_ms), so every run is reproducible. Modes:
- async: today's defaults (batched apply below 64 workers, node aggregators from 64);
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
...), scaling.md and scaling.png (env steps to solve against workers, one line per mode, one panel per env).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from a3c_ray import make_config  # noqa: E402
from a3c_ray.backends.protocol import uses_node_aggregators  # noqa: E402
from a3c_ray.backends.virtual_model import ClusterModel  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write_text  # noqa: E402
from common import SEEDS, csv_list, output_dir, parser, seed_list, share, sweep, table  # noqa: E402

ENVS = ["CartPole-v1", "Pendulum-v1", "LunarLander-v3", "MinAtar/Breakout-v1"]
WORKERS = [1, 2, 4, 8, 16, 32, 64, 128, 256]
MODES = {"async": {}, "sync": {"sync": True},
         "async-per-gradient": {"batch_gradients": False, "node_aggregators": False},
         "async-max-lag-4": {"max_policy_lag": 4}, "async-lr-lag": {"lr_per_update": "lag"},
         "async-lr-sqrt-batch": {"lr_per_update": "sqrt-batch"}, "async-envs-per-worker-scaled": "scaled"}
QUICK = {"envs": ENVS[:1], "workers": [2, 64, 256], "modes": ["async", "sync"], "seeds": SEEDS}
COLUMNS = ["env", "mode", "workers", "seed", "solved", "env_steps_to_solve", "lag_p95", "gradients_per_update",
           "lag_p50", "lag_mean", "envs_per_worker", "time_to_solve_s", "updates", "env_steps", "task_ms",
           "wall_s"]
RENAME = {"policy_lag_p95": "lag_p95", "policy_lag_p50": "lag_p50", "policy_lag_mean": "lag_mean"}
PREDICT_CORES = [2, 16, 64, 256]  # 2: the baseline every figure above is measured at
# a finer grid than the default 25,000 where runs solve within a few of those (CartPole's greedy policy often
# passes at the first evaluation): env steps to solve are judged on it
EVAL_INTERVAL = {"CartPole-v1": 5_000, "Pendulum-v1": 10_000}
# the env-step budget of a run, where the env's default (make_config's stop_steps) would end runs that the
# study needs to see solve: LunarLander-v3 takes ~1.3M env steps at 2 workers on the generic defaults
STOP_STEPS = {"LunarLander-v3": 4_000_000}


def overrides(env: str, mode: str, workers: int) -> dict:
    """The config overrides of a mode at this worker count."""
    spec = MODES[mode]
    if spec == "scaled":
        return {"envs_per_worker": scaled_envs_per_worker(env, workers)}
    return dict(spec)


def scaled_envs_per_worker(env: str, workers: int) -> int:
    """The rule tried (and not adopted) for async-envs-per-worker-scaled: the envs of 2 workers shared among all,
    at least 1 each, so that an update holds about as many samples at any N."""
    return max(1, round(make_config(env).envs_per_worker * 2 / workers))


TASK_CV = 0.2  # the spread of task times real Ray workers showed here (virtual_validation: 0.16-0.24 at 2 workers)
_TASK_MS: dict = {}


def calibrated_task_ms(config) -> float:
    """One task's compute time on one core of this machine (ms; the median of 30, after 5 to warm up), for this
    env, model and envs per worker: the study's virtual runs draw their task times around it, so that they are
    reproducible. Timed in the process's CPU time, so that other work on the machine does not lengthen it."""
    import time

    from a3c_ray.core.learner import Learner
    from a3c_ray.core.worker import RolloutWorker

    key = (config.env, config.envs_per_worker, config.rollout_length)
    if key not in _TASK_MS:
        worker, weights = RolloutWorker(config, 0), Learner(config).weights()
        times = []
        for i in range(35):
            start = time.process_time()
            worker.compute_gradients(weights)
            times.append(time.process_time() - start)
        worker.close()
        _TASK_MS[key] = 1000 * float(np.median(times[5:]))
    return _TASK_MS[key]


def task_ms(result) -> dict:
    return {"task_ms": result.config.virtual["task_ms"]}


def run_study(envs, workers, modes, seeds, out: Path) -> pd.DataFrame:
    csv = out / "scaling.csv"
    done = pd.read_csv(csv) if csv.is_file() else pd.DataFrame(columns=COLUMNS)
    for env in envs:
        for mode in modes:
            todo = [n for n in workers if not ((done["env"] == env) & (done["mode"] == mode)
                                              & (done["workers"] == n)).any()]
            grid = {(env, mode, n): {"workers": n, **overrides(env, mode, n), "virtual": {
                "task_ms": calibrated_task_ms(make_config(env, workers=n, **overrides(env, mode, n))),
                "task_cv": TASK_CV}} for n in todo}
            if not grid:
                continue
            rows = sweep(grid, seeds, out / "runs", label=("env", "mode", "n"), keys=None, extra=task_ms,
                         env=env, backend="virtual", eval_interval_steps=EVAL_INTERVAL.get(env),
                         stop_steps=STOP_STEPS.get(env))
            rows = rows.rename(columns=RENAME)[COLUMNS]
            done = pd.concat([done, rows], ignore_index=True)
            atomic_write_text(csv, done.to_csv(index=False))  # an interrupted study keeps what it measured
    return done


def report(frame: pd.DataFrame) -> str:
    columns = {"solved": share("solved"), "env steps to solve": ("env_steps_to_solve", ",.0f"),
               "lag p95": ("lag_p95", ".0f"), "gradients per update": ("gradients_per_update", ".1f"),
               "envs per worker": ("envs_per_worker", ".0f"), "simulated s to solve": ("time_to_solve_s", ".2f")}
    lines = ["# Learning at scale (virtual backend)\n", "Median [min, max] over seeds; env steps to solve by a "
             "confirmed greedy evaluation. Ratios: the median env steps to solve against 2 workers' (same env and "
             "mode).\n"]
    for env, rows in frame.groupby("env", sort=False):
        rows = rows.sort_values(["mode", "workers"], kind="stable")
        base = rows[rows["workers"] == 2].groupby("mode")["env_steps_to_solve"].median()
        ratio = {"x 2 workers": lambda g: _ratio(g, base)}
        lines += [f"\n## {env}\n", table(rows, ["mode", "workers"], {**columns, **ratio})]
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


def predict(frame: pd.DataFrame) -> str:
    """Predicted time to solve on a cluster of N cores (one worker each): env steps to solve at N over the
    env steps/s that N workers deliver, capped by what the driver (or the node aggregators) can take in."""
    model = ClusterModel()
    lines = ["| env | mode | cores | env steps to solve | steps per gradient | task ms | bound | env steps/s | "
             "predicted s | simulated s |", "|---|---|---|---|---|---|---|---|---|---|"]
    rows_at = frame[frame["workers"].isin(PREDICT_CORES)].sort_values(["env", "mode", "workers"], kind="stable")
    for (env, mode, n), rows in rows_at.groupby(["env", "mode", "workers"], sort=False):
        config = make_config(env, workers=int(n), **overrides(env, mode, int(n)))
        steps = config.envs_per_worker * config.rollout_length
        task_s = float(rows["task_ms"].median()) / 1000
        rate, bound = gradient_rate(config, model, task_s)
        if rows["solved"].all():  # a median over the seeds that solved alone would pick the lucky ones
            to_solve = rows["env_steps_to_solve"].median()
            cells = f"{to_solve:,.0f} | ", f"{to_solve / (rate * steps):.2f} | {rows['time_to_solve_s'].median():.2f}"
        else:
            cells = f"{int(rows['solved'].sum())}/{len(rows)} solved | ", "– | –"
        lines.append(f"| {env} | {mode} | {n} | {cells[0]}{steps} | {task_s * 1000:.1f} | {bound} | "
                     f"{rate * steps:,.0f} | {cells[1]} |")
    return "\n".join(lines) + "\n"


def gradient_rate(config, model: ClusterModel, task_s: float) -> tuple[float, str]:
    """Gradients per second N workers deliver to the learner, and what bounds it (workers, driver, aggregators)."""
    n = config.workers
    if config.sync:  # a round: the slowest task, transport, and the driver's N calls and one update
        round_s = task_s + model.latency_ms / 1000 + (n * model.driver_ms_per_call + model.driver_ms_per_update) / 1000
        return n / round_s, "rounds"
    offered = n / task_s  # tasks queued at each worker hide the round trip
    if uses_node_aggregators(config):
        nodes = -(-n // model.node_size)
        capacity = min(nodes * 1000 / model.aggregator_ms_per_gradient, 1000 / model.driver_ms_per_summed)
        return min(offered, capacity), "workers" if offered <= capacity else "aggregators"
    capacity = 1000 / model.driver_ms_per_call
    return min(offered, capacity), "workers" if offered <= capacity else "driver"


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
    text = "# Predicted time to solve on N cores\n\n" + predict(frame)
    atomic_write_text(out / "predict.md", text)
    print(text)


if __name__ == "__main__":
    main()
