"""A SQLite store read through sqlite3 alone, for the commands that only look at jobs.

``batchyard jobs list`` and its siblings are typed all day; opening the store through
SQLAlchemy would cost them more than the rest of their work. This reader opens the store's file
read-only and runs the store's own SQL (``joblist.py``, ``reads.py``), so it lists and finds
exactly what :class:`~batchyard.store.Store` does. Where it cannot stand in for the Store (no such
file yet, not a SQLite file, a schema to migrate first), :meth:`StoreReader.open` says so with
``None`` and the Store opens it instead, with its own messages.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from batchyard.store import joblist, reads
from batchyard.store.joblist import JobFilter
from batchyard.store.models import Event, Item, Job

#: Seconds to wait for a locked file, as the Store does.
TIMEOUT = 60


class StoreReader:
    """Jobs, items and log of a SQLite store opened read-only; the read methods of the Store."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @classmethod
    def open(cls, url: str) -> StoreReader | None:
        """The reader for the store at ``url`` (``sqlite:///PATH``), or ``None`` when the Store
        should open it: another database, no such file, or a schema older than this code."""
        prefix = "sqlite:///"
        if not url.startswith(prefix) or "?" in url or "%" in url:
            return None
        path = Path(url[len(prefix) :])
        try:
            if not path.is_file():
                return None
        except OSError:  # a folder it cannot read: the Store says so
            return None
        try:
            # The store's own file rather than a user's database (db/ opens those), and opened
            # here because db/ loads SQLAlchemy, which is what this reader is for avoiding.
            conn = sqlite3.connect(
                f"file:{quote(str(path))}?mode=ro", uri=True, timeout=TIMEOUT, isolation_level=None
            )
        except sqlite3.Error:
            return None
        try:
            version = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error:
            version = None
        if version is None or version[0] != reads.HEAD_REVISION:
            conn.close()
            return None
        return cls(conn)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _query(self, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        cur = self._conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def find_job(self, prefix: str) -> Job:
        return reads.find_job(self._query, prefix)

    def get_job(self, job_id: str) -> Job:
        return reads.get_job(self._query, job_id)

    def list_jobs(
        self,
        filt: JobFilter = JobFilter(),
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "-created_at",
    ) -> tuple[list[Job], int]:
        """A page of jobs matching ``filt``, newest first by default, and the total that match."""
        rows, total = joblist.page_of_jobs(
            self._query, filt, sqlite=True, limit=limit, offset=offset, order=order
        )
        return [Job.from_row(r) for r in rows], total

    def list_items(
        self,
        job_id: str,
        *,
        status: Sequence[str] = (),
        limit: int | None = 100,
        offset: int = 0,
    ) -> tuple[list[Item], int]:
        return reads.list_items(
            self._query, job_id, sqlite=True, status=status, limit=limit, offset=offset
        )

    def events(self, job_id: str, *, after: int = 0, limit: int = 1000) -> list[Event]:
        return reads.events(self._query, job_id, after=after, limit=limit)
