"""Processes started with spawn (mp workers, the evaluator) re-import the user's script. One that reaches
a3c_ray.train() again that way (the script has no `if __name__ == "__main__":` guard) exits at once, quietly, with
EXIT_SCRIPT_REIMPORTED, before it makes any file; its parent turns that code into NO_MAIN_GUARD."""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

EXIT_SCRIPT_REIMPORTED = 3
STARTED_IN = os.getcwd()  # this package is imported before any ray.init
NO_MAIN_GUARD = ("a3c_ray starts its worker and evaluation processes with spawn, which re-imports your script, and "
                 "the script calls a3c_ray.train() again at import; put that call under "
                 "`if __name__ == \"__main__\":`")


def exit_if_reimported() -> None:
    """Call first thing in train(): in a process that spawn is still bootstrapping, leave."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        sys.exit(EXIT_SCRIPT_REIMPORTED)


def reenter(path: str) -> None:
    """Step into `path` again when our working dir was deleted under us. Inside `ray job submit --working-dir`,
    Ray unpacks the working dir again at the same path on the driver's ray.init and whenever it starts workers
    on this node, so the driver's cwd can be a deleted directory: spawn's own getcwd() fails, and a child living
    in it dies when oneMKL cannot load libtorch_cpu.so (seen in tests/test_cluster.py)."""
    try:
        os.getcwd()
    except FileNotFoundError:
        if os.path.isdir(path):
            os.chdir(path)


def start_in(process: multiprocessing.process.BaseProcess, directory: Path) -> None:
    """Start a spawn process with `directory` (one that stays) as its working dir, then step back (see
    reenter: the cwd we step back to may have been unpacked again since)."""
    try:
        back = os.getcwd()
    except FileNotFoundError:
        back = STARTED_IN  # the same path, unpacked again
    os.chdir(directory)
    try:
        process.start()
    finally:
        if os.path.isdir(back):
            os.chdir(back)
