"""Soak test of Ray's start and stop: N short local Ray runs of the real CLI, one busy core beside them.

    python experiments/ray_soak.py               # 200 runs (about 40 minutes here)
    python experiments/ray_soak.py --quick       # 10 runs
    python experiments/ray_soak.py --label before --runs 100

Each run is `python -m a3c_ray train --env Pendulum-v1 --stop-seconds 3` on a locally started Ray (the command
that died with SIGSEGV in Ray's metrics thread). A run counts as crashed when the process died of a signal or
printed a fatal error, and as having lost files when its summary.json or checkpoint.pt is missing. Appends one
row per run to `<out>/soak_runs.csv` and writes the per-label totals to `<out>/soak.csv` and `soak.md`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from a3c_ray.plumbing.atomic import atomic_write_text  # noqa: E402
from common import output_dir, parser  # noqa: E402

FATAL_MARKS = ("SIGSEGV", "Segmentation fault", "Fatal Python error", "*** SIG", "core dumped", "Aborted")
BUSY_LOOP = "while True:\n    pass\n"


def one_run(index: int, root: Path, extra: list[str], timeout_s: float) -> dict:
    out = root / f"run-{index:04d}"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # always a Ray of its own, on this machine
    start = time.perf_counter()
    cmd = [sys.executable, "-m", "a3c_ray", "train", "--env", "Pendulum-v1", "--stop-seconds", "3",
           "--report-interval-s", "0.5", "--no-progress-bar", "--out", str(out), *extra]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, env=env)
        code, output = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = None, f"timed out after {timeout_s:.0f} s\n{exc.stderr or ''}"
    fatal = next((mark for mark in FATAL_MARKS if mark in output), "")
    row = {"run": index, "exit_code": code, "signal": signal.Signals(-code).name if code and code < 0 else "",
           "fatal_output": fatal, "crashed": code is None or code != 0 or bool(fatal),
           "summary_json": (out / "summary.json").is_file(), "checkpoint_pt": (out / "checkpoint.pt").is_file(),
           "progress_csv": (out / "progress.csv").is_file(), "wall_s": time.perf_counter() - start}
    row["files_complete"] = row["summary_json"] and row["checkpoint_pt"] and row["progress_csv"]
    if row["crashed"]:
        (root / f"crash-{index:04d}.log").write_text(output)
    return row


def summarise(runs: pd.DataFrame) -> pd.DataFrame:
    return runs.groupby("label", sort=False).agg(
        runs=("run", "count"), crashed=("crashed", "sum"), signalled=("signal", lambda s: int((s != "").sum())),
        files_lost=("files_complete", lambda s: int((~s).sum())), median_wall_s=("wall_s", "median"),
        first=("started", "min"), last=("started", "max")).reset_index()


def main() -> None:
    options = parser(__doc__, "ray_soak")
    options.add_argument("--runs", type=int, default=200)
    options.add_argument("--label", default="after", help="name of this batch of runs in the tables")
    options.add_argument("--no-busy-core", action="store_true", help="leave the second core idle")
    options.add_argument("train_args", nargs="*", help="extra flags for `a3c-ray train` (after --)")
    args = options.parse_args()
    out = output_dir(args, "ray_soak")
    n = 10 if args.quick else args.runs
    busy = None if args.no_busy_core else subprocess.Popen([sys.executable, "-c", BUSY_LOOP])
    rows: list[dict] = []
    try:
        with tempfile.TemporaryDirectory(prefix="a3c-soak-") as tmp:
            for i in range(n):
                row = {"label": args.label, "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                       **one_run(i, Path(tmp), args.train_args, timeout_s=180.0)}
                rows.append(row)
                print(f"{args.label} {i + 1}/{n}: exit {row['exit_code']} {row['signal']} {row['fatal_output']} "
                      f"files {'ok' if row['files_complete'] else 'LOST'} {row['wall_s']:.1f} s", flush=True)
                if row["crashed"]:
                    log = Path(tmp) / f"crash-{i:04d}.log"
                    atomic_write_text(out / f"crash-{args.label}-{i:04d}.log", log.read_text()[-20000:])
                write_tables(out, args.label, rows)  # after every run: an interrupted soak keeps what it saw
    finally:
        if busy is not None:  # the one process this script started beside the runs
            busy.kill()
            busy.wait()
    print((out / "soak.md").read_text())


def write_tables(out: Path, label: str, rows: list[dict]) -> None:
    """soak_runs.csv (this label's rows replace its earlier ones), soak.csv and soak.md."""
    runs_path = out / "soak_runs.csv"
    previous = pd.read_csv(runs_path, keep_default_na=False) if runs_path.is_file() else pd.DataFrame()
    previous = previous[previous["label"] != label] if len(previous) else previous
    runs = pd.concat([previous, pd.DataFrame(rows)], ignore_index=True)
    runs["crashed"] = runs["crashed"].astype(str) == "True"
    runs["files_complete"] = runs["files_complete"].astype(str) == "True"
    atomic_write_text(runs_path, runs.to_csv(index=False))
    table = summarise(runs)
    atomic_write_text(out / "soak.csv", table.to_csv(index=False))
    lines = ["| label | runs | crashed | died of a signal | runs with files lost | median wall s | first | last |",
             "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['runs']} | {r['crashed']} | {r['signalled']} | {r['files_lost']} | "
              f"{r['median_wall_s']:.1f} | {r['first']} | {r['last']} |" for _, r in table.iterrows()]
    atomic_write_text(out / "soak.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
