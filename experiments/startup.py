"""Wall time of the commands a new user runs first, and where it goes.

    python experiments/startup.py                          # this checkout, 3 runs of each command
    python experiments/startup.py --tree /tmp/old --label before   # another checkout of a3c_ray, same machine
    python experiments/startup.py --compare before=/tmp/old --runs 5   # both, taking turns run by run
    python experiments/startup.py --quick                  # 1 run of each command

Commands (as `python -m a3c_ray ...`, which is what the `a3c-ray` script runs): `--help`; `train --env
CartPole-v1` (what `make train` runs, defaults, into a fresh directory); `evaluate RUN --episodes 1`. For the
training command the stdout timestamps split the wall time into: until the summary line, and after it (Ray's
teardown, for instance). The run's own summary gives start-up (Ray and workers) and training seconds; the rest
before start-up is imports and set-up; "wall less training" is what start-up and shutdown cost the command in
all (training time varies from run to run: the workers are asynchronous). Medians over the runs, with [min, max].

Appends to `<out>/startup.csv` (one row per command and label) and rewrites `<out>/startup.md`; with
`--importtime`, also writes the slowest imports of each stage of the training command (IMPORT_STAGES) to
`<out>/importtime-<label>.txt`; `--importtime-only` writes just those.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from a3c_ray.plumbing.atomic import atomic_write_text
from common import checkout_env, checkout_options, checkouts, output_dir, parser, replace_rows


def timed(cmd: list[str], env: dict, cwd: str) -> tuple[float, float | None, str]:
    """(wall seconds, seconds until a line starting 'CartPole-v1:' appeared on stdout, stdout)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env, cwd=cwd)
    summary_at, lines = None, []
    for line in proc.stdout:
        lines.append(line)
        if summary_at is None and line.startswith("CartPole-v1:"):
            summary_at = time.perf_counter() - start
    proc.wait()
    if proc.returncode:
        raise RuntimeError(f"{cmd} exited with {proc.returncode}: {''.join(lines)[-2000:]}")
    return time.perf_counter() - start, summary_at, "".join(lines)


def measure(trees: dict[str, str | None], runs: int) -> list[dict]:
    """`runs` of each command for each labelled checkout (None: this one), the checkouts taking turns run by
    run, so that a machine whose speed drifts over minutes weighs on each alike."""
    module = [sys.executable, "-m", "a3c_ray"]
    envs = {label: checkout_env(tree) for label, tree in trees.items()}
    walls = {(label, c): [] for label in trees for c in COMMANDS}
    parts = {label: {name: [] for name in PARTS} for label in trees}
    with tempfile.TemporaryDirectory(prefix="a3c-startup-") as tmp:
        for k in range(runs):
            for label, env in envs.items():
                out = Path(tmp) / f"{label}-run{k}"
                walls[label, COMMANDS[0]].append(timed([*module, "--help"], env, tmp)[0])
                wall, summary_at, _ = timed([*module, "train", "--env", "CartPole-v1", "--out", str(out),
                                             "--no-progress-bar"], env, tmp)
                s = json.loads((out / "summary.json").read_text())
                walls[label, COMMANDS[1]].append(wall)
                for name, value in zip(PARTS, (summary_at, wall - summary_at, s["startup_s"], s["training_s"],
                                               wall - s["training_s"])):
                    parts[label][name].append(value)
                walls[label, COMMANDS[2]].append(timed([*module, "evaluate", str(out), "--episodes", "1"], env,
                                                       tmp)[0])
    return [row(label, c, walls[label, c], **(parts[label] if c == COMMANDS[1] else {}))
            for label in trees for c in COMMANDS]


COMMANDS = ["a3c-ray --help", "make train (a3c-ray train --env CartPole-v1)", "a3c-ray evaluate RUN --episodes 1"]
PARTS = ["summary_line_s", "after_summary_s", "startup_s", "training_s", "wall_less_training_s"]


def row(label: str, command: str, walls: list[float], **parts: list[float]) -> dict:
    out = {"label": label, "command": command, "runs": len(walls), **stats("wall_s", walls)}
    for name, values in parts.items():
        out.update(stats(name, values))
    return out


def stats(name: str, values: list[float]) -> dict:
    return {name: float(np.median(values)), f"{name}_min": float(min(values)), f"{name}_max": float(max(values))}


IMPORT_STAGES = {  # what each stage of `a3c-ray train` imports (and calls: the preset's env check), as one statement
    "--help (the CLI alone)": "import a3c_ray.cli",
    "train, until Ray's start begins (the CLI's checks)": (
        "import a3c_ray.cli, a3c_ray.backends.ray_runtime, a3c_ray.envs.suites, a3c_ray.run.run_dir; "
        "a3c_ray.config.make_config('CartPole-v1', stop_at_threshold=True)"),
    "train, the driver's trainer (torch, pandas; beside Ray's start)": "import a3c_ray.run.trainer",
}


def importtime(label: str, tree: str | None, out: Path) -> None:
    """`python -X importtime` of each stage in IMPORT_STAGES (a fresh interpreter each): its total, then its 25
    slowest modules, into `<out>/importtime-<label>.txt`."""
    env = checkout_env(tree)
    sections = []
    for stage, statement in IMPORT_STAGES.items():
        done = subprocess.run([sys.executable, "-X", "importtime", "-c", statement], capture_output=True,
                              text=True, env=env, cwd=tempfile.gettempdir())  # not a checkout: -c puts cwd first
        rows = []
        for line in done.stderr.splitlines():
            if line.startswith("import time:") and "|" in line and "cumulative" not in line:
                _, cumulative, raw = line[len("import time:"):].split("|")
                rows.append((int(cumulative), raw.strip(), raw.startswith(" ") and not raw.startswith("  ")))
        total = sum(us for us, _, top_level in rows if top_level)
        top = sorted(rows, reverse=True)[:25]
        sections.append(f"# {stage}: `{statement}`, {total / 1e3:.0f} ms in all\n"
                        + "\n".join(f"{us / 1e3:8.1f} ms  {name}" for us, name, _ in top))
    atomic_write_text(out / f"importtime-{label}.txt", "\n\n".join(sections) + "\n")


def markdown(table: pd.DataFrame) -> str:
    def cell(r, name):
        if f"{name}_min" not in r or pd.isna(r.get(name)):
            return "–"
        return f"{r[name]:.2f} [{r[f'{name}_min']:.2f}, {r[f'{name}_max']:.2f}]"

    lines = ["| label | command | wall s | until the summary line | after it | start-up (Ray, workers) | training | "
             "wall less training |", "|---|---|---|---|---|---|---|---|"]
    for _, r in table.iterrows():
        lines.append(f"| {r['label']} | {r['command']} | {cell(r, 'wall_s')} | {cell(r, 'summary_line_s')} | "
                     f"{cell(r, 'after_summary_s')} | {cell(r, 'startup_s')} | {cell(r, 'training_s')} | "
                     f"{cell(r, 'wall_less_training_s')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    options = parser(__doc__, "startup")
    checkout_options(options, runs=3)
    options.add_argument("--importtime", action="store_true")
    options.add_argument("--importtime-only", action="store_true")
    args = options.parse_args()
    out = output_dir(args, "startup")
    trees = checkouts(args)
    if args.importtime_only:
        for label, tree in trees.items():
            importtime(label, tree, out)
        return
    rows = measure(trees, 1 if args.quick else args.runs)
    table = replace_rows(out / "startup.csv", rows, trees)
    atomic_write_text(out / "startup.md", markdown(table))
    if args.importtime:
        for label, tree in trees.items():
            importtime(label, tree, out)
    print(markdown(table))


if __name__ == "__main__":
    main()
