"""Where the wall time of `a3c-ray train --env CartPole-v1` goes, step by step, from timestamps in the driver.

    python experiments/startup_steps.py                 # 5 runs, into experiments/results/startup/
    python experiments/startup_steps.py --runs 3 --label before --tree /tmp/old   # another checkout, same machine
    python experiments/startup_steps.py --compare before=/tmp/old          # both, taking turns run by run
    python experiments/startup_steps.py --quick         # 1 run

Each run starts the training child as the `a3c-ray` supervisor does (`python -m a3c_ray train ...`, the status file
set), through a wrapper that stamps the time when each step of the driver ends: the CLI's imports, the start of a
local Ray (begun in a thread), the trainer's imports (torch), Ray up, the workers up, training, the run's files,
Ray's shutdown, and the process's exit (seen from here). Steps overlap where the driver overlaps them: Ray's start
runs beside the imports. Appends to `<out>/steps.csv` and rewrites `<out>/steps.md`: per step, the median [min,
max] over the runs of when it ended, seconds from the process's start, and of the machine's busy cores since the
step that ended before it (from /proc/stat; everything running counts, so run it alone).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd

from a3c_ray.plumbing.atomic import atomic_write_text
from common import checkout_env, checkout_options, checkouts, output_dir, parser, replace_rows, spread

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
            from a3c_ray.run import trainer
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


def one_run(wrapper: Path, tree: str | None, tmp: Path, k: str) -> dict[str, float]:
    env = checkout_env(tree)
    env["A3C_RAY_STATUS_FILE"] = str(tmp / f"status{k}.json")
    env["STEPS_FILE"] = str(tmp / f"steps{k}.txt")
    start, started_at = time.perf_counter(), time.time()
    with CpuSampler() as cpu:
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
    in_time = sorted(steps.items(), key=lambda item: item[1])  # Ray's start runs in a thread: its step interleaves
    return {name: (end, cpu.busy_cores(started_at + begin, started_at + end))
            for (name, end), begin in zip(in_time, [0.0, *(end for _, end in in_time)])}


class CpuSampler:
    """The machine's busy CPU time (all processes, from /proc/stat) every 0.1 s while a run goes, so that each step
    can say how many cores were busy during it: 2.0 on this machine means CPU-bound, 1.0 one core waiting."""

    def __enter__(self) -> CpuSampler:
        self.samples: list[tuple[float, int, int]] = []  # (time.time(), busy jiffies, all jiffies)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def _sample(self) -> None:
        while True:
            try:
                with open("/proc/stat") as f:
                    fields = [int(x) for x in f.readline().split()[1:]]
            except OSError:  # not Linux: no busy-core figures
                return
            idle = fields[3] + fields[4]  # idle, iowait
            self.samples.append((time.time(), sum(fields) - idle, sum(fields)))
            if self.stop.wait(0.1):
                return

    def busy_cores(self, begin: float, end: float) -> float:
        """Mean busy cores between two time.time() readings (NaN when fewer than two samples lie between)."""
        inside = [s for s in self.samples if begin <= s[0] <= end]
        if len(inside) < 2 or inside[-1][2] == inside[0][2]:
            return float("nan")
        (_, busy0, all0), (_, busy1, all1) = inside[0], inside[-1]
        return (busy1 - busy0) / (all1 - all0) * (os.cpu_count() or 1)


def main() -> None:
    options = parser(__doc__, "startup")
    checkout_options(options, runs=5)
    args = options.parse_args()
    out = output_dir(args, "startup")
    trees = checkouts(args)
    rows = []
    with tempfile.TemporaryDirectory(prefix="a3c-steps-") as tmp:
        wrapper = Path(tmp) / "steps_wrapper.py"
        wrapper.write_text(WRAPPER)
        for k in range(1 if args.quick else args.runs):
            for label, tree in trees.items():
                steps = one_run(wrapper, tree, Path(tmp), f"{label}-{k}")
                rows += [{"label": label, "run": k, "step": step, "ended_s": steps[step][0],
                          "busy_cores": steps[step][1]} for step in ORDER if step in steps]
    table = replace_rows(out / "steps.csv", rows, trees)
    atomic_write_text(out / "steps.md", markdown(table))
    print(markdown(table))


def markdown(table: pd.DataFrame) -> str:
    """Per step and label: when it ended, and the busy cores during it (since the step before)."""
    labels = list(dict.fromkeys(table["label"]))
    lines = ["| step ended (s from the child's start) | " + " | ".join(f"{label} | busy cores" for label in labels)
             + " |", "|---|" + "---|---|" * len(labels)]
    for step in ORDER:
        cells = []
        for label in labels:
            rows = table[(table["label"] == label) & (table["step"] == step)]
            cells += [spread(rows["ended_s"], ".2f"), spread(rows.get("busy_cores", []), ".1f")]
        lines.append(f"| {step} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
