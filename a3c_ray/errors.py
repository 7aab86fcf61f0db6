"""The errors a user can act on. Each message names the value and the fix; the CLI prints it as one line.

They live apart from the modules that raise them so the CLI can catch them without importing torch or gymnasium.
"""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """An exception as one line: the first line of its message, or its type's name when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class ConfigError(ValueError):
    """A setting has a value that cannot work; the message names it and the fix."""


class EnvError(ValueError):
    """The env id or its spaces cannot be used; the message says what would work."""


class CheckpointError(ValueError):
    """The file is missing, damaged, untrusted, or from another kind of run."""


class BackendError(RuntimeError):
    """The backend cannot go on (no cluster, workers lost); the message says which and why."""


class TrainingError(RuntimeError):
    """Training cannot go on (say, the loss keeps diverging); the files hold the last good state."""


class EvalError(RuntimeError):
    """The evaluation process died; the message says how."""
