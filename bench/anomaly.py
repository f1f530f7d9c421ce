"""Anomaly detection: the monitor's robust seasonal detector against mean +/- 3 standard deviations.

A synthetic hourly series, made here with a fixed seed: 60 days of a daily cycle, a weekday cycle
(quieter weekends), a rising trend and noise, with 30 planted anomalies of several sizes: single
spikes and dips, short bursts, level shifts that come back after hours, and one level shift that
stays. Both methods judge every hour from day 22 on (three weeks of history first) and are scored
per event: a planted anomaly is found if any hour of it is flagged; a flagged run of hours that
touches no planted anomaly is a false alarm.

    python bench/anomaly.py [--seeds N]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from batchyard.monitor.anomaly import Detector, Point, mean_std

HOURS = 60 * 24
START = datetime(2024, 1, 1, tzinfo=UTC).timestamp()  # a Monday
JUDGED_FROM = 21 * 24
NOISE = 20.0


@dataclass(frozen=True)
class Planted:
    start: int
    length: int
    size: float
    kind: str


def series(seed: int) -> tuple[list[float], list[Planted]]:
    """The series and its planted anomalies (hour index, length, size, kind)."""
    rnd = random.Random(seed)
    values = []
    for t in range(HOURS):
        hour, weekday = t % 24, (t // 24) % 7
        daily = 150.0 * (1 - abs(hour - 14) / 12) if 2 <= hour <= 26 else 0.0
        weekly = -120.0 if weekday >= 5 else (40.0 if weekday == 4 else 0.0)
        values.append(1000.0 + 0.5 * t + daily + weekly + rnd.gauss(0, NOISE))
    kinds = ["spike"] * 10 + ["dip"] * 8 + ["burst"] * 6 + ["plateau"] * 5 + ["shift"]  # 30 in all
    planted: list[Planted] = []
    rnd.shuffle(kinds)
    kinds.remove("shift")
    kinds.append("shift")
    slot = (HOURS - 8 * 24 - JUDGED_FROM - 24) // 29  # the last week runs at a new level
    for n, kind in enumerate(kinds):
        length = {"spike": 1, "dip": 1, "burst": 3, "plateau": rnd.randint(4, 10), "shift": 24}[
            kind
        ]
        if kind == "shift":
            start = HOURS - 8 * 24
        else:
            start = JUDGED_FROM + 12 + n * slot + rnd.randint(0, slot - length - 6)
        sigmas = rnd.choice([6, 8, 12, 20]) if kind in ("spike", "dip") else rnd.choice([6, 8, 10])
        size = (
            sigmas
            * NOISE
            * (-1 if kind == "dip" or (kind != "spike" and rnd.random() < 0.4) else 1)
        )
        end = HOURS if kind == "shift" else start + length
        for t in range(start, end):
            values[t] += size
        planted.append(Planted(start, length, size, kind))
    return values, sorted(planted, key=lambda p: p.start)


def robust(values: list[float]) -> tuple[list[bool], float]:
    detector = Detector(
        sensitivity=4.0, min_history=JUDGED_FROM, seasonality="auto", adapt_after=24
    )
    history: list[Point] = []
    flags = []
    started = time.perf_counter()
    for t, value in enumerate(values):
        at = START + t * 3600
        j = detector.judge(history, at, value)
        history.append(Point(at, value, j.expected, j.anomaly, j.score, j.shift))
        if len(history) > 24 * 40:
            history = history[-24 * 36 :]
        flags.append(j.anomaly)
    return flags, time.perf_counter() - started


def baseline(values: list[float]) -> list[bool]:
    return [t >= 24 and mean_std(values[t - 24 : t], values[t], 3.0) for t in range(len(values))]


def score(flags: list[bool], planted: list[Planted]) -> dict[str, float]:
    """Event-level precision, recall and F1 over the judged hours."""
    windows = [(p.start, p.start + p.length) for p in planted]
    runs: list[tuple[int, int]] = []
    for t in range(JUDGED_FROM, HOURS):
        if flags[t]:
            if runs and runs[-1][1] == t:
                runs[-1] = (runs[-1][0], t + 1)
            else:
                runs.append((t, t + 1))

    def touches(a: tuple[int, int], b: tuple[int, int]) -> bool:
        return a[0] < b[1] and b[0] < a[1]

    found = sum(1 for w in windows if any(touches(w, r) for r in runs))
    true_runs = sum(1 for r in runs if any(touches(w, r) for w in windows))
    precision = true_runs / len(runs) if runs else 1.0
    recall = found / len(windows)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "alarms": len(runs),
        "false": len(runs) - true_runs,
        "found": found,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="How many seeded series to run.")
    args = parser.parse_args()
    ok = True
    print(f"{'seed':>4}  {'method':<22} {'precision':>9} {'recall':>7} {'F1':>6}  alarms (false)")
    for seed in range(1, args.seeds + 1):
        values, planted = series(seed)
        flags, seconds = robust(values)
        ours = score(flags, planted)
        theirs = score(baseline(values), planted)
        for name, s in (
            (f"robust seasonal ({seconds:.1f}s)", ours),
            ("mean +/- 3 sd, 24 h", theirs),
        ):
            print(
                f"{seed:>4}  {name:<22} {s['precision']:>9.3f} {s['recall']:>7.3f} {s['f1']:>6.3f}"
                f"  {s['alarms']:.0f} ({s['false']:.0f}); found {s['found']:.0f}/{len(planted)}"
            )
        passed = ours["precision"] >= 0.9 and ours["recall"] >= 0.9 and ours["f1"] > theirs["f1"]
        ok = ok and passed
    print(
        "goal: precision >= 0.9, recall >= 0.9, F1 above the baseline:", "met" if ok else "NOT met"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
