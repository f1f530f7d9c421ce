"""The store on SQLite and PostgreSQL: schema, queries, leases and housekeeping."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from batchyard.engine.runner import HOST, owner_is_dead
from batchyard.errors import Conflict, NotFound
from batchyard.store import JobFilter, Outcome, Store
from batchyard.store.models import ItemStatus, Job, JobStatus, new_job_id, utcnow
from batchyard.store.schema import metadata


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store.open(store_url)
    yield s
    s.close()


def make_job(store: Store, n: int = 3, **fields: object) -> Job:
    kind = str(fields.pop("kind", "k"))
    env = str(fields.pop("env", "dev"))
    job = Job(
        id=new_job_id(kind, env),
        kind=kind,
        env=env,
        status=JobStatus.PENDING,
        name=str(fields.pop("name", kind)),
        created_at=fields.pop("created_at", utcnow()),
        **fields,
    )  # type: ignore[arg-type]
    return store.create_job(job, ((str(i), str(i)) for i in range(n)))


def test_migrated_schema_matches_the_models(store: Store) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    # Opening again does not migrate again.
    again = Store.open(store.url)
    again.close()


def test_claim_and_commit_keep_counters_consistent(store: Store) -> None:
    job = make_job(store, 5)
    claimed = store.claim(job.id, after=-1, limit=3)
    assert [c.key for c in claimed] == ["0", "1", "2"]
    assert store.item_counts(job.id) == {"running": 3, "pending": 2}
    now = utcnow()
    store.commit(
        job.id,
        [
            Outcome(
                "0",
                ItemStatus.DONE,
                result={"x": 1},
                started_at=now,
                finished_at=now,
                rows_written=7,
            ),
            Outcome("1", ItemStatus.FAILED, error="E: boom", started_at=now, finished_at=now),
            Outcome("2", ItemStatus.PENDING, interrupted=True),
        ],
    )
    got = store.get_job(job.id)
    assert (got.done, got.failed, got.rows_written) == (1, 1, 7)
    items = {i.key: i for i in store.list_items(job.id, limit=None)[0]}
    assert items["0"].result == {"x": 1} and items["0"].attempts == 1
    assert items["2"].status is ItemStatus.PENDING and items["2"].attempts == 0
    assert [c.key for c in store.claim(job.id, after=2, limit=10)] == ["3", "4"]
    assert store.reset_running(job.id) == 2
    assert store.item_counts(job.id) == {"done": 1, "failed": 1, "pending": 3}


def test_list_filters_sorts_and_pages(store: Store) -> None:
    old = utcnow() - timedelta(days=10)
    a = make_job(store, kind="collect", env="prod", tags=["nightly"], created_at=old)
    b = make_job(store, kind="collect", env="test")
    c = make_job(store, kind="migrate", env="prod", name="move season")
    store.set_status(b.id, JobStatus.RUNNING)
    store.set_status(c.id, JobStatus.COMPLETED)

    assert store.list_jobs()[1] == 3
    assert [j.id for j in store.list_jobs()[0]] == [c.id, b.id, a.id]
    assert [j.id for j in store.list_jobs(JobFilter(kind="collect"))[0]] == [b.id, a.id]
    assert [j.id for j in store.list_jobs(JobFilter(env="prod"))[0]] == [c.id, a.id]
    assert [j.id for j in store.list_jobs(JobFilter(status=("running",)))[0]] == [b.id]
    assert [j.id for j in store.list_jobs(JobFilter(tag="nightly"))[0]] == [a.id]
    assert [j.id for j in store.list_jobs(JobFilter(search="SEASON"))[0]] == [c.id]
    page, total = store.list_jobs(limit=1, offset=1)
    assert total == 3 and [j.id for j in page] == [b.id]
    assert store.list_jobs(order="created_at")[0][0].id == a.id
    assert store.list_jobs(JobFilter(created_after=utcnow() - timedelta(days=1)))[1] == 2
    assert store.find_job(c.id[:-2]).id == c.id
    with pytest.raises(NotFound):
        store.find_job("nope")


def test_delete_and_cleanup(store: Store) -> None:
    old = make_job(store, created_at=utcnow() - timedelta(days=9))
    recent = make_job(store)
    running = make_job(store, created_at=utcnow() - timedelta(days=9))
    store.set_status(old.id, JobStatus.COMPLETED)
    store.set_status(recent.id, JobStatus.FAILED)
    store.set_status(running.id, JobStatus.RUNNING)
    store.log(old.id, "hello")
    with pytest.raises(Conflict, match="cancel it first"):
        store.delete_job(running.id)
    assert store.cleanup(utcnow() - timedelta(days=7)) == [old.id]
    assert store.list_items(old.id)[1] == 0 and store.events(old.id) == []
    store.delete_job(recent.id)
    assert [j.id for j in store.list_jobs()[0]] == [running.id]


def test_lease_refuses_a_live_owner_and_takes_a_dead_or_expired_one(store: Store) -> None:
    job = make_job(store)
    me = f"{HOST}:{os.getpid()}:aaaa"
    assert store.acquire_lease(job.id, me, 30, observed_owner=None, stale=False)
    assert not store.acquire_lease(job.id, "x:1:b", 30, observed_owner=me, stale=False)
    assert store.heartbeat(job.id, me, 30, {"items_per_s": 3})[0]
    store.request(job.id, "pause")
    assert store.heartbeat(job.id, me, 30) == (True, "pause")
    # A stale owner (its process is gone) may be taken over at once.
    assert store.acquire_lease(job.id, "x:2:c", 30, observed_owner=me, stale=True)
    assert store.heartbeat(job.id, me, 30) == (False, None)
    # An expired lease is free to anyone.
    store.update_job(job.id, lease_expires_at=utcnow() - timedelta(seconds=1))
    assert store.acquire_lease(job.id, "x:3:d", 30, observed_owner=None, stale=False)


def test_owner_liveness() -> None:
    assert not owner_is_dead(f"{HOST}:{os.getpid()}:0000")
    assert owner_is_dead(f"{HOST}:999999999:0000")
    assert not owner_is_dead("another-host:1:0000")


def test_stats(store: Store) -> None:
    for status in (JobStatus.COMPLETED, JobStatus.COMPLETED, JobStatus.PARTIAL):
        job = make_job(store, kind="collect")
        store.set_status(job.id, JobStatus.RUNNING)
        store.set_status(job.id, status)
    make_job(store, kind="migrate")
    stats = store.stats()
    assert stats["total"] == 4
    assert stats["by_status"] == {"completed": 2, "partial": 1, "pending": 1}
    assert stats["success_rate"] == pytest.approx(2 / 3, abs=1e-3)
    collect = next(g for g in stats["by_kind_env"] if g["kind"] == "collect")
    assert collect["jobs"] == 3 and collect["duration_p50_s"] is not None


def test_read_only_open_writes_nothing(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "missing" / "store.db"
    store = Store.open(f"sqlite:///{path}", create=False)
    assert store.list_jobs()[1] == 0
    store.close()
    assert not path.exists() and not path.parent.exists()


def test_events_page_in_order(store: Store) -> None:
    job = make_job(store)
    for i in range(5):
        store.log(job.id, f"line {i}", item_key=str(i % 2))
    events = store.events(job.id)
    assert [e.message for e in events] == [f"line {i}" for i in range(5)]
    assert [e.message for e in store.events(job.id, after=events[2].id)] == ["line 3", "line 4"]


def test_plain_sql_can_read_the_store(store: Store) -> None:
    job = make_job(store, 2)
    with store.engine.connect() as conn:
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM by_items WHERE job_id = :j"), {"j": job.id}
            ).scalar()
            == 2
        )


def test_a_key_planned_twice_far_apart_is_refused_whole(store: Store) -> None:
    from batchyard.errors import PlanError

    job = Job(
        id=new_job_id("k", "dev"),
        kind="k",
        env="dev",
        status=JobStatus.PENDING,
        created_at=utcnow(),
    )
    planned = [(str(i), "null") for i in range(7000)] + [("42", "null")]
    with pytest.raises(PlanError, match="yields item '42' twice"):
        store.create_job(job, iter(planned))
    assert store.list_jobs()[1] == 0
    assert store.item_counts(job.id) == {}


def test_a_store_of_the_first_schema_upgrades_in_place(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from batchyard.db import create_engine
    from batchyard.store.store import _MIGRATIONS

    engine = create_engine(store_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
        conn.exec_driver_sql(
            "INSERT INTO by_jobs (id, kind, env, status, created_at) "
            "VALUES ('old_dev_1', 'old', 'dev', 'completed', CURRENT_TIMESTAMP)"
        )
    engine.dispose()
    store = Store.open(store_url)
    try:
        job = store.get_job("old_dev_1")
        assert job.status is JobStatus.COMPLETED and job.weight_total == 0
        with store.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        store.close()
