"""The a3c-ray command: train, evaluate, plot. Errors are one line on stderr, exit 2 for usage errors."""

from __future__ import annotations

import inspect
import json
import statistics
import sys
import typing
from contextlib import nullcontext
from pathlib import Path
from typing import Optional

import typer

from a3c_ray.cli_options import RESUME, STOP_AT_THRESHOLD, config_options, parse_text_options
from a3c_ray.config import Config, make_config
from a3c_ray.errors import BackendError, CheckpointError, ConfigError, EnvError, EvalError, TrainingError
from a3c_ray.plumbing.supervise import (
    TEARDOWN_LOG,
    exit_without_teardown,
    native_stderr_into,
    report_run_dir,
    supervise,
    supervised,
)

# torch, gymnasium, pandas and matplotlib load inside the commands that need them: `--help` and the error paths
# stay fast.

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  rich_markup_mode=None,  # click's plain help: rich alone would cost --help ~150 ms of imports
                  help="A3C for PyTorch on Ray actors (or torch.multiprocessing).")

USAGE_ERRORS = (ConfigError, EnvError, CheckpointError)
# typer >= 0.29 vendors click: take its UsageError from the public BadParameter rather than from `click`
CLI_USAGE_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


def train_command(**options: typing.Any) -> None:
    """Train A3C on an env. Flags override the env's preset (CartPole-v1, Pendulum-v1, MinAtar, ALE), which overrides
    the defaults shown."""
    resume, stop_at_threshold = options.pop("resume"), options.pop("stop_at_threshold")
    parse_text_options(options)
    if resume is not None:
        from a3c_ray.run.run_dir import resume_config

        config = resume_config(resume, **options)
        if options["env"] is not None and options["env"] != config.env:
            raise ConfigError(f"--env {options['env']!r} differs from the env of the run in --resume "
                              f"({config.env!r}); leave --env out when resuming")
    elif options["env"] is None:
        raise ConfigError("--env is required (e.g. --env CartPole-v1), unless you --resume RUN_DIR")
    else:
        config = make_config(stop_at_threshold=stop_at_threshold, **options)
        _start_ray_early(config)
    config.validate()  # a bad value is reported before torch is imported (~1.5 s)
    from a3c_ray.run.trainer import Trainer

    trainer = Trainer(config, resume=resume is not None)
    report_run_dir(trainer.run_dir)
    try:
        s = trainer.run().summary
        unit = " simulated s" if config.backend == "virtual" else " s"
        solved = f"solved in {s['time_to_solve_s']:.1f}{unit} ({s['env_steps_to_solve']} env steps)" \
            if s["solved"] else f"not solved ({s['stop_reason']})"
        typer.echo(f"{config.env}: {solved}; 100-episode return mean {s['episode_return_mean']:.1f}, "
                   f"{s['env_steps_per_s']:.0f} env steps/s, start-up {s['startup_s']:.1f} s. Run: {trainer.run_dir}")
    finally:  # every file is written by now; a crash in Ray's teardown leaves its report in the run directory
        with native_stderr_into(trainer.run_dir / TEARDOWN_LOG) if supervised() else nullcontext():
            trainer.close()
    if s["stop_reason"] == "interrupted":
        raise typer.Exit(130)


def _start_ray_early(config: Config) -> None:
    """A run on a Ray of its own starts that Ray now, in a thread, while torch and the rest of the driver load
    (ray_runtime.start_early): ~0.75 s off `make train` here. Only once the checks that need no torch pass, so that bad
    input still fails at once, without a Ray started for nothing; a check that fails here is left for the
    trainer to report in its own words."""
    if config.backend != "ray":
        return
    try:
        import gymnasium as gym

        from a3c_ray.envs.suites import prepare
        from a3c_ray.run.run_dir import check_run_dir

        config.validate()
        if config.out:  # a default run dir is new
            check_run_dir(Path(config.out), config.overwrite)
        prepare(config.env)
        gym.spec(config.env)
        if config.tensorboard:
            from a3c_ray.run.tensorboard_log import check_available

            check_available()
    except Exception:  # noqa: BLE001  the normal path raises it, with its message
        return
    from a3c_ray.backends.ray_runtime import start_early

    start_early(config)


train_command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [*config_options(), STOP_AT_THRESHOLD, RESUME])
app.command("train", help=train_command.__doc__)(train_command)


@app.command("evaluate")
def evaluate_command(
    run_dir: Path = typer.Argument(..., help="run directory (or a checkpoint file)"),
    episodes: int = typer.Option(100, help="greedy episodes to run"),
    last: bool = typer.Option(False, "--last", help="the run's latest weights (checkpoint.pt) instead of the "
                              "best-evaluated ones (best_checkpoint.pt, when the run evaluated during training)"),
    video: Optional[Path] = typer.Option(None, "--video", help="also write the first episode to this .gif (or "
                                         ".mp4, with imageio-ffmpeg installed), every k-th frame, at most 150"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object"),
) -> None:
    """Run the greedy policy of a saved run and print the mean and std of its return."""
    from a3c_ray.run.evaluation import checkpoint_path, evaluate

    if episodes < 1:
        raise ConfigError(f"--episodes must be a positive integer, got {episodes}")
    which = "last" if last else "best"
    returns = evaluate(run_dir, episodes, which=which, video=video)
    mean, std = statistics.fmean(returns), statistics.pstdev(returns)
    used = checkpoint_path(run_dir, which)
    if as_json:
        typer.echo(json.dumps({"mean_return": mean, "std_return": std, "episodes": len(returns),
                               "checkpoint": str(used)}))
    else:
        typer.echo(f"greedy return over {len(returns)} episodes: {mean:.1f} ± {std:.1f} ({used.name})")
    if video is not None and not as_json:
        typer.echo(f"wrote {video} (the first episode, return {returns[0]:.1f})")


@app.command("export")
def export_command(
    run_dir: Path = typer.Argument(..., help="run directory (or a checkpoint file)"),
    out: Path = typer.Option(..., "--out", help="file to write"),
    fmt: str = typer.Option("torchscript", "--format", help="torchscript (torch.jit.load) or onnx (onnxruntime; "
                            "the onnx extra)"),
    last: bool = typer.Option(False, "--last", help="the run's latest weights instead of the best-evaluated ones"),
) -> None:
    """Write the greedy policy as one file that runs without a3c_ray: raw observations in, the action out."""
    from a3c_ray.run.export import export_policy
    from a3c_ray.run.policy import load_policy

    path = export_policy(load_policy(run_dir, "last" if last else "best"), out, fmt)
    typer.echo(f"wrote {path} ({fmt}, {path.stat().st_size:,} bytes)")


@app.command("plot")
def plot_command(
    run_dirs: list[Path] = typer.Argument(..., help="run directories to overlay"),
    out: Path = typer.Option(..., "--out", help="PNG file to write"),
) -> None:
    """Overlay the learning curves of several runs."""
    from a3c_ray.run.plotting import plot_learning_curves
    from a3c_ray.run.results import load_run

    curves = {}
    for run_dir in run_dirs:
        if not (run_dir / "episodes.csv").is_file():
            raise ConfigError(f"{str(run_dir)!r} is not a run directory (no episodes.csv)")
        curves[run_dir.name] = load_run(run_dir).episodes
    plot_learning_curves(curves, out)
    typer.echo(f"wrote {out}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app without click's multi-line error screens; map errors to one line + exit code.
    `train` runs in a supervised child process (see a3c_ray.plumbing.supervise)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args[:1] == ["train"] and not supervised() and not {"--help", "-h"} & set(args):
        sys.exit(supervise(args))
    if args[:1] == ["train"] and supervised() and argv is None:  # the training child, as a process of its own
        exit_without_teardown(lambda: _run(argv))
    _run(argv)


def _run(argv: list[str] | None) -> None:
    """The command line's command, its errors as one line and an exit code."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="a3c-ray", standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) comes back as a return value here
            sys.exit(code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except CLI_USAGE_ERROR as exc:
        _fail(exc.format_message() + _given_value(exc, sys.argv[1:] if argv is None else argv), 2)
    except typer.Abort:
        _fail("aborted", 130)
    except USAGE_ERRORS as exc:
        _fail(str(exc), 2)
    except (BackendError, TrainingError, EvalError) as exc:
        _fail(str(exc), 1)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def _given_value(exc: Exception, argv: list[str]) -> str:
    """' (got 'two')' for a bad option value, so the line names what was typed; '' when not found."""
    param = getattr(exc, "param", None)
    for opt in getattr(param, "opts", []) or []:
        for i, arg in enumerate(argv):
            if arg == opt and i + 1 < len(argv):
                return f" (got {argv[i + 1]!r})"
            if arg.startswith(opt + "="):
                return f" (got {arg[len(opt) + 1:]!r})"
    return ""


def _fail(message: str, code: int) -> None:
    print(f"a3c-ray: error: {' '.join(message.split())}", file=sys.stderr)
    sys.exit(code)
