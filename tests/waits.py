"""Acting on observed state, never on a guessed delay: ``when(cond, then)`` calls ``then`` once
``cond`` holds (a row in the store, a line in a log), from a thread of its own, so a test can stop
a job it runs in the foreground at a moment it can name."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class When:
    """A watcher started by :func:`when`; ``fired()`` says whether ``then`` was called."""

    def __init__(self, cond: Callable[[], bool], then: Callable[[], Any], timeout: float) -> None:
        self._cond, self._then, self._timeout = cond, then, timeout
        self._fired = threading.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._watch, name="test-when", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        deadline = time.monotonic() + self._timeout
        try:
            while time.monotonic() < deadline:
                if self._cond():
                    self._then()
                    self._fired.set()
                    return
                time.sleep(0.005)
        except BaseException as exc:  # handed to the test by fired()
            self.error = exc

    def fired(self, timeout: float = 30) -> bool:
        """Wait for the watcher to end; True if ``then`` ran (its error, if any, is raised)."""
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self._fired.is_set()


def when(cond: Callable[[], bool], then: Callable[[], Any], *, timeout: float = 60) -> When:
    return When(cond, then, timeout)
