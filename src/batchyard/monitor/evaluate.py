"""Thresholds and trends: how a value stands against its bounds and against its own past."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from batchyard.monitor.spec import Threshold
from batchyard.store.models import Observation, ObservationStatus

BASELINE_WINDOW = {"24h": timedelta(hours=24), "7d": timedelta(days=7)}
#: A change smaller than this (in %) is "flat".
FLAT_PCT = 1.0


def baseline(history: Sequence[Observation], which: str, now: datetime) -> float | None:
    """The previous value, or the median of the values of the last 24 h or 7 days."""
    values = [o for o in history if o.value is not None]
    if not values:
        return None
    if which == "previous":
        return values[-1].value
    since = now - BASELINE_WINDOW[which]
    window = [o.value for o in values if o.observed_at >= since and o.value is not None]
    return statistics.median(window) if window else None


def trips(t: Threshold, value: float, history: Sequence[Observation], now: datetime) -> bool:
    compared: float | None = value
    if t.compare != "value":
        base = baseline(history, t.baseline, now)
        if base is None:
            return False  # nothing to compare with yet
        compared = value - base
        if t.compare == "change_pct":
            if base == 0:
                return False
            compared = 100.0 * compared / abs(base)
    assert compared is not None
    if t.above is not None:
        return compared > t.above
    if t.below is not None:
        return compared < t.below
    assert t.outside is not None
    return not t.outside[0] <= compared <= t.outside[1]


def status(
    thresholds: Sequence[Threshold],
    value: float | None,
    history: Sequence[Observation],
    now: datetime,
) -> tuple[ObservationStatus, str | None]:
    """The worst level among the thresholds ``value`` trips, and which one."""
    if value is None:
        return ObservationStatus.OK, None
    worst: Threshold | None = None
    for t in thresholds:
        if trips(t, value, history, now) and (worst is None or t.level == "fail"):
            worst = t
            if t.level == "fail":
                break
    if worst is None:
        return ObservationStatus.OK, None
    return ObservationStatus(worst.level), worst.describe()


def trend(
    history: Sequence[Observation], window: timedelta, better: str, now: datetime
) -> dict[str, Any]:
    """The latest value against the one ``window`` ago (or the oldest, if at least half a
    window old): % change, direction (flat under 1%), and whether that is better or worse."""
    values = [o for o in history if o.value is not None]
    if not values:
        return {"change_pct": None, "direction": None, "verdict": None}
    latest = values[-1]
    target = now - window
    earlier = [o for o in values if o.observed_at <= target]
    # With less history than the window, the oldest value stands in if it is half a window old.
    oldest = values[0] if values[0].observed_at <= now - window / 2 else None
    past = earlier[-1] if earlier else (oldest if oldest is not latest else None)
    if past is None or past.value is None or latest.value is None:
        return {"change_pct": None, "direction": None, "verdict": None}
    if past.value == 0:
        change = 0.0 if latest.value == 0 else None
    else:
        change = round(100.0 * (latest.value - past.value) / abs(past.value), 2)
    if change is None:
        direction = "up" if latest.value > 0 else "down"
    else:
        direction = "flat" if abs(change) < FLAT_PCT else ("up" if change > 0 else "down")
    verdict = "steady" if direction == "flat" else ("better" if direction == better else "worse")
    return {
        "change_pct": change,
        "direction": direction,
        "verdict": verdict,
        "from": past.value,
        "since": past.observed_at.isoformat(),
    }
