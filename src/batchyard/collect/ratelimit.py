"""A rate limit shared by every thread that sends requests through one client.

Requests are spaced evenly (a token bucket of one token, refilled ``rate`` times a second, taken by
whichever thread is ready first), so the measured rate never tops the limit, even in its first
second. A Retry-After from the server pushes
the next slot of every thread, not only of the one that was told to wait.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from batchyard.errors import UsageError


class RateLimit:
    """At most ``rate`` requests a second across threads (``None``: no limit)."""

    def __init__(self, rate: float | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        if rate is not None and rate <= 0:
            raise UsageError(f"rate={rate}: give requests per second > 0, or no rate limit")
        self.rate = rate
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0.0

    def acquire(self, should_stop: Callable[[], bool] | None = None) -> bool:
        """Wait for this thread's slot; False if ``should_stop`` turned true while waiting."""
        while True:
            # The slot is taken when the thread is ready to send, not reserved before it
            # sleeps: a thread woken late would otherwise send alongside the next one.
            with self._lock:
                now = self._clock()
                if now >= self._next:
                    self._next = now + self._interval
                    return True
                moment = self._next
            if not _sleep_until(moment, self._clock, should_stop):
                return False

    def defer(self, seconds: float) -> None:
        """Hold every thread back for ``seconds`` from now (the server asked us to wait)."""
        with self._lock:
            self._next = max(self._next, self._clock() + seconds)


def _sleep_until(
    moment: float, clock: Callable[[], float], should_stop: Callable[[], bool] | None
) -> bool:
    while True:
        left = moment - clock()
        if left <= 0:
            return True
        if should_stop is not None and should_stop():
            return False
        # Short naps, so a stopping job is not held by a long wait.
        time.sleep(min(left, 0.1))
