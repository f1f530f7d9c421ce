"""The store's reads of one job, its items and its log, as SQL text by name.

:class:`~batchyard.store.Store` runs them through SQLAlchemy and the quick reader of ``reader.py``
through sqlite3, each with its own :data:`~batchyard.store.joblist.Query`: the same SQL either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from batchyard.errors import NotFound
from batchyard.store.joblist import JobFilter, Query, like_escaped
from batchyard.store.models import Event, Item, Job

#: The newest schema revision (``migrations/``): the store migrates to it on opening, and the
#: quick reader reads only a store that is at it.
HEAD_REVISION = "0007"

JOB_BY_ID = "SELECT * FROM by_jobs WHERE id = :id"
JOBS_BY_PREFIX = "SELECT * FROM by_jobs WHERE id LIKE :prefix ESCAPE '/' LIMIT 2"
EVENTS_AFTER = "SELECT * FROM by_events WHERE job_id = :job_id AND id > :after ORDER BY id LIMIT :n"


class Reads(Protocol):
    """What the commands that only look at jobs read: the Store, or the quick reader."""

    def find_job(self, prefix: str) -> Job: ...

    def list_jobs(
        self,
        filt: JobFilter = ...,
        *,
        limit: int = ...,
        offset: int = ...,
        order: str = ...,
    ) -> tuple[list[Job], int]: ...

    def list_items(
        self,
        job_id: str,
        *,
        status: Sequence[str] = ...,
        limit: int | None = ...,
        offset: int = ...,
    ) -> tuple[list[Item], int]: ...

    def events(self, job_id: str, *, after: int = ..., limit: int = ...) -> list[Event]: ...


def get_job(query: Query, job_id: str) -> Job:
    rows = query(JOB_BY_ID, {"id": job_id})
    if not rows:
        raise NotFound(f"no job {job_id!r}; `batchyard jobs list` shows the jobs there are")
    return Job.from_row(rows[0])


def find_job(query: Query, prefix: str) -> Job:
    """A job by its id, or by a unique prefix of it."""
    rows = query(JOB_BY_ID, {"id": prefix})
    if not rows:
        rows = query(JOBS_BY_PREFIX, {"prefix": like_escaped(prefix) + "%"})
        if len(rows) > 1:
            raise NotFound(f"{prefix!r} matches more than one job; give more of the id")
    if not rows:
        raise NotFound(f"no job {prefix!r}; `batchyard jobs list` shows the jobs there are")
    return Job.from_row(rows[0])


def list_items(
    query: Query,
    job_id: str,
    *,
    sqlite: bool,
    status: Sequence[str] = (),
    limit: int | None = 100,
    offset: int = 0,
) -> tuple[list[Item], int]:
    """A page of a job's items in plan order, and how many there are (of ``status``)."""
    where = "job_id = :job_id"
    params: dict[str, Any] = {"job_id": job_id}
    if status:
        names = [f"status_{n}" for n in range(len(status))]
        where += f" AND status IN ({', '.join(':' + n for n in names)})"
        params.update(zip(names, status, strict=True))
    total = query(f"SELECT count(*) AS n FROM by_items WHERE {where}", params)[0]["n"]
    # SQLite needs a LIMIT before an OFFSET; -1 is none. PostgreSQL's is LIMIT ALL.
    page = ":page_limit" if limit is not None else ("-1" if sqlite else "ALL")
    rows = query(
        f"SELECT * FROM by_items WHERE {where} ORDER BY position LIMIT {page} OFFSET :page_offset",
        {**params, "page_limit": limit, "page_offset": offset},
    )
    return [Item.from_row(r) for r in rows], int(total or 0)


def events(query: Query, job_id: str, *, after: int = 0, limit: int = 1000) -> list[Event]:
    """A job's log lines after the one with id ``after``, oldest first."""
    rows = query(EVENTS_AFTER, {"job_id": job_id, "after": after, "n": limit})
    return [Event.from_row(r) for r in rows]
