"""Is this value an anomaly? A robust, seasonal detector over a trailing window.

The expected value comes from the same hour of earlier days (``daily``) or the same hour and
weekday of earlier weeks (``weekly``): each earlier value is moved by how much the level (the
median over one period) has changed since, and the median of those is the expectation. How far a
value may stray is the median absolute deviation of recent residuals, scaled to a standard
deviation (x 1.4826), so one wild value moves neither. A value more than ``sensitivity`` of those
from its expectation is an anomaly.

Earlier anomalies stay out of the baseline: their expected value stands in for them. When
three in four of ``adapt_after`` values in a row are anomalies on the same side the series has moved to a new level: that
value is taken as normal, and the history before the jump is moved by the jump, so the next
values are judged against the new level instead of being flagged for ever.

:func:`mean_std` is the plain mean +/- k standard deviations of the trailing values: the
baseline the robust detector is measured against (``bench/anomaly.py``).
"""

from __future__ import annotations

import bisect
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

DAY = 86400.0
WEEK = 7 * DAY
#: Median absolute deviation to standard deviation, for normal noise.
MAD_SIGMA = 1.4826
#: How far (in robust standard deviations) a value that is no anomaly moves the baseline.
CLIP = 2.5
#: Residuals needed to tell how far values stray (before that, nothing is judged).
MIN_RESIDUALS = 12


@dataclass(frozen=True)
class Point:
    """A value of a series as the detector keeps it."""

    at: float  # seconds since the epoch
    value: float
    expected: float | None = None
    anomaly: bool = False
    score: float | None = None
    #: The value where the series moved to a new level (taken as normal from then on).
    shift: bool = False


@dataclass(frozen=True)
class Judgement:
    expected: float | None
    score: float | None
    anomaly: bool
    shift: bool = False
    #: Why there is no judgement (too little history), or what was decided.
    note: str | None = None


class Detector:
    """Judges one value against the history of its series."""

    def __init__(
        self,
        *,
        sensitivity: float = 4.0,
        min_history: int = 24,
        window: float = 35 * DAY,
        seasonality: str = "auto",
        adapt_after: int = 24,
    ) -> None:
        self.sensitivity = sensitivity
        self.min_history = min_history
        self.window = window
        self.seasonality = seasonality
        self.adapt_after = adapt_after

    def judge(self, history: Sequence[Point], at: float, value: float) -> Judgement:
        """``value`` at ``at`` against ``history`` (earlier points of the series, oldest first)."""
        points = [p for p in history if at - self.window <= p.at < at]
        if len(points) < self.min_history:
            return Judgement(None, None, False, note=f"{len(points)} of {self.min_history} needed")
        times = [p.at for p in points]
        clean = _cleaned(points, self.adapt_after)
        period = self._period(times, at)
        expected = _predict(times, clean, at, period)
        if expected is None:
            period = None  # not a whole earlier period yet: the recent median
            expected = _predict(times, clean, at, period)
        if expected is None:
            return Judgement(None, None, False, note="no comparable history")
        scale = self._scale(points, times, clean, period)
        if scale is None:
            return Judgement(None, None, False, note="too few comparable values yet")
        score = (value - expected) / scale
        anomaly = abs(score) > self.sensitivity
        if anomaly and self._run(points, score):
            return Judgement(expected, round(score, 3), False, shift=True, note="new level")
        return Judgement(expected, round(score, 3), anomaly)

    def _period(self, times: list[float], at: float) -> float | None:
        span = at - times[0]
        if self.seasonality == "weekly" or (self.seasonality == "auto" and span >= 3 * WEEK):
            return WEEK if span >= 2 * WEEK else (DAY if span >= 2 * DAY else None)
        if self.seasonality in ("daily", "auto") and span >= 2 * DAY:
            return DAY
        return None

    def _scale(
        self, points: list[Point], times: list[float], clean: list[float], period: float | None
    ) -> float | None:
        """The spread of residuals: stored ones where there are enough, else computed now the
        same way (None while fewer than ``MIN_RESIDUALS`` values can be)."""
        residuals = [
            p.value - p.expected for p in points[-336:] if p.expected is not None and not p.anomaly
        ]
        if len(residuals) < 48:
            residuals = []
            for i in range(max(len(points) - 48, 1), len(points)):
                guess = _predict(times[:i], clean[:i], times[i], period)
                if guess is not None:
                    residuals.append(points[i].value - guess)
        if len(residuals) < MIN_RESIDUALS:
            return None
        center = statistics.median(residuals)
        mad = statistics.median(abs(r - center) for r in residuals) * MAD_SIGMA
        mean_abs = statistics.fmean(abs(r - center) for r in residuals) * 1.2533
        level = abs(statistics.median(clean[-24:]))
        return max(mad, 0.5 * mean_abs, level * 1e-4, 1e-9)

    def _run(self, points: list[Point], score: float) -> bool:
        """True when most (3 in 4) of the ``adapt_after - 1`` values before were anomalies on
        the same side: the series has moved, not strayed."""
        need = self.adapt_after - 1
        tail = points[-need:] if need else []
        if len(tail) < need:
            return False
        same = sum(
            1
            for p in tail
            if p.anomaly and p.expected is not None and (p.value - p.expected) * score > 0
        )
        return same * 4 >= need * 3


def _cleaned(points: Sequence[Point], adapt_after: int) -> list[float]:
    """Values with anomalies replaced by their expectation, and earlier history moved to each
    new level the series took."""
    clean: list[float] = []
    for i, p in enumerate(points):
        if p.shift and p.expected is not None:
            start = max(i - adapt_after + 1, 0)
            moved = [
                q.value - q.expected
                for q in points[start:i]
                if q.anomaly and q.expected is not None
            ]
            jump = statistics.median([*moved, p.value - p.expected])
            clean = [c + jump for c in clean[:start]] + [q.value for q in points[start : i + 1]]
        elif p.anomaly and p.expected is not None:
            clean.append(p.expected)
        elif p.expected is not None and p.score is not None and abs(p.score) > CLIP:
            # Not an anomaly, yet far off: it counts, but only as far as CLIP.
            clean.append(p.expected + (p.value - p.expected) * CLIP / abs(p.score))
        else:
            clean.append(p.value)
    return clean


def _level(times: list[float], clean: list[float], end: float, period: float) -> float | None:
    """The median over the period before ``end``; None unless history covers all of it (a
    part of a seasonal period is no level)."""
    lo = bisect.bisect_right(times, end - period)
    hi = bisect.bisect_left(times, end)
    if hi <= lo or times[lo] - (end - period) > period / 12:
        return None
    return statistics.median(clean[lo:hi])


def _near(times: list[float], at: float, tolerance: float) -> int | None:
    i = bisect.bisect_left(times, at)
    best = min(
        (j for j in (i - 1, i) if 0 <= j < len(times)),
        key=lambda j: abs(times[j] - at),
        default=None,
    )
    return best if best is not None and abs(times[best] - at) <= tolerance else None


def _predict(
    times: list[float], clean: list[float], at: float, period: float | None
) -> float | None:
    """The expected value at ``at`` from the cleaned history before it: seasonal with a
    ``period`` (None when no earlier period can be compared), else the recent median."""
    if not times:
        return None
    if period is None:
        return statistics.median(clean[-24:])
    now_level = _level(times, clean, at, period)
    if now_level is None:
        return None
    spacing = statistics.median(b - a for a, b in zip(times[-25:], times[-24:], strict=False))
    tolerance = min(max(spacing / 2, 60.0), period / 24)
    candidates = []
    for k in range(1, 5 if period == WEEK else 8):
        j = _near(times, at - k * period, tolerance)
        if j is None:
            continue
        then = _level(times, clean, at - k * period, period)
        if then is None:
            break
        candidates.append(clean[j] + now_level - then)
    return statistics.median(candidates) if candidates else None


def mean_std(values: Sequence[float], value: float, k: float = 3.0) -> bool:
    """The baseline: ``value`` is an anomaly when it is more than ``k`` standard deviations
    from the mean of ``values`` (the trailing window)."""
    if len(values) < 2:
        return False
    mean = statistics.fmean(values)
    spread = statistics.stdev(values)
    return abs(value - mean) > k * spread if spread > 0 else value != mean
