"""What the experiment scripts share: the --quick/--out options and their comma lists, the env and seed plan, the
solve threshold and the local Ray they run in, one run of a3c_ray as a table row (`run_row`), a grid of them
(`sweep`), and the markdown table with its "median [min, max]" cells (`table`), so that a script is its grid and
its question."""

from __future__ import annotations

import argparse
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from a3c_ray import make_config
from a3c_ray.plumbing.atomic import atomic_write, atomic_write_text

if TYPE_CHECKING:
    from a3c_ray import RunResult

ENVS = ["CartPole-v1", "Pendulum-v1"]
RESULTS = Path(__file__).resolve().parent / "results"  # wherever the script is started from
SEEDS = [0, 1, 2]


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """--out, and --quick where the script has a short version, from its docstring: the first paragraph describes
    the script, and the comment on its `--quick` usage line says what --quick runs (no such line, no --quick)."""
    description = " ".join(doc.strip().split("\n\n")[0].split())
    quick = [line.split("#", 1)[1].strip() for line in doc.splitlines() if "--quick" in line and "#" in line]
    p = argparse.ArgumentParser(description=description)
    if quick:
        p.add_argument("--quick", action="store_true", help=quick[0])
    also = f" (with --quick: {name}-quick, not committed)" if quick else ""
    p.add_argument("--out", help=f"default: experiments/results/{name}{also}")
    return p


def seed_list(text: str) -> list[int]:
    """argparse type of --seeds: "0,1,2" -> [0, 1, 2]."""
    return [int(s) for s in csv_list(text)]


def csv_list(text: str) -> list[str]:
    """argparse type of the comma lists (--envs, --backends, --modes, --levers): "a,b" -> ["a", "b"]."""
    return [item.strip() for item in text.split(",") if item.strip()]


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
    quick = getattr(args, "quick", False)
    out = Path(args.out) if args.out else RESULTS / f"{name}{'-quick' if quick else ''}"
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


def compile_per_actor(actors: Sequence[Any], method: str, inflight: int) -> list:
    """One asyncio Ray Compiled Graph per actor, calling `method` with the graph's input. Compile inside the running
    event loop: an asyncio graph belongs to the loop it was compiled in. Its results cannot be `ray.wait`ed on."""
    from ray.dag import InputNode

    graphs = []
    for actor in actors:
        with InputNode() as argument:
            graphs.append(getattr(actor, method).bind(argument).experimental_compile(
                enable_asyncio=True, _max_inflight_executions=inflight))
    return graphs


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


Grid = Mapping[Any, Mapping[str, Any]] | Sequence[Mapping[str, Any]]
Cell = tuple[str, str] | Callable[[pd.DataFrame], Any]


def run_row(env: str, out: Path, eval_episodes: int = 0, extra: Callable[[RunResult], dict] | None = None,
            stop_at_threshold: bool = True, **overrides: Any) -> dict[str, Any]:
    """Train one run into `out` (no progress bar, a run already there replaced) and return its row as the
    package's own load_runs(table="summary") reads it back (summary and config columns, run_dir), with wall_s
    (train() end to end), policy_lag_mean (over the progress table), greedy_return (the mean of `eval_episodes`
    greedy episodes of the kept policy, when asked) and `extra(result)`'s columns."""
    from a3c_ray import evaluate, load_runs, train  # here: scripts that never train do not import torch

    config = make_config(env, stop_at_threshold, progress_bar=False, overwrite=True, out=str(out), **overrides)
    start = time.perf_counter()
    result = train(config)
    row = load_runs([result.run_dir], table="summary").to_dict("records")[0]
    if row.get("stop_reason") == "interrupted":  # Ctrl-C or SIGTERM ends the run's training, and so the script
        raise KeyboardInterrupt(f"run {result.run_dir} was interrupted")
    row["wall_s"] = time.perf_counter() - start
    row["policy_lag_mean"] = float(result.progress["policy_lag_mean"].mean())
    if eval_episodes:
        row["greedy_return"] = float(np.mean(evaluate(result.run_dir, episodes=eval_episodes)))
    return {**row, **(extra(result) if extra else {})}


def pick(row: Mapping[str, Any], keys: Sequence[str] | None = None,
         rename: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The columns a script's CSV keeps, in its order: `keys` of `row` (all of it when None), renamed by
    `rename` (the names its committed tables already use)."""
    rename = rename or {}
    return {rename.get(key, key): row[key] for key in (row if keys is None else keys)}


def sweep(grid: Grid, seeds: Sequence[int], out: Path, *, label: str | Sequence[str] = "label",
          keys: Sequence[str] | None = None, rename: Mapping[str, str] | None = None, eval_episodes: int = 0,
          extra: Callable[[RunResult], dict] | None = None, interleave: bool = False,
          before: pd.DataFrame | None = None, on_row: Callable[[pd.DataFrame], None] | None = None,
          **config: Any) -> pd.DataFrame:
    """Every point of `grid` with every seed, one run at a time (run_row into out/<point>-s<seed>), as a table.

    A dict grid is {label: overrides}, its label in column `label` (a tuple of labels: a tuple of columns); a list
    grid is override dicts whose values the config columns already carry. A row is the labels, then
    pick(run_row, keys, rename). `config` is what every point shares (env included); a point's overrides win.
    With `interleave` the seeds are the outer loop: each seed runs every point before the next, so an A/B in one
    sitting shares the machine's drift. After each run the row is printed and on_row(table so far) called, so an
    interrupted sweep keeps what it measured; `before`'s rows come first."""
    points = _points(grid, label)
    order = [(point, seed) for seed in seeds for point in points] if interleave else \
        [(point, seed) for point in points for seed in seeds]
    rows = [] if before is None else before.to_dict("records")
    for (labels, overrides), seed in order:
        parts = labels.values() if labels else overrides.values()
        row = run_row(out=out / _dir_name([*parts, f"s{seed}"]), eval_episodes=eval_episodes, extra=extra,
                      **{**config, **overrides, "seed": seed})
        rows.append({**labels, **pick(row, keys, rename)})
        print(rows[-1], flush=True)
        if on_row:
            on_row(pd.DataFrame(rows))
    return pd.DataFrame(rows)


def _points(grid: Grid, label: str | Sequence[str]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(label columns, config overrides) of each grid point."""
    if not isinstance(grid, Mapping):
        return [({}, dict(point)) for point in grid]
    names = (label,) if isinstance(label, str) else tuple(label)
    return [(dict(zip(names, key if isinstance(key, tuple) else (key,))), dict(overrides))
            for key, overrides in grid.items()]


def _dir_name(parts: Sequence[Any]) -> str:
    """A run directory's name from its labels: no slashes, commas or spaces (env ids and labels have them)."""
    return re.sub(r"[^\w.=+-]+", "_", "-".join(map(str, parts)))


def table(frame: pd.DataFrame, by: Sequence[str], columns: Mapping[str, Cell], *, each_row: bool = False) -> str:
    """Markdown with a line per group of `by` (in order of appearance; with `each_row`, a line per run): the `by`
    values, then a cell per column: {header: (column, fmt)} is spread()'s "median [min, max]" over the group,
    {header: callable(group)} anything else (len, count, share, value)."""
    headers = [*by, *columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for key, group in _groups(frame, list(by), each_row):
        cells = [spread(group[spec[0]], spec[1]) if isinstance(spec, tuple) else spec(group)
                 for spec in columns.values()]
        lines.append("| " + " | ".join(map(str, [*key, *cells])) + " |")
    return "\n".join(lines) + "\n"


def _groups(frame: pd.DataFrame, by: list[str], each_row: bool):
    """(by values, rows) of each line of a table."""
    if each_row:
        for i in range(len(frame)):
            group = frame.iloc[[i]]
            yield tuple(group[name].iloc[0] for name in by), group
    else:
        for key, group in frame.groupby(by, sort=False):
            yield key if isinstance(key, tuple) else (key,), group


def count(column: str) -> Callable[[pd.DataFrame], int]:
    """A cell: how many runs of the group have `column` true (solved, reached)."""
    return lambda group: int(group[column].sum())


def share(column: str) -> Callable[[pd.DataFrame], str]:
    """A cell: "true/runs" of `column` in the group (3/3 solved)."""
    return lambda group: f"{int(group[column].sum())}/{len(group)}"


def value(column: str, fmt: str, suffix: str = "", missing: str = "–") -> Callable[[pd.DataFrame], str]:
    """A cell of one value (a table of single runs, or a column constant over the group): `missing` for none."""
    def cell(group: pd.DataFrame) -> str:
        v = group[column].iloc[0]
        return missing if v is None or pd.isna(v) else f"{v:{fmt}}{suffix}"
    return cell


def return_mean(returns: pd.Series) -> pd.Series:
    """The 100-episode mean return after each episode (NaN before the 100th): the mean "solved" is judged on."""
    from a3c_ray.run.recorder import WINDOW

    return returns.rolling(WINDOW).mean()


def reached(episodes: pd.DataFrame, target: float) -> tuple[float | None, int | None]:
    """(training seconds, env steps) at the first episode whose 100-episode mean return reaches `target`, from a
    run's episodes table; (None, None) if none did."""
    hit = np.flatnonzero(return_mean(episodes["return"]).to_numpy() >= target)
    if not len(hit):
        return None, None
    return float(episodes["time_s"].iloc[hit[0]]), int(episodes["env_steps"].iloc[hit[0]])


# MinAtar Breakout, shared by minatar_breakout.py and grad_dtype.py (a script is no module to import from)
MINATAR_ENV, MINATAR_TARGET = "MinAtar/Breakout-v1", 10.0
MINATAR_COLUMNS = ["seed", "time_to_10_s", "env_steps_to_10", "final_mean_100", "env_steps", "env_steps_per_s"]


def minatar_to_target(episodes: pd.DataFrame) -> dict[str, Any]:
    """Seconds and env steps to a 100-episode mean of 10, and the mean at the end, from an episodes table
    (a3c_ray's or the SB3 baseline's: return, env_steps, time_s)."""
    time_s, steps = reached(episodes, MINATAR_TARGET)
    return {"time_to_10_s": time_s, "env_steps_to_10": steps,
            "final_mean_100": return_mean(episodes["return"]).iloc[-1]}


def minatar_options(seconds: float) -> dict[str, Any]:
    """run_row's or sweep's options for a MinAtar run with the CLI defaults: no early stop, `seconds` of
    training, the to-10 columns."""
    return {"env": MINATAR_ENV, "stop_seconds": seconds, "stop_at_threshold": False,
            "extra": lambda result: minatar_to_target(result.episodes)}


def minatar_table(runs: pd.DataFrame) -> str:
    """One line per run (minatar_options' rows, or the baseline's with the same columns)."""
    return table(runs.assign(minutes_to_10=runs["time_to_10_s"] / 60), ["system", "seed"], {
        "minutes to a 100-episode mean of 10": value("minutes_to_10", ".1f", missing="not reached"),
        "env steps to 10": value("env_steps_to_10", ",.0f"), "final 100-episode mean": value("final_mean_100", ".1f"),
        "env steps": value("env_steps", ",.0f"), "env steps/s": value("env_steps_per_s", ",.0f")}, each_row=True)


def save_png(fig, path: Path) -> None:
    """A finished figure laid out, written atomically as a 100-dpi PNG, and closed (the experiment plots' one
    ending)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
