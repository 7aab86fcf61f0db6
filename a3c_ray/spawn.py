"""Processes started with spawn (mp workers, the evaluator) re-import the user's script. One that reaches
a3c_ray.train() again that way (the script has no `if __name__ == "__main__":` guard) exits at once, quietly, with
EXIT_SCRIPT_REIMPORTED, before it makes any file; its parent turns that code into NO_MAIN_GUARD."""

from __future__ import annotations

import multiprocessing
import sys

EXIT_SCRIPT_REIMPORTED = 3
NO_MAIN_GUARD = ("a3c_ray starts its worker and evaluation processes with spawn, which re-imports your script, and "
                 "the script calls a3c_ray.train() again at import; put that call under "
                 "`if __name__ == \"__main__\":`")


def exit_if_reimported() -> None:
    """Call first thing in train(): in a process that spawn is still bootstrapping, leave."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        sys.exit(EXIT_SCRIPT_REIMPORTED)
