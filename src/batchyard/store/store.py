"""The store: where jobs, items and events live. SQLite by default, PostgreSQL for teams.

All SQL the engine runs is here, one method per query, so it can be read in one place.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from batchyard.db import create_engine, parse_url, reason
from batchyard.errors import (
    AttemptFenced,
    Conflict,
    LeaseLost,
    PlanError,
    StoreError,
)
from batchyard.secrets import mask_url
from batchyard.store import reads
from batchyard.store.hotpath import HotSQL, driver_sql
from batchyard.store.joblist import JobFilter, Query, job_where, page_of_jobs
from batchyard.store.models import (
    FINISHED,
    Event,
    Item,
    ItemStatus,
    Job,
    JobStatus,
    utcnow,
)
from batchyard.store.observations import ObservationQueries
from batchyard.store.reads import HEAD_REVISION
from batchyard.store.schema import events, items, jobs, metadata

__all__ = ["HEAD_REVISION", "Claimed", "JobFilter", "Outcome", "Store"]
_MIGRATIONS = Path(__file__).parent / "migrations"


def _fenced(key: str, attempt: int, what: str) -> AttemptFenced:
    return AttemptFenced(
        f"item {key}: attempt {attempt} timed out or was taken over (by a newer attempt or "
        f"another runner); its {what} is refused and nothing was written"
    )


def _exists(path: Path) -> bool:
    """Whether a SQLite store's file exists; True where a folder on the way cannot be read, so
    that opening it says what is wrong."""
    try:
        return path.exists()
    except OSError:
        return True


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Claimed:
    """An item handed to a runner: what it needs to run it."""

    key: str
    position: int
    value: Any
    attempts: int
    cursor: Any
    weight: int = 0


@dataclass(frozen=True)
class Outcome:
    """How an attempt at an item ended, as the runner commits it."""

    key: str
    status: ItemStatus
    result: Any = None
    error: str | None = None
    traceback: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    rows_read: int = 0
    rows_written: int = 0
    #: True when the attempt did not count (the job stopped before the item ended).
    interrupted: bool = False
    #: Where the attempt ran (``host:pid/thread``, or a Dask worker's address).
    worker: str | None = None


class Store(ObservationQueries):
    """Jobs, items, events and metric history in a SQLite file or a PostgreSQL database."""

    def __init__(self, engine: Engine, url: str) -> None:
        self.engine = engine
        self.url = url
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._hot = HotSQL(engine.dialect.name)
        self._local = threading.local()

    # -- opening ---------------------------------------------------------------------------------

    @classmethod
    def open(cls, url: str, *, create: bool = True, synchronous: str = "normal") -> Store:
        """Open (and migrate) the store at ``url``.

        With ``create=False`` a SQLite store that does not exist yet opens as an empty in-memory
        store, so read-only commands never write a file.
        """
        parsed = parse_url(url, error=StoreError)
        if parsed.get_backend_name() == "sqlite" and not create:
            database = parsed.database or ""
            if database not in ("", ":memory:") and not _exists(Path(database)):
                url = "sqlite://"
        engine = create_engine(url, create=create, synchronous=synchronous)
        store = cls(engine, url)
        try:
            store.migrate()
        except sa.exc.SQLAlchemyError as exc:
            engine.dispose()
            raise StoreError(f"cannot open store {mask_url(url)}: {reason(exc)}") from exc
        return store

    def migrate(self) -> None:
        """Bring the schema to the newest revision (a no-op when it is already there)."""
        with self.engine.connect() as conn:
            insp = sa.inspect(conn)
            if insp.has_table("alembic_version"):
                current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
                if current == HEAD_REVISION:
                    return
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, conn: Connection) -> Query:
        """Runs the SQL text of ``joblist.py`` and ``reads.py`` on ``conn``."""

        def query(sql: str, params: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
            found = conn.exec_driver_sql(driver_sql(sql, sqlite=self.is_sqlite), dict(params))
            return [dict(row) for row in found.mappings()]

        return query

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction; store errors leave as :class:`StoreError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise StoreError(f"store {mask_url(self.url)}: {reason(exc)}") from exc

    # -- jobs ------------------------------------------------------------------------------------

    def create_job(self, job: Job, planned: Iterable[tuple[Any, ...]]) -> Job:
        """Insert a job and its items (``(key, value_json[, weight])``) in one transaction."""
        total = 0
        weight_total = 0
        with self.tx() as conn:
            conn.execute(jobs.insert().values(_job_values(job)))
            batch: list[dict[str, Any]] = []
            for position, (key, value, *rest) in enumerate(planned):
                weight = int(rest[0]) if rest else 0
                weight_total += weight
                batch.append(
                    {
                        "job_id": job.id,
                        "key": key,
                        "position": position,
                        "status": ItemStatus.PENDING.value,
                        "value": value,
                        "weight": weight,
                    }
                )
                if len(batch) >= 5000:
                    total += _insert_items(conn, job.id, batch)
                    batch = []
            if batch:
                total += _insert_items(conn, job.id, batch)
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job.id)
                .values(total=total, weight_total=weight_total)
            )
        return self.get_job(job.id)

    def create_retry_job(self, job: Job, source_id: str, statuses: Sequence[str]) -> Job:
        """Insert ``job`` with copies of the items of ``source_id`` in ``statuses``, renumbered."""
        with self.tx() as conn:
            conn.execute(jobs.insert().values(_job_values(job)))
            src = sa.select(
                sa.literal(job.id),
                items.c.key,
                (sa.func.row_number().over(order_by=items.c.position) - 1),
                sa.literal("pending"),
                items.c.value,
                items.c.weight,
            ).where(items.c.job_id == source_id, items.c.status.in_(list(statuses)))
            conn.execute(
                items.insert().from_select(
                    ["job_id", "key", "position", "status", "value", "weight"], src
                )
            )
            total, weight_total = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(items.c.weight), 0))
                .select_from(items)
                .where(items.c.job_id == job.id)
            ).one()
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job.id)
                .values(total=total, weight_total=weight_total)
            )
        return self.get_job(job.id)

    def get_job(self, job_id: str) -> Job:
        with self.tx() as conn:
            return reads.get_job(self._query(conn), job_id)

    def find_job(self, prefix: str) -> Job:
        """A job by its id, or by a unique prefix of it."""
        with self.tx() as conn:
            return reads.find_job(self._query(conn), prefix)

    def list_jobs(
        self,
        filt: JobFilter = JobFilter(),
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "-created_at",
    ) -> tuple[list[Job], int]:
        """A page of jobs matching ``filt``, newest first by default, and the total that match."""
        with self.tx() as conn:
            rows, total = page_of_jobs(
                self._query(conn),
                filt,
                sqlite=self.is_sqlite,
                limit=limit,
                offset=offset,
                order=order,
            )
        return [Job.from_row(dict(r)) for r in rows], total

    def update_job(self, job_id: str, **values: Any) -> None:
        for key in ("params", "options", "tags", "metadata", "progress"):
            if key in values and not isinstance(values[key], str):
                values[key] = dumps(values[key])
        values["updated_at"] = utcnow()
        with self.tx() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    def set_status(self, job_id: str, status: JobStatus, *, error: str | None = None) -> None:
        """Move the job to ``status``; the stretch in its old status is added to its running,
        paused or queued seconds."""
        now = utcnow()
        values: dict[str, Any] = {"status": status.value, "updated_at": now}
        if status is JobStatus.RUNNING:
            values["started_at"] = sa.func.coalesce(jobs.c.started_at, now)
            values["finished_at"] = None
            values["error"] = None
        if status in FINISHED:
            values["finished_at"] = now
        if error is not None:
            values["error"] = error
        with self.tx() as conn:
            row = conn.execute(
                sa.select(*_TIMES).where(jobs.c.id == job_id).with_for_update()
            ).first()
            if row is not None and row.status != status.value:
                values.update(_close_stretch(row, now))
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values))

    def delete_job(self, job_id: str, *, force: bool = False) -> None:
        job = self.get_job(job_id)
        if not force and not job.status.finished:
            raise Conflict(
                f"job {job_id} is {job.status.value}; cancel it first (`batchyard jobs cancel`)"
            )
        with self.tx() as conn:
            _delete_jobs(conn, [job_id])

    def cleanup(self, older_than: datetime, *, statuses: Sequence[str] = ()) -> list[str]:
        """Delete finished jobs created before ``older_than``; return their ids."""
        wanted = list(statuses) or [s.value for s in FINISHED]
        with self.tx() as conn:
            ids = list(
                conn.execute(
                    sa.select(jobs.c.id).where(
                        jobs.c.created_at < older_than,
                        jobs.c.status.in_(wanted),
                        jobs.c.status.in_([s.value for s in FINISHED]),
                    )
                ).scalars()
            )
            _delete_jobs(conn, ids)
        return ids

    # -- leases ----------------------------------------------------------------------------------

    def acquire_lease(
        self, job_id: str, owner: str, ttl: float, *, observed_owner: str | None, stale: bool
    ) -> bool:
        """Take the job's lease if it is free, expired, or (``stale``) held by ``observed_owner``."""
        now = utcnow()
        cond = [jobs.c.lease_owner.is_(None), jobs.c.lease_expires_at < now]
        if stale and observed_owner is not None:
            cond.append(jobs.c.lease_owner == observed_owner)
        with self.tx() as conn:
            before = conn.execute(
                sa.select(*_TIMES, jobs.c.lease_owner).where(jobs.c.id == job_id)
            ).first()
            result = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, sa.or_(*cond))
                .values(
                    lease_owner=owner,
                    lease_expires_at=now + timedelta(seconds=ttl),
                    heartbeat_at=now,
                    updated_at=now,
                )
            )
            taken = result.rowcount == 1
            if taken and before is not None and _runner_died(before, owner):
                # The job was left running by a runner that stopped: it worked until that
                # runner's last heartbeat, and waited for a runner from then until now.
                conn.execute(
                    jobs.update().where(jobs.c.id == job_id).values(**_close_stretch(before, now))
                )
        return taken

    def heartbeat(
        self, job_id: str, owner: str, ttl: float, progress: dict[str, Any] | None = None
    ) -> tuple[bool, str | None]:
        """Extend the lease; return (still ours, pending control request)."""
        now = utcnow()
        values: dict[str, Any] = {
            "lease_expires_at": now + timedelta(seconds=ttl),
            "heartbeat_at": now,
            "updated_at": now,
        }
        if progress is not None:
            values["progress"] = dumps(progress)
        with self.tx() as conn:
            result = conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.lease_owner == owner)
                .values(**values)
            )
            if result.rowcount != 1:
                return False, None
            control = conn.execute(sa.select(jobs.c.control).where(jobs.c.id == job_id)).scalar()
        return True, control

    def release_lease(self, job_id: str, owner: str) -> None:
        with self.tx() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None, control=None)
            )

    def request(self, job_id: str, control: str | None) -> None:
        """Ask the runner holding the job to ``cancel`` or ``pause`` at its next heartbeat."""
        with self.tx() as conn:
            conn.execute(jobs.update().where(jobs.c.id == job_id).values(control=control))

    # -- items -----------------------------------------------------------------------------------

    def step(
        self,
        job_id: str,
        outcomes: Sequence[Outcome] = (),
        *,
        after: int = -1,
        limit: int = 0,
        keys: Sequence[str] = (),
        owner: str | None = None,
    ) -> list[Claimed]:
        """The runner's checkpoint: in one transaction, record ``outcomes`` (with the job's
        counters), then mark running the pending ``keys`` (retries now due) and up to ``limit``
        pending items past position ``after``. Returns the items claimed, in that order.

        Given the runner's ``owner``, only while it holds the job's lease: else
        :class:`LeaseLost`, and nothing is recorded or claimed.
        """
        hot = self._hot
        now = utcnow()
        claimed: list[Claimed] = []
        try:
            with self.engine.begin() as conn:
                if outcomes or owner is not None:
                    self._record(conn, job_id, outcomes, owner)
                rows: list[Any] = []
                for key in keys:
                    rows.extend(conn.exec_driver_sql(hot.select_key, {"j": job_id, "k": key}).all())
                if limit > 0:
                    rows.extend(
                        conn.exec_driver_sql(
                            hot.select_pending, {"j": job_id, "after": after, "n": limit}
                        ).all()
                    )
                if rows:
                    conn.exec_driver_sql(
                        hot.mark_running,
                        [{"j": job_id, "k": r[0], "now": hot.ts(now)} for r in rows],
                    )
                claimed = [
                    Claimed(r[0], r[1], _loads(r[2]), r[3] + 1, _loads(r[4]), int(r[5] or 0))
                    for r in rows
                ]
        except sa.exc.OperationalError as exc:
            raise StoreError(f"store {mask_url(self.url)}: {reason(exc)}") from exc
        return claimed

    def claim(self, job_id: str, *, after: int, limit: int) -> list[Claimed]:
        """Mark up to ``limit`` pending items past position ``after`` running, in order."""
        return self.step(job_id, after=after, limit=limit)

    def commit(self, job_id: str, outcomes: Sequence[Outcome]) -> None:
        """Record outcomes and the job's counters in one transaction: the checkpoint."""
        if outcomes:
            self.step(job_id, outcomes)

    def _record(
        self, conn: Connection, job_id: str, outcomes: Sequence[Outcome], owner: str | None
    ) -> None:
        hot = self._hot
        counts = {"done": 0, "failed": 0, "skipped": 0, "cancelled": 0}
        rows_read = rows_written = 0
        params = []
        for o in outcomes:
            status = o.status.value
            if status in counts:
                counts[status] += 1
            rows_read += o.rows_read
            rows_written += o.rows_written
            duration = (
                (o.finished_at - o.started_at).total_seconds()
                if o.finished_at and o.started_at
                else None
            )
            params.append(
                {
                    "j": job_id,
                    "k": o.key,
                    "s": status,
                    "r": dumps(o.result) if o.result is not None else None,
                    "e": o.error,
                    "tb": o.traceback,
                    "f": hot.ts(o.finished_at) if o.status is not ItemStatus.PENDING else None,
                    "d": duration,
                    "rr": o.rows_read,
                    "rw": o.rows_written,
                    "dec": 1 if o.interrupted else 0,
                    "w": o.worker,
                }
            )
        counters = {"j": job_id, "rr": rows_read, "rw": rows_written, **counts}
        if owner is None:
            conn.exec_driver_sql(hot.count_outcomes, counters)
        elif conn.exec_driver_sql(hot.count_outcomes_held, {**counters, "o": owner}).rowcount != 1:
            # First, so that on PostgreSQL the job's row stays locked until this step commits: a
            # runner taking the lease over waits for it, and then this runner's steps stop.
            raise LeaseLost(f"job {job_id} was taken over by another runner")
        if params:
            conn.exec_driver_sql(hot.record_outcome, params)

    def set_cursor(self, job_id: str, key: str, cursor: Any, *, attempt: int | None = None) -> None:
        """Record an item's cursor; given ``attempt``, only while that attempt is the item's
        current one (else :class:`AttemptFenced`, and nothing is recorded)."""
        with self.tx() as conn:
            if attempt is None:
                conn.execute(
                    items.update()
                    .where(items.c.job_id == job_id, items.c.key == key)
                    .values(cursor=dumps(cursor))
                )
                return
            params = {"j": job_id, "k": key, "a": attempt, "c": dumps(cursor)}
            if conn.exec_driver_sql(self._hot.set_cursor, params).rowcount != 1:
                raise _fenced(key, attempt, "checkpoint")

    def cursors(self, job_id: str, keys: Sequence[str]) -> dict[str, Any]:
        """The last cursor recorded for each of ``keys`` that has one."""
        found: dict[str, Any] = {}
        with self.tx() as conn:
            for start in range(0, len(keys), 500):
                rows = conn.execute(
                    sa.select(items.c.key, items.c.cursor).where(
                        items.c.job_id == job_id,
                        items.c.key.in_(list(keys[start : start + 500])),
                        items.c.cursor.is_not(None),
                    )
                ).all()
                found.update({key: _loads(cursor) for key, cursor in rows})
        return found

    def check_attempt(self, conn: Connection, job_id: str, key: str, attempt: int) -> None:
        """Raise :class:`AttemptFenced` unless ``attempt`` is the item's current, running one.

        ``conn`` is any connection to the store's database: a write to a table of that same
        database checks in its own transaction. On PostgreSQL the item's row stays locked until
        that transaction ends, so the runner cannot record the item's end in between.
        """
        params = {"j": job_id, "k": key, "a": attempt}
        if conn.exec_driver_sql(self._hot.current_attempt, params).first() is None:
            raise _fenced(key, attempt, "write")

    @contextmanager
    def fence(self, job_id: str, key: str, attempt: int) -> Iterator[None]:
        """Hold the item for ``attempt`` while the body writes elsewhere: the runner cannot record
        the item's end until the body is done (SQLite: the store's write lock; PostgreSQL: the
        item's row). Raises :class:`AttemptFenced` (and runs nothing) if the attempt is stale."""
        with self.engine.connect() as conn:
            try:
                conn.begin()
                self.check_attempt(conn, job_id, key, attempt)
            except sa.exc.OperationalError as exc:
                raise StoreError(f"store {mask_url(self.url)}: {reason(exc)}") from exc
            yield  # (the body's own errors are its database's, not the store's)
            conn.rollback()  # nothing was changed here: this only lets go of the item

    def add_job_rows(self, job_id: str, *, read: int = 0, written: int = 0) -> None:
        with self.tx() as conn:
            conn.execute(
                jobs.update()
                .where(jobs.c.id == job_id)
                .values(
                    rows_read=jobs.c.rows_read + read, rows_written=jobs.c.rows_written + written
                )
            )

    def reset_running(self, job_id: str, *, refund: bool = False) -> int:
        """Return items left ``running`` to ``pending``.

        ``refund`` gives the attempt back (the runner stopped them on purpose); after a crash the
        attempt counts, so an item that crashes its runner cannot retry forever.
        """
        values: dict[str, Any] = {"status": "pending"}
        if refund:
            floor = sa.func.max if self.is_sqlite else sa.func.greatest
            values["attempts"] = floor(items.c.attempts - 1, 0)
        with self.tx() as conn:
            result = conn.execute(
                items.update()
                .where(items.c.job_id == job_id, items.c.status == "running")
                .values(**values)
            )
        return int(result.rowcount or 0)

    def cancel_pending(self, job_id: str) -> int:
        """Mark every pending item cancelled; return how many."""
        with self.tx() as conn:
            result = conn.execute(
                items.update()
                .where(items.c.job_id == job_id, items.c.status.in_(["pending", "running"]))
                .values(status="cancelled")
            )
            n = int(result.rowcount or 0)
            conn.execute(
                jobs.update().where(jobs.c.id == job_id).values(cancelled=jobs.c.cancelled + n)
            )
        return n

    def finished_weight(self, job_id: str) -> int:
        """The weight of the items that are no longer to do (done, failed, skipped, cancelled)."""
        with self.tx() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.coalesce(sa.func.sum(items.c.weight), 0)).where(
                        items.c.job_id == job_id,
                        items.c.status.in_(["done", "failed", "skipped", "cancelled"]),
                    )
                ).scalar()
                or 0
            )

    def item_counts(self, job_id: str) -> dict[str, int]:
        with self.tx() as conn:
            rows = conn.execute(
                sa.select(items.c.status, sa.func.count())
                .where(items.c.job_id == job_id)
                .group_by(items.c.status)
            ).all()
        return {r[0]: int(r[1]) for r in rows}

    def list_items(
        self,
        job_id: str,
        *,
        status: Sequence[str] = (),
        limit: int | None = 100,
        offset: int = 0,
    ) -> tuple[list[Item], int]:
        with self.tx() as conn:
            return reads.list_items(
                self._query(conn),
                job_id,
                sqlite=self.is_sqlite,
                status=status,
                limit=limit,
                offset=offset,
            )

    def items_at(self, job_id: str, start: int, limit: int) -> list[Item]:
        """Up to ``limit`` items from plan position ``start`` on.

        A job's positions run 0..total-1 without gaps (plans and retries number them so), so a
        page at any depth is one range read of the (job_id, position) index, with no OFFSET scan.
        """
        with self.tx() as conn:
            rows = (
                conn.execute(
                    sa.select(items)
                    .where(items.c.job_id == job_id, items.c.position >= start)
                    .order_by(items.c.position)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [Item.from_row(dict(r)) for r in rows]

    def iter_items(self, job_id: str, *, status: Sequence[str] = ()) -> Iterator[Item]:
        """Every item of a job in plan order, read a page at a time."""
        after = -1
        while True:
            where = [items.c.job_id == job_id, items.c.position > after]
            if status:
                where.append(items.c.status.in_(list(status)))
            with self.tx() as conn:
                rows = (
                    conn.execute(
                        sa.select(items).where(*where).order_by(items.c.position).limit(2000)
                    )
                    .mappings()
                    .all()
                )
            if not rows:
                return
            for r in rows:
                yield Item.from_row(dict(r))
            after = rows[-1]["position"]

    # -- events ----------------------------------------------------------------------------------

    def log(
        self, job_id: str, message: str, *, level: str = "info", item_key: str | None = None
    ) -> None:
        with self.tx() as conn:
            conn.execute(
                events.insert().values(
                    job_id=job_id, ts=utcnow(), level=level, item_key=item_key, message=message
                )
            )

    def events(self, job_id: str, *, after: int = 0, limit: int = 1000) -> list[Event]:
        with self.tx() as conn:
            return reads.events(self._query(conn), job_id, after=after, limit=limit)

    # -- statistics ------------------------------------------------------------------------------

    def stats(self, filt: JobFilter = JobFilter()) -> dict[str, Any]:
        """Totals, success rate and durations by kind and env."""
        where = _where(filt, sqlite=self.is_sqlite)
        rows = self._figures(where)
        return _summarise(rows)

    def _figures(self, where: list[Any]) -> list[Any]:
        """The rows the statistics are made of: each matching job's kind, env, status, times,
        items done, rows written and running time."""
        with self.tx() as conn:
            return list(
                conn.execute(
                    sa.select(
                        jobs.c.kind,
                        jobs.c.env,
                        jobs.c.status,
                        jobs.c.started_at,
                        jobs.c.finished_at,
                        jobs.c.done,
                        jobs.c.rows_written,
                        jobs.c.run_s,
                    ).where(*where)
                ).all()
            )

    def throughput(self, since: datetime, filt: JobFilter = JobFilter()) -> tuple[int, int]:
        """Jobs matching ``filt`` that finished since ``since``, and the items those jobs did."""
        where = [*_where(filt, sqlite=self.is_sqlite), jobs.c.finished_at >= since]
        with self.tx() as conn:
            count, done = conn.execute(
                sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(jobs.c.done), 0)).where(
                    *where
                )
            ).one()
        return int(count or 0), int(done or 0)

    def timeline(
        self, since: datetime, bucket_s: int, filt: JobFilter = JobFilter()
    ) -> list[dict[str, Any]]:
        """Jobs matching ``filt`` that finished since ``since``, summed per ``bucket_s`` seconds
        (by finishing time) and per kind and env: counts by outcome, success rate, duration
        percentiles, items done and items/s over the jobs' running time. Oldest first."""
        where = [*_where(filt, sqlite=self.is_sqlite), jobs.c.finished_at >= since]
        rows = self._figures(where)
        start = since.replace(tzinfo=None) if since.tzinfo else since
        buckets: dict[tuple[int, str, str], list[Any]] = {}
        for row in rows:
            finished = _naive(row.finished_at)
            n = int((finished - start).total_seconds() // bucket_s)
            buckets.setdefault((n, row.kind, row.env), []).append(row)
        out = []
        for (n, _kind, _env), group in sorted(buckets.items()):
            summary = _summarise(group)["by_kind_env"][0]
            busy = sum(
                seconds
                for r in group
                if (seconds := _ran(r.started_at, r.finished_at, r.run_s)) is not None
            )
            summary["start"] = (start + timedelta(seconds=n * bucket_s)).isoformat() + "Z"
            summary["items_per_s"] = round(summary["items_done"] / busy, 3) if busy > 0 else None
            out.append(summary)
        return out

    def metric_totals(self) -> dict[str, Any]:
        """Totals for monitoring: jobs by (status, kind), items by outcome, rows, durations."""
        with self.tx() as conn:
            grouped = conn.execute(
                sa.select(
                    jobs.c.status,
                    jobs.c.kind,
                    sa.func.count(),
                    sa.func.coalesce(sa.func.sum(jobs.c.done), 0),
                    sa.func.coalesce(sa.func.sum(jobs.c.failed), 0),
                    sa.func.coalesce(sa.func.sum(jobs.c.skipped), 0),
                    sa.func.coalesce(sa.func.sum(jobs.c.cancelled), 0),
                    sa.func.coalesce(sa.func.sum(jobs.c.rows_read), 0),
                    sa.func.coalesce(sa.func.sum(jobs.c.rows_written), 0),
                ).group_by(jobs.c.status, jobs.c.kind)
            ).all()
            spans = conn.execute(
                sa.select(jobs.c.started_at, jobs.c.finished_at, jobs.c.run_s).where(
                    jobs.c.finished_at.is_not(None), jobs.c.started_at.is_not(None)
                )
            ).all()
        out: dict[str, Any] = {
            "jobs": {},
            "items": dict.fromkeys(("done", "failed", "skipped", "cancelled"), 0),
            "rows_read": 0,
            "rows_written": 0,
        }
        for status, kind, n, done, failed, skipped, cancelled, read, written in grouped:
            out["jobs"][(status, kind)] = int(n)
            for name, value in zip(
                ("done", "failed", "skipped", "cancelled"),
                (done, failed, skipped, cancelled),
                strict=True,
            ):
                out["items"][name] += int(value)
            out["rows_read"] += int(read)
            out["rows_written"] += int(written)
        seconds = [
            ran
            for started, finished, run in spans
            if (ran := _ran(started, finished, run)) is not None
        ]
        out["p50"] = _percentile(seconds, 0.5)
        out["p95"] = _percentile(seconds, 0.95)
        return out


# -- helpers ---------------------------------------------------------------------------------------


def _where(filt: JobFilter, *, sqlite: bool) -> list[Any]:
    """The ``WHERE`` of ``filt`` (``joblist.job_where``) as a clause of SQLAlchemy's."""
    terms, params = job_where(filt, sqlite=sqlite)
    return [sa.text(terms).bindparams(**params)] if terms else []


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


#: What the job's time accounting reads.
_TIMES = (
    jobs.c.status,
    jobs.c.status_since,
    jobs.c.created_at,
    jobs.c.started_at,
    jobs.c.heartbeat_at,
    jobs.c.run_s,
    jobs.c.paused_s,
    jobs.c.queued_s,
)


def _runner_died(row: Any, new_owner: str) -> bool:
    return (
        row.status == JobStatus.RUNNING.value
        and row.lease_owner is not None
        and row.lease_owner != new_owner
        and row.heartbeat_at is not None
    )


def _close_stretch(row: Any, now: datetime) -> dict[str, Any]:
    """The time columns once the stretch the job spent in ``row.status`` ends ``now``: its
    seconds go to running, paused or queued, and a new stretch starts. A running stretch whose
    runner died (the job is taken over, still ``running``) ends at that runner's last heartbeat;
    the time after it was spent waiting."""
    since = _naive(row.status_since or row.started_at or row.created_at)
    end = _naive(now)
    seconds = max((end - since).total_seconds(), 0.0)
    run, paused, queued = row.run_s or 0.0, row.paused_s or 0.0, row.queued_s or 0.0
    status = row.status
    if status == JobStatus.RUNNING.value:
        worked = seconds
        if getattr(row, "lease_owner", None) is not None and row.heartbeat_at is not None:
            beat = _naive(row.heartbeat_at)
            worked = min(max((beat - since).total_seconds(), 0.0), seconds)
        run += worked
        queued += seconds - worked
    elif status == JobStatus.PAUSED.value:
        paused += seconds
    elif status == JobStatus.PENDING.value:
        queued += seconds
    # (A finished job that runs again, as a resume of a failed one: its idle time counts nowhere.)
    return {"run_s": run, "paused_s": paused, "queued_s": queued, "status_since": now}


def _job_values(job: Job) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": job.id,
        "name": job.name,
        "kind": job.kind,
        "env": job.env,
        "project": job.project,
        "status": job.status.value,
        "params": dumps(job.params),
        "options": dumps(job.options),
        "created_at": job.created_at or now,
        "updated_at": now,
        "run_s": 0.0,
        "paused_s": 0.0,
        "queued_s": 0.0,
        "status_since": job.created_at or now,
        "retry_of": job.retry_of,
        "parent_id": job.parent_id,
        "tags": dumps(job.tags),
        "metadata": dumps(job.metadata),
    }


def _insert_items(conn: Connection, job_id: str, batch: list[dict[str, Any]]) -> int:
    """Insert a batch of planned items; a key planned twice is a :class:`PlanError`.

    The primary key finds duplicates, so a plan of millions of items needs no set of keys in memory.
    """
    savepoint = conn.begin_nested()
    try:
        conn.execute(items.insert(), batch)
    except sa.exc.IntegrityError:
        savepoint.rollback()
        keys = [row["key"] for row in batch]
        seen: set[str] = set()
        for key in keys:
            if key in seen:
                raise PlanError(
                    f"the plan yields item {key!r} twice; item keys must be unique"
                ) from None
            seen.add(key)
        earlier = conn.execute(
            sa.select(items.c.key).where(items.c.job_id == job_id, items.c.key.in_(keys)).limit(1)
        ).scalar()
        raise PlanError(
            f"the plan yields item {earlier!r} twice; item keys must be unique"
        ) from None
    savepoint.commit()
    return len(batch)


def _delete_jobs(conn: Connection, ids: list[str]) -> None:
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        conn.execute(events.delete().where(events.c.job_id.in_(chunk)))
        conn.execute(items.delete().where(items.c.job_id.in_(chunk)))
        conn.execute(jobs.delete().where(jobs.c.id.in_(chunk)))


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(round(q * (len(ordered) - 1)), len(ordered) - 1)
    return round(ordered[index], 3)


def _naive(moment: datetime | str) -> datetime:
    """A stored moment as naive UTC (SQLite gives text, PostgreSQL aware datetimes)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _ran(started: Any, finished: Any, run_s: float | None) -> float | None:
    """A finished job's duration: its running time (started to finished for a job recorded
    before running time was kept apart)."""
    if started is None or finished is None:
        return None
    if run_s is not None:
        return float(run_s)
    return (_naive(finished) - _naive(started)).total_seconds()


def _summarise(rows: Sequence[Any]) -> dict[str, Any]:
    by_status: dict[str, int] = {}
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    durations_all: list[float] = []
    for kind, env, status, started, finished, done, rows_written, run_s in rows:
        by_status[status] = by_status.get(status, 0) + 1
        g = groups.setdefault(
            (kind, env),
            {
                "kind": kind,
                "env": env,
                "jobs": 0,
                "completed": 0,
                "partial": 0,
                "failed": 0,
                "durations": [],
                "items_done": 0,
                "rows_written": 0,
            },
        )
        g["jobs"] += 1
        g["items_done"] += done or 0
        g["rows_written"] += rows_written or 0
        if status in ("completed", "partial", "failed"):
            g[status] += 1
        seconds = _ran(started, finished, run_s)
        if seconds is not None:
            g["durations"].append(seconds)
            durations_all.append(seconds)
    out_groups = []
    for g in sorted(groups.values(), key=lambda g: (g["kind"], g["env"])):
        ended = g["completed"] + g["partial"] + g["failed"]
        durations = g.pop("durations")
        g["success_rate"] = round(g["completed"] / ended, 4) if ended else None
        g["duration_p50_s"] = _percentile(durations, 0.5)
        g["duration_p95_s"] = _percentile(durations, 0.95)
        out_groups.append(g)
    ended = sum(by_status.get(s, 0) for s in ("completed", "partial", "failed"))
    return {
        "total": len(rows),
        "by_status": dict(sorted(by_status.items())),
        "success_rate": round(by_status.get("completed", 0) / ended, 4) if ended else None,
        "duration_p50_s": _percentile(durations_all, 0.5),
        "duration_p95_s": _percentile(durations_all, 0.95),
        "by_kind_env": out_groups,
    }


__all__ = ["Claimed", "JobFilter", "Outcome", "Store", "metadata"]
