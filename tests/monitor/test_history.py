"""Metric history in the store (SQLite and PostgreSQL): observations recorded, replaced by a
retried check, read back per series; anomalies found against a seasonal history and kept out of
the baseline; trends judged by which way is better; the observation seam."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from batchyard.config import load_settings
from batchyard.db import ENGINES
from batchyard.monitor import hooks, spec
from batchyard.monitor.evaluate import trend
from batchyard.monitor.observe import observe
from batchyard.store import Store
from batchyard.store.models import Observation, ObservationStatus

START = datetime(2024, 3, 4, tzinfo=UTC)  # a Monday


@pytest.fixture
def store(store_url: str) -> Store:
    opened = Store.open(store_url)
    yield opened
    opened.close()
    ENGINES.dispose()


def _obs(at: datetime, value: float, **kw: object) -> Observation:
    return Observation(monitor="m", metric="x.rows", value=value, observed_at=at, **kw)  # type: ignore[arg-type]


def test_record_latest_and_replace(store: Store) -> None:
    store.record_observations([_obs(START, 1.0), _obs(START, 5.0, labels={"column": "a"})])
    store.record_observations([_obs(START + timedelta(hours=1), 2.0)], job_id="j1", monitor="m")
    # the same job's check again (a retried item): its rows replace the earlier ones
    store.record_observations(
        [_obs(START + timedelta(hours=1), 3.0, status=ObservationStatus.WARN, details={"n": [1]})],
        job_id="j1",
        monitor="m",
    )
    latest = {(o.metric, tuple(o.labels.items())): o for o in store.latest_observations()}
    assert latest[("x.rows", ())].value == 3.0
    assert latest[("x.rows", ())].status is ObservationStatus.WARN
    assert latest[("x.rows", ())].details == {"n": [1]}
    assert latest[("x.rows", (("column", "a"),))].value == 5.0
    series = store.observations(monitor="m", metric="x.rows", labels={})
    assert [o.value for o in series] == [1.0, 3.0]
    assert [o.value for o in store.observations(job_id="j1")] == [3.0]
    assert store.delete_observations(START + timedelta(minutes=30)) == 2
    assert [o.value for o in store.observations()] == [3.0]


MONITOR = """\
metrics:
  - name: x
    type: sql
    connection: "sqlite:///{db}"
    query: "SELECT v FROM t"
    anomaly: {{sensitivity: 4, min_history: 48, seasonality: daily}}
    thresholds:
      - {{above: 10000, level: fail}}
"""


def _seasonal(hour: int, rnd: random.Random) -> float:
    return 1000 + 300 * math.sin(2 * math.pi * hour / 24) + rnd.gauss(0, 10)


def test_anomalies_against_a_daily_cycle(tmp_path: Path, store: Store) -> None:
    import sqlite3

    db = tmp_path / "v.db"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE t (v REAL)")
        con.execute("INSERT INTO t VALUES (0)")
    con.close()
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "m.yaml").write_text(MONITOR.format(db=db))
    settings = load_settings(tmp_path)
    (monitor,) = spec.pick(tmp_path, ["m"])
    rnd = random.Random(5)
    seen: list[Observation] = []

    class Sink:
        def on_observation(self, observation: Observation, store: Store) -> None:
            seen.append(observation)

    sink = hooks.add_sink(Sink())
    try:
        flagged = []
        for hour in range(24 * 6):
            value = _seasonal(hour, rnd)
            if hour in (100, 101, 102):
                value += 400  # three hours well off the cycle
            with sqlite3.connect(db) as con:
                con.execute("UPDATE t SET v = ?", (value,))
            con.close()
            (obs,) = observe(monitor, settings, store, now=START + timedelta(hours=hour))
            if obs.anomaly:
                flagged.append(hour)
    finally:
        hooks.remove_sink(sink)
    assert flagged == [100, 101, 102]
    assert len(seen) == 24 * 6 and sum(o.failing for o in seen) == 3
    # a swing of 600 a day is normal here: the peak and the trough were never flagged
    history = store.observations(monitor="m")
    anomalies = [o for o in history if o.anomaly]
    assert all(o.expected is not None and abs(o.value - o.expected) > 300 for o in anomalies)  # type: ignore[operator]
    # the anomalies stayed out of the baseline: the next day's same hours were expected normal
    after = {o.observed_at: o for o in history}
    for hour in (124, 125, 126):
        o = after[START + timedelta(hours=hour)]
        assert o.expected is not None and abs(o.expected - _seasonal(hour, random.Random(0))) < 80


def test_trend_direction_and_verdict() -> None:
    now = START + timedelta(days=8)
    history = [_obs(START, 100.0), _obs(now - timedelta(hours=25), 200.0), _obs(now, 150.0)]
    t = trend(history, timedelta(hours=24), "up", now)
    assert (t["change_pct"], t["direction"], t["verdict"]) == (-25.0, "down", "worse")
    t = trend(history, timedelta(hours=24), "down", now)
    assert t["verdict"] == "better"
    t = trend(history, timedelta(days=7), "up", now)
    assert (t["change_pct"], t["verdict"]) == (50.0, "better")
    flat = trend([_obs(START, 100.0), _obs(now, 100.5)], timedelta(days=7), "up", now)
    assert (flat["direction"], flat["verdict"]) == ("flat", "steady")
