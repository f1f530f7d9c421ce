"""Dates and timestamps read as text in Arrow batches, checked and turned into PostgreSQL's binary
values by numpy: only from the canonical forms SQLite's ``date()`` and ``datetime()`` give back
unchanged ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS[.ffffff]') naming a real day of the years 0001-9999.
Any other text raises :class:`~batchyard.errors.NotBinary` (asking SQLite to check and convert
each value costs more than the whole read).
"""

from __future__ import annotations

import functools
from typing import Any

from batchyard.errors import NotBinary
from batchyard.move.arrow import ARROW_ROWS

# 'YYYY-MM-DD HH:MM:SS' position by position: the lowest byte allowed, and how far above it a byte
# may be (a digit 0-9 above '0'; the separators exactly).
_LOW = b"0000-00-00 00:00:00"
_SPAN = b"\x09\x09\x09\x09\x00\x09\x09\x00\x09\x09\x00\x09\x09\x00\x09\x09\x00\x09\x09"
# Where each two-digit group starts: century, year, month, day, hour, minute, second.
_PAIRS = (0, 2, 5, 8, 11, 14, 17)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def dates(offsets: Any, data: Any, valid: Any) -> Any:
    """Days since 2000-01-01 of each date ('YYYY-MM-DD' naming a real day; 0 for NULL)."""
    import numpy as np

    lengths = np.diff(offsets)
    if not np.array_equal(lengths, np.full_like(lengths, 10) if valid is None else valid * 10):
        raise NotBinary("a date in a form with no binary value")
    groups = _groups(data[offsets[0] : offsets[-1]], 10)
    days = _days(groups).astype(np.int32)
    return days if valid is None else _spread(days, valid, np.int32)


def timestamps(offsets: Any, data: Any, valid: Any) -> Any:
    """Microseconds since 2000-01-01 00:00 of each timestamp ('YYYY-MM-DD HH:MM:SS' naming a real
    day and time, then optionally '.' and 1 to 6 digits; 0 for NULL)."""
    import numpy as np

    lengths = np.diff(offsets)
    if np.array_equal(lengths, np.full_like(lengths, 19) if valid is None else valid * 19):
        text, fraction = data[offsets[0] : offsets[-1]], 0
    else:
        if valid is not None and lengths[~valid].any():
            raise NotBinary("a NULL with bytes")
        starts = offsets[:-1] if valid is None else offsets[:-1][valid]
        kept = lengths if valid is None else lengths[valid]
        if not ((kept == 19) | ((kept >= 21) & (kept <= 26))).all():
            raise NotBinary("a timestamp in a form with no binary value")
        text = data[starts[:, None] + np.arange(19)].reshape(-1)
        fraction = _fractions(data, starts, kept)
    groups = _groups(text, 19)
    hour, minute, second = groups[:, 4], groups[:, 5], groups[:, 6]
    if not ((hour <= 23) & (minute <= 59) & (second <= 59)).all():
        raise NotBinary("a timestamp that names no real time")
    seconds = _days(groups) * 86_400 + hour * 3_600 + minute * 60 + second
    micros = seconds * 1_000_000 + fraction
    return micros if valid is None else _spread(micros, valid, np.int64)


def _fractions(data: Any, starts: Any, lengths: Any) -> Any:
    """Microseconds of the '.ffffff' after each 19-byte timestamp that has one."""
    import numpy as np

    fraction = np.zeros(len(starts), dtype=np.int64)
    longer = lengths > 19
    if not longer.any():
        return fraction
    starts, places = starts[longer], lengths[longer] - 20
    cells = np.minimum(starts[:, None] + 20 + np.arange(6), len(data) - 1)
    digits = data[cells].astype(np.int64) - 48
    inside = np.arange(6) < places[:, None]
    if not (data[starts + 19] == 46).all() or ((digits < 0) | (digits > 9))[inside].any():
        raise NotBinary("a timestamp in a form with no binary value")
    digits[~inside] = 0
    fraction[longer] = digits @ np.array([100_000, 10_000, 1_000, 100, 10, 1], dtype=np.int64)
    return fraction


def _spread(values: Any, valid: Any, dtype: Any) -> Any:
    import numpy as np

    out = np.zeros(len(valid), dtype=dtype)
    out[valid] = values
    return out


def _groups(text: Any, width: int) -> Any:
    """The two-digit groups (int64) of each ``width``-byte 'YYYY-MM-DD[ HH:MM:SS]' in ``text``
    (their bytes one after another); NotBinary where a byte is not a digit or the separator."""
    import numpy as np

    rows = len(text) // width
    low, span, first = _pattern(width, rows)
    digits = text - low  # a byte below its lowest wraps round, far above any span
    if (digits > span).any():
        raise NotBinary("a date or timestamp in a form with no binary value")
    return digits[first].astype(np.int64) * 10 + digits[first + 1]


def _pattern(width: int, rows: int) -> tuple[Any, Any, Any]:
    """The lowest byte and span of each position of ``rows`` values one after another, and where
    each value's two-digit groups start."""
    import numpy as np

    low, span, first = _PATTERNS.get(width, (None, None, None))
    if low is None or len(low) < rows * width:
        size = max(rows, ARROW_ROWS)
        low = np.tile(np.frombuffer(_LOW[:width], dtype=np.uint8), size)
        span = np.tile(np.frombuffer(_SPAN[:width], dtype=np.uint8), size)
        pairs = np.array([p for p in _PAIRS if p < width], dtype=np.int64)
        first = np.arange(size, dtype=np.int64)[:, None] * width + pairs
        _PATTERNS[width] = (low, span, first)
    return low[: rows * width], span[: rows * width], first[:rows]


_PATTERNS: dict[int, tuple[Any, Any, Any]] = {}


def _days(groups: Any) -> Any:
    """Days since 2000-01-01 (int64) of each row's year, month and day groups; NotBinary unless
    each names a real day (SQLite's ``date(v) = v``)."""
    month_days, before, new_year, leap = _calendar()
    year = groups[:, 0] * 100 + groups[:, 1]
    key = leap[year] * 100 + groups[:, 2]  # months 0 and 13-99 have no days
    day = groups[:, 3]
    # (PostgreSQL has no year 0: 0000-01-01 in binary would be 1 BC.)
    if not ((year >= 1) & (day >= 1) & (day <= month_days[key])).all():
        raise NotBinary("a date that names no real day")
    result: Any = new_year[year] + before[key] + day - 1
    return result


@functools.cache
def _calendar() -> tuple[Any, Any, Any, Any]:
    """Tables by (leap year) * 100 + month: days in the month, days before it in its year; by year
    0000-9999: the days from 2000-01-01 to its first day, and whether it is a leap year.

    (Made once; threads that ask at the same time may each make it, and get the same tables.)"""
    import numpy as np

    years = np.arange(10_000, dtype=np.int64)
    leap = ((years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))).astype(np.int64)
    # Days before each year's first day, from 0000-01-01, then moved to count from 2000.
    lengths = 365 + leap
    new_year = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    new_year -= new_year[2000]
    month_days = np.zeros(200, dtype=np.int64)
    before = np.zeros(200, dtype=np.int64)
    for is_leap in (0, 1):
        days = np.array(_MONTH_DAYS, dtype=np.int64)
        days[1] += is_leap
        month_days[is_leap * 100 + 1 : is_leap * 100 + 13] = days
        before[is_leap * 100 + 1 : is_leap * 100 + 13] = np.cumsum(days) - days
    return month_days, before, new_year, leap
