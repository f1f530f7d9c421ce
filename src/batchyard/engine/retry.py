"""Retry policy: how many attempts, how long between them, and which errors deserve another."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from batchyard.errors import BatchyardError, Interrupted, UsageError


@dataclass(frozen=True)
class Retry:
    """Retry an item up to ``attempts`` times in all, waiting ``delay * backoff**(n-1)`` seconds
    (capped at ``max_delay``, with jitter) after the n-th failure.

    ``on`` lists the exception types worth another attempt; ``never`` lists those that are not,
    even when they are subclasses of a type in ``on``. Usage errors (bad params, bad rows) never
    retry: the same input fails the same way.
    """

    attempts: int = 1
    delay: float = 1.0
    backoff: float = 2.0
    max_delay: float = 300.0
    jitter: bool = True
    on: tuple[type[BaseException], ...] = (Exception,)
    never: tuple[type[BaseException], ...] = field(default=(UsageError, Interrupted))

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise UsageError(f"Retry(attempts={self.attempts}): attempts must be at least 1")
        if self.delay < 0 or self.backoff < 1 or self.max_delay < 0:
            raise UsageError("Retry: delay and max_delay must be >= 0 and backoff >= 1")

    @classmethod
    def of(cls, value: int | Retry | None) -> Retry:
        """``retries=3`` means three retries after the first attempt: ``Retry(attempts=4)``."""
        if value is None:
            return cls()
        if isinstance(value, Retry):
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise UsageError(f"retries={value!r}: give a number of retries (>= 0) or a Retry(...)")
        return cls(attempts=value + 1)

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """True when a failure on attempt number ``attempt`` (1-based) deserves another."""
        if attempt >= self.attempts:
            return False
        if isinstance(exc, self.never):
            return False
        if isinstance(exc, BatchyardError) and not isinstance(exc, self.on):
            return False
        return isinstance(exc, self.on)

    def wait(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.delay * self.backoff ** max(attempt - 1, 0), self.max_delay)
        if self.jitter:
            # "Equal jitter": at least half the delay, so retries never bunch up at zero.
            return base / 2 + random.uniform(0, base / 2)
        return base

    def to_dict(self) -> dict[str, Any]:
        return {
            "attempts": self.attempts,
            "delay": self.delay,
            "backoff": self.backoff,
            "max_delay": self.max_delay,
            "jitter": self.jitter,
            "on": [t.__qualname__ for t in self.on],
        }
