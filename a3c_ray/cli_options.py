"""The train command's flags: one per Config field, Config's own default shown in the help, and the two that are
not settings (--resume, --stop-at-threshold). Text flags (--hidden-sizes, --env-kwargs) are parsed here."""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from pathlib import Path
from typing import Optional

import typer

from a3c_ray.config import Config
from a3c_ray.errors import ConfigError


def config_options() -> list[inspect.Parameter]:
    """One --flag per Config field, defaulting to None ('not given') so presets fill what the user left out."""
    hints = typing.get_type_hints(Config)
    params = []
    for f in dataclasses.fields(Config):
        base = hints[f.name]
        base = next((a for a in typing.get_args(base) if a is not type(None)), base) if typing.get_args(base) \
            and type(None) in typing.get_args(base) else base
        if typing.get_origin(base) in (tuple, dict):
            base = str  # "64,64"; '{"is_slippery": false}'
        help_text = f.metadata.get("help", "") + _default_text(f)
        if f.name == "env":
            option = typer.Option(None, "--env", help=help_text + " [required unless --resume]")
            annotation: typing.Any = Optional[str]
        elif base is bool:
            flag = f.name.replace("_", "-")
            option = typer.Option(None, f"--{flag}/--no-{flag}", help=help_text, show_default=False)
            annotation = Optional[bool]
        else:
            option = typer.Option(None, f"--{f.name.replace('_', '-')}", help=help_text, show_default=False)
            annotation = Optional[base]
        params.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=option,
                                        annotation=annotation))
    return params


def _default_text(f: dataclasses.Field) -> str:
    """Config's own default, for --help (an env's preset may set another; `--env`'s own run shows it in
    config.json)."""
    if f.name == "env" or f.default is dataclasses.MISSING:
        return ""
    value = f.default
    if isinstance(value, bool):
        value = f"--{f.name.replace('_', '-')}" if value else f"--no-{f.name.replace('_', '-')}"
    elif isinstance(value, tuple):
        value = ",".join(map(str, value))
    elif value is None:
        value = "none"
    return f" [default: {value}]"


RESUME = inspect.Parameter(
    "resume", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
    default=typer.Option(None, "--resume", help="continue the run in this directory from its checkpoint; flags "
                         "given (e.g. a larger --stop-steps) override its saved settings"))
STOP_AT_THRESHOLD = inspect.Parameter(
    "stop_at_threshold", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
    default=typer.Option(True, "--stop-at-threshold/--no-stop-at-threshold",
                         help="without --stop-return, stop at the env's reward_threshold (CartPole-v1: 475)"))


def parse_text_options(options: dict[str, typing.Any]) -> None:
    """--hidden-sizes "64,64" (and the actor's and critic's), --env-kwargs '{...}' and --virtual '{...}' into the
    Config's types, in place."""
    for name in ("hidden_sizes", "actor_sizes", "critic_sizes"):
        if options.get(name) is not None:
            try:
                options[name] = tuple(int(x) for x in str(options[name]).split(","))
            except ValueError:
                flag = name.replace("_", "-")
                raise ConfigError(f"--{flag} must be integers like 64,64, got {options[name]!r}") from None
    for name, example in (("env_kwargs", '{"is_slippery": false}'), ("virtual", '{"task_ms": 12}')):
        if options.get(name) is not None:
            options[name] = _json_object(f"--{name.replace('_', '-')}", options[name], example)


def _json_object(flag: str, text: str, example: str) -> dict:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{flag} must be a JSON object like '{example}', got {text!r} ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{flag} must be a JSON object like '{example}', got {text!r}")
    return value
