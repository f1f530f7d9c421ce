"""Cron expressions in a time zone: when a schedule is due.

Five fields (minute hour day month weekday), or six with seconds first
(``*/10 * * * * *``: every ten seconds), and croniter's ``@daily``-style names. Times are
computed in the schedule's time zone (so ``0 3 * * *`` stays at 03:00 local across daylight
saving changes) and handed out in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from batchyard.errors import ConfigError

if TYPE_CHECKING:
    from croniter import croniter


def _croniter(expression: str, start: datetime) -> croniter:
    """croniter, imported when first needed (it is not, for most commands)."""
    from croniter import croniter

    return croniter(expression.strip(), start, second_at_beginning=True)


@dataclass(frozen=True)
class Cron:
    """A checked cron expression and its time zone."""

    expression: str
    timezone: str = "UTC"
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_zone", zone(self.timezone))
        text = self.expression.strip()
        if not text:
            raise ConfigError("cron expression is empty")
        if len(text.split()) not in (1, 5, 6):
            raise ConfigError(
                f"cron expression {text!r} has {len(text.split())} fields: give five (minute "
                "hour day month weekday) or six with seconds first"
            )
        try:
            _croniter(text, datetime(2000, 1, 1, tzinfo=UTC))
        except (ValueError, KeyError) as exc:
            raise ConfigError(f"cron expression {text!r} is not valid: {exc}") from None

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    def after(self, moment: datetime) -> datetime:
        """The first time due strictly after ``moment``, in UTC."""
        return next(self.times(moment))

    def times(self, moment: datetime) -> Iterator[datetime]:
        """The times due after ``moment``, in order, in UTC."""
        local = moment.astimezone(self._zone)
        it = _croniter(self.expression, local)
        while True:
            yield it.get_next(datetime).astimezone(UTC).replace(microsecond=0)

    def latest(self, moment: datetime) -> datetime:
        """The last time due at or before ``moment``, in UTC."""
        local = (moment.replace(microsecond=0) + timedelta(seconds=1)).astimezone(self._zone)
        it = _croniter(self.expression, local)
        return it.get_prev(datetime).astimezone(UTC).replace(microsecond=0)

    def between(self, start: datetime, end: datetime, *, limit: int = 100_000) -> list[datetime]:
        """The times due in ``(start, end]``, oldest first (at most ``limit``, the newest)."""
        out: list[datetime] = []
        for at in self.times(start):
            if at > end:
                break
            out.append(at)
            if len(out) > limit:
                del out[0]
        return out


def zone(name: str) -> ZoneInfo:
    """The time zone named ``name`` (an IANA name such as ``Europe/Paris``, or ``UTC``)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown time zone {name!r}: give an IANA name such as UTC or Europe/Paris"
        ) from None
