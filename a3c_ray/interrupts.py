"""Ctrl-C and SIGTERM end a run the same way, and only once."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager


class Interrupts:
    """The first SIGINT or SIGTERM stops training (KeyboardInterrupt). Once the run is writing its files
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
        """Handle SIGINT (unless the shell started us with it ignored) and SIGTERM; main thread only."""
        self.previous: dict = {}
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
        for sig in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(sig)
            if current is signal.SIG_IGN or current == self.handler:
                continue
            self.previous.setdefault(sig, current)
            signal.signal(sig, self.handler)
