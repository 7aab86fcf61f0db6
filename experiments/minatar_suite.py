"""MinAtar, the suite: Asterix, Breakout and SpaceInvaders (v1) from pixels with the CLI defaults, against the
published gymnax PPO figures.

    python experiments/minatar_suite.py                          # 3 games x seeds 0-2, 10M env steps each
    python experiments/minatar_suite.py --games Breakout --seeds 0 --steps 2e6
    python experiments/minatar_suite.py --quick                  # Breakout, seed 0, 1M env steps
    python experiments/minatar_suite.py --games Breakout --variant ent0.02 --set entropy_coef=0.02 \
        --out experiments/results/minatar_ablation              # a preset ablation: its rows are one variant

Each run is `a3c-ray train --env MinAtar/<Game>-v1 --stop-steps 10000000 --no-stop-at-threshold` as it comes: Ray, 2
workers, the MinAtar family preset (presets/MinAtar.json: 16 envs x 16 steps, lr 7e-4, entropy 0.02, 2 tasks queued
per worker, its greedy evaluation every 250k steps running beside training), all runs in one local Ray. The table
gives, per game, the 100-episode training mean at 1M, 2M, 5M and 10M env steps (median [min, max] over seeds),
minutes of training to 10M, env steps/s, and the published reference beside it: gymnax's PPO at 10M env steps with
64 envs (Asterix 15, Breakout 28, SpaceInvaders 131; its Freeway 58 is not run here), on gymnax's port of the
games, which has no sticky actions (MinAtar v1 repeats the previous action one step in ten: on Breakout that cost the
preset's three policies 4-18 points; `experiments/results/minatar_rules/`). Writes `<out>/runs.csv`,
`<out>/curves.csv` (every 25th episode's 100-episode mean, per run), `<out>/minatar_suite.md` and
`<out>/<game>.png`; runs already in runs.csv (same variant, game, seed and steps) are kept, not run again. `--set
key=value` overrides the preset for an ablation, under the label `--variant` (default "preset", the CLI defaults);
the table has a line per variant and game.
"""

from __future__ import annotations

import argparse
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from a3c_ray import load_run  # noqa: E402
from a3c_ray.plumbing.atomic import atomic_write_text  # noqa: E402
from common import (  # noqa: E402
    csv_list,
    local_ray,
    output_dir,
    parser,
    return_mean,
    run_row,
    save_png,
    seed_list,
    table,  # noqa: E402
)

PUBLISHED = {"Asterix": 15.0, "Breakout": 28.0, "SpaceInvaders": 131.0}  # gymnax PPO, 10M env steps, 64 envs
CHECKPOINTS = [1_000_000, 2_000_000, 5_000_000, 10_000_000]
CURVE_EVERY = 25


def mean_at(episodes: pd.DataFrame, steps: int) -> float:
    """The 100-episode training mean as it stood at `steps` env steps (NaN before 100 episodes, or when the run
    stopped short of `steps`)."""
    if episodes.empty or episodes["env_steps"].iloc[-1] < steps * 0.99:
        return np.nan
    means = return_mean(episodes["return"])[episodes["env_steps"] <= steps]
    return float(means.iloc[-1]) if len(means) else np.nan


def setting(text: str) -> tuple[str, object]:
    """--set's key=value, the value read as JSON where it parses (0.02, true, [64, 64]), else as text."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--set {text!r}: expected key=value, e.g. --set entropy_coef=0.02")
    try:
        return key.replace("-", "_"), json.loads(value)
    except json.JSONDecodeError:
        return key.replace("-", "_"), value


RESERVED = {"env", "seed", "stop_steps", "out", "overwrite", "progress_bar"}  # what every suite run sets itself


def checked_overrides(options: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    """--set's overrides, refused in one line (before Ray starts) when a key, a value or the --variant label
    would not make a run of its own."""
    from a3c_ray import make_config
    from a3c_ray.config import Config

    if not re.fullmatch(r"[\w.=+-]+", args.variant):
        options.error(f"--variant {args.variant!r}: letters, digits and . = + - _ only (it names the run folders)")
    try:
        overrides = dict(setting(text) for text in args.settings)
    except ValueError as error:
        options.error(str(error))
    unknown = sorted(set(overrides) - set(Config.__dataclass_fields__))
    if unknown:
        options.error(f"--set {unknown[0]}: not a config field (see `a3c-ray train --help`)")
    if set(overrides) & RESERVED:
        options.error(f"--set {sorted(set(overrides) & RESERVED)[0]}: the suite sets it; use --games, --seeds, "
                      "--steps or --out")
    if overrides and args.variant == "preset":
        options.error("--set needs --variant NAME: the 'preset' rows are the CLI defaults")
    try:
        make_config(f"MinAtar/{args.games[0]}-v1", **overrides).validate()
    except ValueError as error:  # ConfigError, naming the setting
        options.error(f"--set {' '.join(args.settings)}: {error}")
    return overrides


def run_game(game: str, seed: int, steps: int, out, variant: str = "preset",
             overrides: dict | None = None) -> tuple[dict, pd.DataFrame]:
    folder = f"{game}-s{seed}" if variant == "preset" else f"{variant}-{game}-s{seed}"
    row = run_row(f"MinAtar/{game}-v1", out=out / folder, seed=seed, stop_steps=steps, stop_at_threshold=False,
                  **(overrides or {}))
    episodes = load_run(row["run_dir"]).episodes
    result = {"variant": variant, "settings": json.dumps(overrides or {}, sort_keys=True), "game": game,
              "seed": seed, "steps": steps, "env_steps": row["env_steps"],
              "minutes": row["training_s"] / 60, "env_steps_per_s": row["env_steps_per_s"],
              **{f"mean_at_{c // 1_000_000}M": mean_at(episodes, c) for c in CHECKPOINTS}}
    curve = pd.DataFrame({"variant": variant, "game": game, "seed": seed, "env_steps": episodes["env_steps"],
                          "mean_100": return_mean(episodes["return"])}).iloc[::CURVE_EVERY].dropna()
    return result, curve


def markdown(runs: pd.DataFrame) -> str:
    runs = runs.assign(published=runs["game"].map(PUBLISHED))
    columns = {f"mean at {c // 1_000_000}M": (f"mean_at_{c // 1_000_000}M", ".1f") for c in CHECKPOINTS}
    reference = "gymnax PPO at 10M (published; no sticky actions)"
    return table(runs, ["variant", "game"], {"seeds": lambda g: len(g), **columns,
                                             reference: lambda g: f"{g['published'].iloc[0]:.0f}",
                                             "minutes of training": ("minutes", ".1f"),
                                             "env steps/s": ("env_steps_per_s", ",.0f")})


def plot(curves: pd.DataFrame, game: str, path) -> None:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    curves = curves[curves["game"] == game]
    several = curves["variant"].nunique() > 1
    for (variant, seed), frame in curves.groupby(["variant", "seed"]):
        ax.plot(frame["env_steps"], frame["mean_100"], lw=1,
                label=f"{variant}, seed {seed}" if several else f"a3c_ray, seed {seed}")
    ax.plot([1e7], [PUBLISHED[game]], "k*", ms=10, label="gymnax PPO at 10M (published; no sticky actions)")
    ax.set_xlabel("env steps")
    ax.set_ylabel("return, 100-episode training mean")
    ax.set_title(f"MinAtar/{game}-v1, Ray, 2 workers, 2 cores")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    save_png(fig, path)


def main() -> None:
    options = parser(__doc__, "minatar_suite")
    options.add_argument("--games", type=csv_list, default=",".join(PUBLISHED))
    options.add_argument("--seeds", type=seed_list, default="0,1,2")
    options.add_argument("--steps", type=float, default=1e7)
    options.add_argument("--variant", default="preset", help="label of these runs (default: preset)")
    options.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                         help="override the preset (repeatable), e.g. --set entropy_coef=0.02")
    args = options.parse_args()
    overrides = checked_overrides(options, args)
    out = output_dir(args, "minatar_suite")
    games, seeds, steps = (["Breakout"], [0], 1_000_000) if args.quick else (args.games, args.seeds, int(args.steps))
    runs_path, curves_path = out / "runs.csv", out / "curves.csv"
    runs = pd.read_csv(runs_path) if runs_path.is_file() else pd.DataFrame(columns=["variant", "game", "seed", "steps"])
    curves = pd.read_csv(curves_path) if curves_path.is_file() else pd.DataFrame(columns=["variant", "game", "seed"])
    runs, curves = (frame if "variant" in frame else frame.assign(variant="preset") for frame in (runs, curves))
    settings = json.dumps(overrides, sort_keys=True)
    if "settings" not in runs:
        runs = runs.assign(settings=runs["variant"].map(lambda v: "{}" if v == "preset" else None))
    before = set(runs.loc[runs["variant"] == args.variant, "settings"].dropna()) - {settings}
    if before:
        options.error(f"--variant {args.variant}: its runs in {runs_path} were made with --set {before.pop()}, "
                      f"not {settings}; name this variant otherwise")
    with local_ray():
        for seed in seeds:  # seeds outermost: an interrupted suite has every game at its first seeds
            for game in games:
                same = (runs["variant"] == args.variant) & (runs["game"] == game) & (runs["seed"] == seed)
                if (same & (runs["steps"] == steps)).any():
                    continue
                row, curve = run_game(game, seed, steps, out / "runs", args.variant, overrides)
                print(row, flush=True)
                runs = pd.concat([runs[~same], pd.DataFrame([row])])
                curves = pd.concat([curves[~((curves["variant"] == args.variant) & (curves["game"] == game)
                                             & (curves["seed"] == seed))], curve])
                atomic_write_text(runs_path, runs.to_csv(index=False))
                atomic_write_text(curves_path, curves.to_csv(index=False))
                atomic_write_text(out / "minatar_suite.md", markdown(runs))
                plot(curves, game, out / f"{game}.png")


if __name__ == "__main__":
    main()
