"""Ctrl-C, SIGTERM and SIGHUP (the terminal closed) end a run the same way, and only once."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
TERMINAL_SIGNALS = tuple(sig for sig in STOP_SIGNALS if sig != signal.SIGTERM)  # sent to a whole process group


def leave_terminal_signals_to_the_driver() -> None:
    """In a worker or eval process: Ctrl-C and a closed terminal reach the whole process group; the driver
    handles them and stops this process cleanly, so this one must not die first."""
    for sig in TERMINAL_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def start_resource_tracker_deaf_to_hangup() -> None:
    """multiprocessing's resource tracker (a helper process for the spawned workers and the evaluator) ignores
    SIGINT and SIGTERM but not SIGHUP: a closed terminal killed it, and its relaunched copy printed a traceback.
    An ignored signal stays ignored across exec, so start it (once per process) with SIGHUP ignored."""
    if not hasattr(signal, "SIGHUP") or threading.current_thread() is not threading.main_thread():
        return
    from multiprocessing import resource_tracker

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        resource_tracker.ensure_running()
    finally:
        signal.signal(signal.SIGHUP, previous)


class Interrupts:
    """The first SIGINT, SIGTERM or SIGHUP stops training (KeyboardInterrupt). Once the run is writing its files
    (`disarm`), further ones are noted and ignored, so a second Ctrl-C, or the same signal delivered twice (by a
    terminal and by the supervising `a3c-ray` process), never cuts a file short."""

    def __init__(self):
        self.armed = True
        self.received = 0

    def handler(self, signum, frame) -> None:
        self.received += 1
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt

    def disarm(self) -> None:
        self.armed = False

    @contextmanager
    def installed(self):
        """Handle SIGINT and SIGHUP (unless the shell started us with them ignored) and SIGTERM; main thread
        only."""
        self.previous: dict = {}
        start_resource_tracker_deaf_to_hangup()
        self.take_back()
        try:
            yield self
        finally:
            for sig, handler in self.previous.items():  # only ever set from the main thread
                signal.signal(sig, handler)

    def take_back(self) -> None:
        """(Re)install the handlers: ray.init sets its own SIGTERM handler (sys.exit) in the main thread."""
        if threading.current_thread() is not threading.main_thread():
            return  # signals are the main thread's: leave them alone
        for sig in STOP_SIGNALS:
            current = signal.getsignal(sig)
            if current is signal.SIG_IGN or current == self.handler:
                continue
            self.previous.setdefault(sig, current)
            signal.signal(sig, self.handler)
