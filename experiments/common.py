"""What the experiment scripts share: the --quick/--out options, the env and seed plan, the solve threshold and
the local Ray they run in."""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path

from a3c_ray import make_config

ENVS = ["CartPole-v1", "Pendulum-v1"]
SEEDS = [0, 1, 2]


def parser(description: str, name: str) -> argparse.ArgumentParser:
    """--quick and --out, the two options every experiment has."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="CartPole only, 1 seed, small budgets")
    p.add_argument("--out", help=f"default: experiments/results/{name} (with --quick: {name}-quick, not committed)")
    return p


def output_dir(args: argparse.Namespace, name: str) -> Path:
    """--out, or experiments/results/<name>; --quick runs never write over the committed results."""
    out = Path(args.out or f"experiments/results/{name}{'-quick' if args.quick else ''}")
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
    """One local Ray for the whole script (2 CPUs, the dashboard on loopback only), shut down at the end."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, dashboard_host="127.0.0.1", log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()
