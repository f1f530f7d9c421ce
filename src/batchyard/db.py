"""Opening databases the same way everywhere: SQLite tuned for many writers, PostgreSQL via psycopg."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool, StaticPool

from batchyard.config import mask_url
from batchyard.errors import StoreError, UsageError


def reason(exc: BaseException) -> str:
    """The driver's own first line about an error, without SQLAlchemy's decoration."""
    orig = getattr(exc, "orig", None)
    text = str(orig or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def parse_url(url: str, *, error: type[Exception] = UsageError) -> sa.URL:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise error(
            f"{mask_url(url)!r} is not a database URL (sqlite:///PATH or postgresql://...)"
        ) from exc
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres") and parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend not in ("sqlite", "postgresql"):
        raise error(f"{mask_url(url)!r}: batchyard speaks sqlite:///PATH and postgresql://...")
    return parsed


def shares_database(a: str, b: str) -> bool:
    """True when URLs ``a`` and ``b`` reach the same SQLite file, or the same PostgreSQL database
    as the same user: what one's transactions can read, the other's can (URLs as written: an
    alias of a host reads as another database)."""
    try:
        first, second = parse_url(a), parse_url(b)
    except UsageError:
        return False
    if first.get_backend_name() != second.get_backend_name():
        return False
    if first.get_backend_name() == "sqlite":
        if first.database in (None, "", ":memory:") or second.database in (None, "", ":memory:"):
            return False
        return Path(first.database or "").resolve() == Path(second.database or "").resolve()
    return (first.host, first.port or 5432, first.database, first.username) == (
        second.host,
        second.port or 5432,
        second.database,
        second.username,
    )


def create_engine(
    url: str,
    *,
    create: bool = True,
    synchronous: str = "normal",
    pool_size: int = 16,
    error: type[Exception] = StoreError,
    readonly: bool = False,
) -> Engine:
    """An engine for ``url``. SQLite files get WAL, a busy timeout and ``BEGIN IMMEDIATE``;
    ``readonly`` SQLite files are opened read-only and left exactly as they are (no journal mode
    change, no write lock: many readers scan at once)."""
    parsed = parse_url(url, error=error)
    shown = mask_url(url)
    if (
        parsed.get_backend_name() == "sqlite"
        and readonly
        and parsed.database not in (None, "", ":memory:")
    ):
        return _sqlite_readonly(parsed, shown=shown, pool_size=pool_size, error=error)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite(
            parsed,
            create=create,
            synchronous=synchronous,
            shown=shown,
            pool_size=pool_size,
            error=error,
        )
    try:
        return sa.create_engine(parsed, pool_pre_ping=True, pool_size=pool_size, max_overflow=16)
    except ModuleNotFoundError as exc:
        raise error("PostgreSQL needs psycopg: pip install 'batchyard[postgres]'") from exc


def _sqlite(
    parsed: sa.URL,
    *,
    create: bool,
    synchronous: str,
    shown: str,
    pool_size: int,
    error: type[Exception],
) -> Engine:
    database = parsed.database or ""
    memory = database in ("", ":memory:")
    if not memory:
        path = Path(database)
        if path.is_dir():
            raise error(f"cannot open {shown}: {path} is a folder, not a file")
        if not path.exists() and create:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise error(f"cannot open {shown}: {exc}") from exc
    kwargs: dict[str, Any]
    if memory:
        kwargs = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
    else:
        kwargs = {
            "pool_size": pool_size,
            "max_overflow": 16,
            "connect_args": {"timeout": 60, "check_same_thread": False},
        }
    engine = sa.create_engine(parsed, **kwargs)

    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        # Manage transactions ourselves so that every one starts with BEGIN IMMEDIATE: a writer
        # then waits for the lock (busy timeout) instead of failing when it upgrades a read.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous.upper()}")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @sa_event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _sqlite_readonly(
    parsed: sa.URL, *, shown: str, pool_size: int, error: type[Exception]
) -> Engine:
    path = Path(parsed.database or "")
    if not path.is_file():
        raise error(f"cannot open {shown}: no such SQLite file {str(path)!r}")

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(
            f"file:{path}?mode=ro", uri=True, timeout=60, check_same_thread=False
        )

    return sa.create_engine(
        "sqlite://", creator=connect, pool_size=pool_size, max_overflow=16, poolclass=QueuePool
    )


class EngineCache:
    """One engine per URL per process, shared by every item that writes to it."""

    def __init__(self) -> None:
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> Engine:
        with self._lock:
            engine = self._engines.get(url)
            if engine is None:
                engine = create_engine(url, error=UsageError)
                self._engines[url] = engine
            return engine

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


ENGINES = EngineCache()
