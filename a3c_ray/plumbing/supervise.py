"""`a3c-ray train` runs in a child process that this one watches, so that a crash inside Ray's or torch's native
code (a segfault in one of Ray's C++ threads, say) ends with one line saying what happened and where the run's
files are, instead of a stack dump and a run the user must search for.

The child tells us its run directory through a small status file; the trainer writes every file before Ray's
teardown, so a crash there leaves a complete run (the child sends Ray's own report of it to a log in the run
directory). Signals sent to this process (Ctrl-C, SIGTERM from a job scheduler) are passed on to the child.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

STATUS_ENV = "A3C_RAY_STATUS_FILE"  # set in the child: where it writes {"run_dir": ...}
TEARDOWN_LOG = "ray_shutdown.log"  # in the run directory: what native code printed during Ray's teardown
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def supervised() -> bool:
    return STATUS_ENV in os.environ


def supervise(argv: list[str], command: list[str] | None = None) -> int:
    """Run `python -m a3c_ray *argv` (or `command + argv`) as a child; return its exit code, or explain its death
    by a signal in one line."""
    with tempfile.TemporaryDirectory(prefix="a3c-ray-") as tmp:
        status = Path(tmp) / "status.json"
        started = time.time()
        child = subprocess.Popen([*(command or [sys.executable, "-m", "a3c_ray"]), *argv],
                                 env={**os.environ, STATUS_ENV: str(status)},
                                 preexec_fn=_term_when_parent_dies if sys.platform == "linux" else None)
        previous = {sig: signal.signal(sig, lambda signum, frame: _forward(child, signum)) for sig in FORWARDED}
        try:
            code = child.wait()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if code >= 0:
            return code
        run_dir = _run_dir(status)
        message, code = explain_death(signal.Signals(-code).name, run_dir, started)
        print(f"a3c-ray: {message}", file=sys.stderr)
        return code


def _term_when_parent_dies() -> None:
    """In the child, before exec: SIGTERM when this supervisor dies (SIGKILLed, say), so that a run never goes on
    without it; SIGTERM writes the run's files and stops Ray, as Ctrl-C does. Seen in CI: a test killed the
    CLI, and its training child kept a cluster's CPUs for the next test."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _forward(child: subprocess.Popen, signum: int) -> None:
    if child.poll() is None:
        child.send_signal(signum)


def _run_dir(status: Path) -> Path | None:
    try:
        return Path(json.loads(status.read_text())["run_dir"])
    except (OSError, ValueError, KeyError):
        return None


def explain_death(signal_name: str, run_dir: Path | None, started: float) -> tuple[str, int]:
    """The one line for a child killed by `signal_name`, and the exit code: 0 when the run had finished and all
    its files were written (only the runtime's teardown crashed), 1 otherwise."""
    if run_dir is None:
        return (f"error: the training process died of {signal_name} before the run started (a crash in native "
                "code: Ray or torch); no run files were written", 1)
    summary = run_dir / "summary.json"
    if summary.is_file() and summary.stat().st_mtime >= started:
        log = run_dir / TEARDOWN_LOG
        report = f" (its report: {log})" if log.is_file() else ""
        return (f"warning: Ray crashed ({signal_name}) while shutting down, after the run had finished; the run's "
                f"files are complete in {run_dir}{report}", 0)
    return (f"error: the training process died of {signal_name} during the run (a crash in native code: Ray or "
            f"torch); the last periodic checkpoint and tables are in {run_dir}; continue with "
            f"`a3c-ray train --resume {run_dir}`", 1)


def exit_without_teardown(main: Callable[[], None]) -> NoReturn:
    """In the child: run `main` and its exit handlers (Ray's shutdown, multiprocessing's, logging's), then end the
    process: the interpreter's teardown of torch's and Ray's modules took ~1.1 s a run, with nothing left to save."""
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if isinstance(exc.code, str) and sys.stderr is not None:
            print(exc.code, file=sys.stderr)
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)
    if run_exit_handlers is None:  # not CPython: its normal exit
        sys.exit(code)
    run_exit_handlers()
    for sig in FORWARDED:  # from here on a signal could only turn this exit into the slow one
        signal.signal(sig, signal.SIG_IGN)
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:  # None: started with that descriptor closed
                stream.flush()
        except (OSError, ValueError):  # a closed pipe (`| head`) or stream: nothing more to say there
            pass
    os._exit(code)


def report_run_dir(run_dir: Path) -> None:
    """In the child: tell the supervisor where this run's files are."""
    path = os.environ.get(STATUS_ENV)
    if path:
        Path(path).write_text(json.dumps({"run_dir": str(run_dir.resolve())}))


@contextmanager
def native_stderr_into(path: Path):
    """Point file descriptor 2 at `path` for the block (native code writes its crash reports there); the file
    is removed when nothing was written."""
    sys.stderr.flush()
    saved = os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        if path.is_file() and path.stat().st_size == 0:
            path.unlink()
