"""Ctrl-C and SIGTERM end a run the same way, and only once."""

from __future__ import annotations

import signal
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
        previous = {}
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                if signal.getsignal(sig) is signal.SIG_IGN:
                    continue
                previous[sig] = signal.signal(sig, self.handler)
        except ValueError:  # not the main thread: leave signals alone
            pass
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
