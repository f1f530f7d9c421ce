"""A job's duration is its running time; the time it sat paused or waited for a runner is kept
apart (on SQLite and PostgreSQL), and jobs recorded before the store kept it read as they did."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from batchyard.store import Store
from batchyard.store.models import Job, JobStatus, new_job_id, utcnow
from batchyard.store.schema import jobs
from batchyard.store.store import _MIGRATIONS, HEAD_REVISION

#: Long enough to tell apart on a busy machine; what each stretch is shown to last is checked
#: one-sidedly (at least what it slept, and never the other stretches' sleeps).
NAP = 0.3


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    yield s
    s.close()


def new_job(store: Store) -> Job:
    job = Job(id=new_job_id("k", "dev"), kind="k", env="dev", status=JobStatus.PENDING)
    return store.create_job(job, (("a", "1"), ("b", "2")))


def test_paused_and_queued_time_are_kept_apart_from_running_time(store: Store) -> None:
    job = new_job(store)
    time.sleep(NAP)  # queued
    store.set_status(job.id, JobStatus.RUNNING)
    time.sleep(NAP)  # running
    store.set_status(job.id, JobStatus.PAUSED)

    paused = store.get_job(job.id)
    ran = paused.duration
    assert ran is not None and ran >= NAP
    time.sleep(NAP)  # paused
    again = store.get_job(job.id)
    # A paused job's duration stands still; its paused time grows.
    assert again.duration == ran
    assert again.paused_time is not None and again.paused_time >= NAP
    assert again.to_dict()["duration_s"] == round(ran, 3)

    store.set_status(job.id, JobStatus.RUNNING)
    time.sleep(NAP)  # running
    store.set_status(job.id, JobStatus.COMPLETED)
    done = store.get_job(job.id)
    assert done.started_at is not None and done.finished_at is not None
    assert done.created_at is not None
    assert done.duration is not None and done.paused_time is not None
    assert done.queued_time is not None
    wall = (done.finished_at - done.created_at).total_seconds()
    started_to_finished = (done.finished_at - done.started_at).total_seconds()
    # Working time: the two running naps, not the pause between them nor the wait before.
    assert 2 * NAP <= done.duration <= started_to_finished - NAP
    assert NAP <= done.paused_time <= started_to_finished - 2 * NAP
    assert NAP <= done.queued_time <= wall - 3 * NAP
    # The three make up the job's whole life, from creation to its end.
    assert done.duration + done.paused_time + done.queued_time == pytest.approx(wall, abs=0.01)
    time.sleep(0.05)
    assert store.get_job(job.id).duration == done.duration  # a finished job's stays put
    shown = done.to_dict()
    assert shown["paused_s"] == round(done.paused_time, 3)
    assert shown["queued_s"] == round(done.queued_time, 3)
    assert "run_s" not in shown


def test_stats_count_running_time_only(store: Store) -> None:
    job = new_job(store)
    store.set_status(job.id, JobStatus.RUNNING)
    store.set_status(job.id, JobStatus.PAUSED)
    time.sleep(NAP)
    store.set_status(job.id, JobStatus.RUNNING)
    store.set_status(job.id, JobStatus.COMPLETED)
    stats = store.stats()
    assert stats["duration_p50_s"] is not None and stats["duration_p50_s"] < NAP
    (group,) = stats["by_kind_env"]
    assert group["duration_p95_s"] < NAP
    assert store.metric_totals()["p95"] < NAP
    timeline = store.timeline(utcnow() - timedelta(hours=1), 3600)
    assert timeline and timeline[0]["duration_p50_s"] < NAP


def test_a_job_left_running_by_a_dead_runner_worked_until_its_last_heartbeat(
    store: Store,
) -> None:
    job = new_job(store)
    assert store.acquire_lease(job.id, "dead-runner", 0.2, observed_owner=None, stale=False)
    store.set_status(job.id, JobStatus.RUNNING)
    time.sleep(NAP)
    assert store.heartbeat(job.id, "dead-runner", 0.2)[0]  # its last beat
    time.sleep(NAP)  # it died: its lease runs out
    stale = store.get_job(job.id)
    assert stale.status is JobStatus.RUNNING and stale.status_since is not None
    ran = stale.duration
    since_it_started = (utcnow() - stale.status_since).total_seconds()
    # It worked one nap, to its last heartbeat; the nap after that does not count.
    assert ran is not None and NAP <= ran <= since_it_started - NAP
    time.sleep(0.05)
    assert store.get_job(job.id).duration == ran  # not growing while nobody works on it

    assert store.acquire_lease(job.id, "new-runner", 30, observed_owner="dead-runner", stale=True)
    taken = store.get_job(job.id)
    # What the dead runner did, and (running again) what the new one has done since it took over.
    assert taken.run_s == pytest.approx(ran, abs=0.001)
    assert taken.duration is not None and ran <= taken.duration < ran + NAP
    assert taken.queued_time is not None and taken.queued_time >= NAP  # waiting for a runner
    store.set_status(job.id, JobStatus.RUNNING)
    store.set_status(job.id, JobStatus.COMPLETED)
    done = store.get_job(job.id)
    assert done.duration is not None and done.duration < ran + NAP


def test_jobs_recorded_before_the_times_were_kept_read_as_before(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    engine = sa.create_engine(url)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0005")
    start = utcnow() - timedelta(seconds=100)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO by_jobs (id, kind, env, status, created_at, started_at, finished_at)"
                " VALUES ('old', 'k', 'dev', 'completed', :c, :s, :f),"
                " ('older', 'k', 'dev', 'running', :c, :s, NULL)"
            ),
            {"c": start, "s": start, "f": start + timedelta(seconds=42)},
        )
    engine.dispose()
    with Store.open(url) as store:
        old = store.get_job("old")
        assert old.duration == pytest.approx(42)
        assert (old.paused_time, old.queued_time) == (None, None)
        assert old.to_dict()["paused_s"] is None
        assert store.stats()["duration_p50_s"] == pytest.approx(42)
        # A running job from before: its times start being kept at its next change.
        store.set_status("older", JobStatus.PAUSED)
        older = store.get_job("older")
        assert older.duration is not None and older.duration >= 100
        assert older.paused_time is not None and older.paused_time < 5
        with store.engine.connect() as conn:
            version = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            assert version == HEAD_REVISION
            assert conn.execute(sa.select(jobs.c.run_s).where(jobs.c.id == "old")).scalar() is None
