"""Where the wall time of `a3c-ray train --env CartPole-v1` goes, step by step, from timestamps in the driver.

    python experiments/startup_steps.py                 # 5 runs, into experiments/results/startup/
    python experiments/startup_steps.py --runs 3 --label before --tree /tmp/old   # another checkout, same machine
    python experiments/startup_steps.py --compare before=/tmp/old          # both, taking turns run by run

Each run starts the training child as the `a3c-ray` supervisor does (`python -m a3c_ray train ...`, the status file
set), through a wrapper that stamps the time when each step of the driver ends: the CLI's imports, the start of a
local Ray (begun in a thread), the trainer's imports (torch), Ray up, the workers up, training, the run's files,
Ray's shutdown, and the process's exit (seen from here). Steps overlap where the driver overlaps them: Ray's start
runs beside the imports. Appends to `<out>/steps.csv` and rewrites `<out>/steps.md`: per step, the median [min,
max] over the runs of when it ended, seconds from the process's start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pandas as pd

from a3c_ray.atomic import atomic_write_text
from common import checkout_options, checkouts, output_dir, parser, replace_rows, spread

# Run as the child's main module: lines "<name> <time.time()>" into the file $STEPS_FILE (not stderr, which the child
# points at a log during Ray's teardown), turned into seconds since the parent started the process.
WRAPPER = textwrap.dedent("""
    import functools, os, time

    def stamp(name):
        with open(os.environ["STEPS_FILE"], "a") as f:
            f.write(f"{name} {time.time():.3f}\\n")

    def after(owner, attr, name):
        fn = getattr(owner, attr)

        @functools.wraps(fn)
        def stamped(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            finally:
                stamp(name)
        setattr(owner, attr, stamped)

    if __name__ == "__main__":
        from a3c_ray import cli
        from a3c_ray.backends import ray_runtime
        stamp("cli and ray imported")
        after(ray_runtime, "start_local", "Ray up")
        early = cli._start_ray_early

        def start_ray_early(config):
            early(config)
            stamp("input checked, Ray's start begun")
            from a3c_ray import trainer
            stamp("trainer imported (torch)")
            from a3c_ray.backends.ray_backend import RayBackend
            after(trainer.Trainer, "__init__", "trainer set up")
            after(RayBackend, "start", "workers up")
            after(trainer.Trainer, "_train", "training done")
            after(trainer.Trainer, "finish", "run files written")
            after(RayBackend, "close", "Ray shut down")
        cli._start_ray_early = start_ray_early
        cli.main()
""")
ORDER = ["cli and ray imported", "input checked, Ray's start begun", "trainer imported (torch)", "trainer set up",
         "Ray up", "workers up", "training done", "run files written", "Ray shut down", "process exited"]


def one_run(tree: str | None, tmp: Path, k: str) -> dict[str, float]:
    wrapper = tmp / "steps_wrapper.py"
    wrapper.write_text(WRAPPER)
    env = {key: v for key, v in os.environ.items() if key != "RAY_ADDRESS"}
    env["A3C_RAY_STATUS_FILE"] = str(tmp / f"status{k}.json")
    env["STEPS_FILE"] = str(tmp / f"steps{k}.txt")
    if tree:
        env["PYTHONPATH"] = tree
    start, started_at = time.perf_counter(), time.time()
    done = subprocess.run([sys.executable, str(wrapper), "train", "--env", "CartPole-v1", "--out",
                           str(tmp / f"run{k}"), "--no-progress-bar"], capture_output=True, text=True, env=env,
                          cwd=tmp)
    exited = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"run {k} exited with {done.returncode}: {done.stderr[-2000:]}")
    steps = {}
    for line in Path(env["STEPS_FILE"]).read_text().splitlines():
        name, _, seconds = line.rpartition(" ")
        steps.setdefault(name, float(seconds) - started_at)
    steps["process exited"] = exited
    return steps


def main() -> None:
    options = parser(__doc__.splitlines()[0], "startup")
    checkout_options(options, runs=5)
    args = options.parse_args()
    out = output_dir(args, "startup")
    trees = checkouts(args)
    rows = []
    with tempfile.TemporaryDirectory(prefix="a3c-steps-") as tmp:
        for k in range(1 if args.quick else args.runs):
            for label, tree in trees.items():
                steps = one_run(tree, Path(tmp), f"{label}-{k}")
                rows += [{"label": label, "run": k, "step": step, "ended_s": steps[step]} for step in ORDER
                         if step in steps]
    table = replace_rows(out / "steps.csv", rows, trees)
    atomic_write_text(out / "steps.md", markdown(table))
    print(markdown(table))


def markdown(table: pd.DataFrame) -> str:
    labels = list(dict.fromkeys(table["label"]))
    lines = ["| step ended (s from the child's start) | " + " | ".join(labels) + " |",
             "|---|" + "---|" * len(labels)]
    for step in ORDER:
        cells = [spread(table[(table["label"] == label) & (table["step"] == step)]["ended_s"], ".2f")
                 for label in labels]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
