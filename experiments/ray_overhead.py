"""What the Ray path costs over mp: env steps/s at full speed on both backends, with 1 and 2 workers.

    python experiments/ray_overhead.py                  # CartPole-v1 and Pendulum-v1, 20 s per run, seeds 0-2
    python experiments/ray_overhead.py --quick          # CartPole only, 8 s per run, seed 0
    python experiments/ray_overhead.py --profile ray,mp # instead: CPU per process and py-spy profiles, 2 workers

Each run trains for `--seconds` with no stop at the threshold and no evaluation, so every run measures the steady
state of the same work: the env's preset, 2 workers (or 1). Seeds are the outer loop (each seed runs every
configuration before the next), so the backends share the machine's drift. The table gives env steps/s
(median [min, max]), and per seed the ratios the issue asks about: Ray over mp at 2 workers, and 2 workers over 1
on each backend. Writes `<out>/runs.csv` and `<out>/ray_overhead.md`; with --profile, `<out>/profile-*.md`: the
cores each process of the run used (and the driver's CPU per gradient), then the top functions by own samples in
each of its Python processes (py-spy, attached to each; py-spy and psutil come with the bench and test extras).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd

from a3c_ray.plumbing.atomic import atomic_write_text
from common import checkout_env, csv_list, output_dir, parser, plan, seed_list, sweep, table

GRID = {(backend, workers): {"backend": backend, "workers": workers}
        for backend in ("ray", "mp") for workers in (1, 2)}
KEYS = ["env_steps", "training_s", "env_steps_per_s", "gradients_per_update"]


def ratios(runs: pd.DataFrame) -> pd.DataFrame:
    """Per env and seed: Ray / mp at 2 workers, and 2 workers / 1 on each backend (env steps/s)."""
    rows = []
    for (env, seed), group in runs.groupby(["env", "seed"], sort=False):
        speed = {(b, w): s for b, w, s in zip(group["backend"], group["workers"], group["env_steps_per_s"])}
        if len(speed) < 4:
            continue  # an interrupted sweep: this seed lacks a configuration
        rows.append({"env": env, "seed": seed, "ray_over_mp": speed["ray", 2] / speed["mp", 2],
                     "ray_2_over_1": speed["ray", 2] / speed["ray", 1], "mp_2_over_1": speed["mp", 2] / speed["mp", 1]})
    return pd.DataFrame(rows)


def markdown(runs: pd.DataFrame) -> str:
    text = table(runs, ["env", "backend", "workers"], {"env steps/s": ("env_steps_per_s", ",.0f"),
                                                        "gradients per update": ("gradients_per_update", ".2f")})
    per_seed = ratios(runs)
    if len(per_seed):
        text += "\nPer seed, then median [min, max] over seeds:\n\n" + table(
            per_seed, ["env"], {"Ray / mp, 2 workers": ("ray_over_mp", ".2f"),
                                "Ray 2 workers / 1": ("ray_2_over_1", ".2f"),
                                "mp 2 workers / 1": ("mp_2_over_1", ".2f")})
    return text


def profile(backend: str, env: str, seconds: float, out: Path, top: int = 25, warmup_s: float = 12.0) -> Path:
    """A 2-worker `a3c-ray train` in its steady state (from `warmup_s` after the launch: imports and actor creation
    stay out): the CPU each of its processes used over `seconds`, then py-spy on every Python process of it (the
    driver, Ray's actors or mp's workers) for `seconds` more: the top functions by own samples in each."""
    import psutil

    name = env.split("-")[0].replace("/", "_")  # MinAtar/Breakout-v1 -> MinAtar_Breakout: one file name
    run = out / "runs" / f"profile-{backend}-{name}"
    command = [str(Path(sys.executable).with_name("a3c-ray")), "train", "--env", env, "--backend", backend,
               "--workers", "2", "--stop-seconds", str(2 * seconds + warmup_s), "--no-stop-at-threshold",
               "--eval-interval-steps", "0", "--out", str(run), "--overwrite", "--no-progress-bar"]
    cli = subprocess.Popen(command, env=checkout_env(None), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(warmup_s)
    cpu = _cpu_seconds(cli.pid)  # first `seconds` without py-spy (its sampling takes CPU too), then with it
    time.sleep(seconds)
    used = {key: total - cpu.get(key, 0.0) for key, total in _cpu_seconds(cli.pid).items()}
    processes = [p for p in psutil.Process(cli.pid).children(recursive=True)
                 if "python" in p.name() or p.name().startswith("ray::")]  # Ray renames its worker processes
    spies, raws, names, driver = [], [], {}, 0
    for process in processes:
        raws.append(out / f"profile-{backend}-{name}-{process.pid}.txt")
        names[raws[-1]] = _process_name(process.pid, " ".join(process.cmdline()))
        driver = process.pid if names[raws[-1]].startswith("driver") else driver
        spies.append(subprocess.Popen([str(Path(sys.executable).with_name("py-spy")), "record", "-p",
                                       str(process.pid), "--duration", str(int(seconds)), "--rate", "100",
                                       "--format", "raw", "--nonblocking", "-o", str(raws[-1])],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for spy in spies:
        spy.wait()
    cli.wait()
    report = out / f"profile-{backend}-{name}.md"
    text = summarize(names, top, f"{env}, {backend}, 2 workers, {seconds:.0f} s of training")
    summary = json.loads((run / "summary.json").read_text())
    atomic_write_text(report, text + _cpu_table(used, seconds, driver, summary["gradients"] / summary["training_s"]))
    for raw in raws:
        raw.unlink(missing_ok=True)
    return report


def _cpu_seconds(root: int) -> dict[tuple[int, str], float]:
    """CPU seconds (user + system, every thread: Ray's C++ threads too) of each process under `root`, by (pid,
    name)."""
    import psutil

    seconds = {}
    for process in psutil.Process(root).children(recursive=True):
        try:
            times = process.cpu_times()
            seconds[process.pid, process.name().split(".")[0]] = times.user + times.system  # Ray renames by task
        except psutil.Error:
            continue  # gone meanwhile
    return seconds


def _cpu_table(used: dict[tuple[int, str], float], seconds: float, driver: int, gradients_per_s: float) -> str:
    """Cores each process kept busy over the profile's window (of the machine's 2), from its CPU seconds; and the
    driver's CPU per gradient (gradients/s over the whole run)."""
    lines = ["", f"## CPU over {seconds:.0f} s before the profile, every process of the run (all threads)", "",
             "| process | cores |", "|---|---|"]
    lines += [f"| {'driver' if pid == driver else name} (pid {pid}) | {cpu / seconds:.2f} |"
              for (pid, name), cpu in sorted(used.items(), key=lambda x: -x[1]) if cpu / seconds >= 0.005]
    lines.append(f"| total | {sum(used.values()) / seconds:.2f} |")
    mine = sum(cpu for (pid, _), cpu in used.items() if pid == driver) / seconds
    lines += ["", f"Driver: {mine:.2f} cores at {gradients_per_s:.0f} gradients/s: "
              f"{mine / gradients_per_s * 1e3:.2f} ms of CPU per gradient."]
    return "\n".join(lines) + "\n"


def summarize(raws: dict[Path, str], top: int, title: str) -> str:
    """Own samples per function of each process (py-spy's raw format: ';'-joined frames, a space, a count)."""
    lines = [f"# py-spy: {title}", "",
             "Own samples per function (where each process spent its time while it was not idle), the top entries "
             "of each busy process, at 100 samples/s.", ""]
    counted = []
    for raw, name in raws.items():
        own: Counter = Counter()
        for line in raw.read_text().splitlines() if raw.is_file() else []:
            stack, _, count = line.rpartition(" ")
            own[_frame_name(stack.split(";")[-1])] += int(count)
        counted.append((sum(own.values()), name, own))
    for samples, name, own in sorted(counted, key=lambda c: -c[0]):
        if samples < 50:
            continue
        lines += [f"## {name}: {samples:,} samples", "", "| share | samples | function |", "|---|---|---|"]
        lines += [f"| {n / samples:.1%} | {n:,} | `{function}` |" for function, n in own.most_common(top)]
        lines.append("")
    return "\n".join(lines)


def _process_name(pid: int, cmdline: str) -> str:
    """A short name for a process of the run: the driver, a Ray worker process, an mp worker, Ray's own."""
    if "a3c_ray train" in cmdline:
        return f"driver (pid {pid})"
    if "default_worker.py" in cmdline or cmdline.startswith("ray::"):
        return f"{cmdline.split()[0] if cmdline.startswith('ray::') else 'Ray worker process'} (pid {pid})"
    if "multiprocessing" in cmdline:
        return f"mp worker (pid {pid})"
    for name in ("raylet", "gcs_server", "dashboard", "log_monitor"):
        if name in cmdline:
            return f"{name} (pid {pid})"
    return f"{cmdline[:60]} (pid {pid})"


def _frame_name(frame: str) -> str:
    """'compute_gradients (a3c_ray/core/worker.py:45)' -> 'compute_gradients (a3c_ray/core/worker.py)'."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/a3c_ray/", "lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1] if marker != "/a3c_ray/" else "a3c_ray/" + path.split(marker, 1)[1]
            break
    return f"{name} ({path})" if path else name


def main() -> None:
    options = parser(__doc__, "ray_overhead")
    options.add_argument("--seconds", type=float, default=20.0)
    options.add_argument("--profile", type=csv_list, default=[], help="backends to profile (ray,mp), then stop")
    options.add_argument("--envs", type=csv_list, help="default: CartPole-v1,Pendulum-v1 (--quick: CartPole-v1)")
    options.add_argument("--seeds", type=seed_list, help="default: 0,1,2 (--quick: 0)")
    args = options.parse_args()
    out = output_dir(args, "ray_overhead")
    envs, seeds = plan(args.quick)
    envs, seeds = args.envs or envs, args.seeds or seeds
    seconds = 8.0 if args.quick and args.seconds == 20.0 else args.seconds
    if args.profile:
        for env in envs:
            for backend in args.profile:
                print(profile(backend, env, seconds, out), flush=True)
        return

    def save(runs: pd.DataFrame) -> None:
        atomic_write_text(out / "runs.csv", runs.to_csv(index=False))
        atomic_write_text(out / "ray_overhead.md", markdown(runs))

    old = pd.read_csv(out / "runs.csv") if (out / "runs.csv").is_file() else pd.DataFrame(columns=["seed", "env"])
    rows = old[~(old["seed"].isin(seeds) & old["env"].isin(envs))].to_dict("records")  # these seeds, again
    for seed in seeds:  # seeds outermost, envs next: every configuration of a seed in one stretch of time
        for env in envs:
            part = sweep(GRID, [seed], out / "runs", label=("backend", "workers"), keys=KEYS, env=env,
                         stop_at_threshold=False, stop_seconds=seconds, eval_interval_steps=0)
            rows += [{"env": env, "seed": seed, **row} for row in part.to_dict("records")]
            save(pd.DataFrame(rows))


if __name__ == "__main__":
    main()
