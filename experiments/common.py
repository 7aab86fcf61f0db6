"""What the experiment scripts share: the --quick/--out options, the env and seed plan, the solve threshold and
the local Ray they run in, and the "median [min, max]" cell of their tables."""

from __future__ import annotations

import argparse
import os
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from a3c_ray import make_config
from a3c_ray.plumbing.atomic import atomic_write_text

ENVS = ["CartPole-v1", "Pendulum-v1"]
RESULTS = Path(__file__).resolve().parent / "results"  # wherever the script is started from
SEEDS = [0, 1, 2]


def parser(description: str, name: str) -> argparse.ArgumentParser:
    """--quick and --out, the two options every experiment has."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="CartPole only, 1 seed, small budgets")
    p.add_argument("--out", help=f"default: experiments/results/{name} (with --quick: {name}-quick, not committed)")
    return p


def checkout_options(p: argparse.ArgumentParser, runs: int) -> None:
    """--tree, --label, --compare and --runs: which checkouts of a3c_ray a start-up measurement runs, how often."""
    p.add_argument("--tree", help="a checkout of a3c_ray to measure instead of this one (put on PYTHONPATH)")
    p.add_argument("--label", default="after")
    p.add_argument("--compare", metavar="LABEL=TREE", help="also measure this checkout under LABEL, taking turns "
                   "run by run with the one measured as --label")
    p.add_argument("--runs", type=int, default=runs)


def checkouts(args: argparse.Namespace) -> dict[str, str | None]:
    """{label: checkout (None: this one)}, from checkout_options, the --compare one first."""
    trees = {args.label: args.tree}
    if args.compare:
        label, _, tree = args.compare.partition("=")
        trees = {label: tree, **trees}
    return trees


def checkout_env(tree: str | None) -> dict[str, str]:
    """The environment for a3c_ray commands run from `tree` (None: this checkout): on this machine's own Ray,
    never a cluster named by RAY_ADDRESS."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    if tree:
        env["PYTHONPATH"] = tree
    return env


def replace_rows(path: Path, rows: list[dict], labels) -> pd.DataFrame:
    """The table in `path` with its rows of `labels` replaced by `rows`, written back atomically."""
    table = pd.read_csv(path) if path.is_file() else pd.DataFrame()
    if len(table):
        table = table[~table["label"].isin(list(labels))]
    table = pd.concat([table, pd.DataFrame(rows)], ignore_index=True)
    atomic_write_text(path, table.to_csv(index=False))
    return table


def output_dir(args: argparse.Namespace, name: str) -> Path:
    """--out, or experiments/results/<name>; --quick runs never write over the committed results."""
    out = Path(args.out) if args.out else RESULTS / f"{name}{'-quick' if args.quick else ''}"
    out.mkdir(parents=True, exist_ok=True)
    return out


def plan(quick: bool) -> tuple[list[str], list[int]]:
    """Envs and seeds: both envs and 3 seeds, or CartPole and one seed with --quick."""
    return (ENVS[:1], SEEDS[:1]) if quick else (ENVS, SEEDS)


def threshold(env_id: str) -> float:
    """The return a run counts as solved at: the env's reward_threshold or its preset's stop_return."""
    return make_config(env_id).stop_return


@contextmanager
def local_ray():
    """One local Ray for the whole script (2 CPUs, on loopback, as a run starts it), shut down at the end."""
    import ray

    from a3c_ray.backends.ray_runtime import start_local

    start_local(num_cpus=2, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def sb3_stop_callback(target: float, budget_s: float):
    """An SB3 callback with a3c_ray's no-eval stop rule: the mean of the last 100 finished training episodes
    reaches `target`, or `budget_s` seconds have passed. `solved_at` = (seconds, env steps)."""
    import time

    import numpy as np
    from stable_baselines3.common.callbacks import BaseCallback

    from a3c_ray.run.recorder import WINDOW

    class StopWhenSolved(BaseCallback):
        def __init__(self):
            super().__init__()
            self.returns: list[float] = []
            self.start = time.perf_counter()
            self.solved_at: tuple[float, int] | None = None

        def _on_step(self) -> bool:
            for info in self.locals["infos"]:
                if "episode" in info:
                    self.returns.append(info["episode"]["r"])
            if self.solved_at is None and len(self.returns) >= WINDOW \
                    and np.mean(self.returns[-WINDOW:]) >= target:
                self.solved_at = (time.perf_counter() - self.start, self.num_timesteps)
            return self.solved_at is None and time.perf_counter() - self.start < budget_s

        def best_return_mean(self) -> float | None:
            means = [np.mean(self.returns[i - WINDOW:i]) for i in range(WINDOW, len(self.returns) + 1)]
            return float(max(means)) if means else None

    return StopWhenSolved()


def spread(values, fmt: str) -> str:
    """A table cell: median [min, max] of the numeric values, "–" when there are none."""
    values = pd.to_numeric(pd.Series(values), errors="coerce").dropna()
    return "–" if values.empty else f"{values.median():{fmt}} [{values.min():{fmt}}, {values.max():{fmt}}]"
