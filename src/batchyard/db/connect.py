"""Opening databases the same way everywhere.

DB-API connections (:func:`sqlite` and :func:`postgres`) are what the data plane reads and writes
through: autocommit, so transactions are begun explicitly; read-only ones really refuse writes.
:func:`scratch` is an in-memory SQLite database for SQL on values.
Engines (:func:`create_engine`, :data:`ENGINES`) are for the store and ``ctx.write``: SQLite tuned
for many writers, PostgreSQL through psycopg. psycopg is imported only where PostgreSQL is opened.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool, StaticPool

from batchyard.db.url import parse_url
from batchyard.errors import StoreError, UsageError
from batchyard.secrets import mask_url

#: Makes a PostgreSQL session read-only: every transaction it starts refuses to write, including
#: functions that write (``setval``, ``lo_import``), whatever SQL reaches it.
PG_READ_ONLY = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"
#: How every PostgreSQL session of the data plane writes values as text: ISO dates, times in UTC,
#: floats exact, so both sides of a comparison (and every run) see the same forms.
PG_SETTINGS = (
    "SET DateStyle TO 'ISO, YMD'",
    "SET TimeZone TO 'UTC'",
    "SET extra_float_digits TO 3",
    "SET IntervalStyle TO 'postgres'",
)
#: Seconds to wait for a PostgreSQL server to answer, and for a locked SQLite file.
CONNECT_TIMEOUT = 10
SQLITE_TIMEOUT = 60


def pg_read_only(conn: Any) -> Any:
    """``conn`` (a psycopg connection) made read-only for the rest of its session."""
    conn.execute(PG_READ_ONLY)
    if not conn.autocommit:
        conn.commit()
    return conn


def readonly_uri(path: str | Path) -> str:
    """The ``file:`` URI that opens ``path`` read-only: ``%``, ``?``, ``#`` and spaces escaped, so
    they are part of the name rather than of the URI."""
    return f"file:{quote(str(path))}?mode=ro"


def sqlite(
    path: str | Path,
    *,
    readonly: bool = False,
    timeout: float = SQLITE_TIMEOUT,
    isolation_level: Literal["DEFERRED", "IMMEDIATE", "EXCLUSIVE"] | None = None,
) -> sqlite3.Connection:
    """A SQLite connection (autocommit, usable from any thread). ``readonly``: the file is opened
    read-only (a missing file is an error, never made) and read once, so a file that is not a
    database fails here. ``timeout``: seconds to wait for a locked file; ``isolation_level``:
    sqlite3's (None, the default: autocommit, transactions begun explicitly)."""
    if readonly:
        conn = sqlite3.connect(
            readonly_uri(path),
            uri=True,
            timeout=timeout,
            check_same_thread=False,
            isolation_level=isolation_level,
        )
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
        return conn
    return sqlite3.connect(
        str(path), timeout=timeout, check_same_thread=False, isolation_level=isolation_level
    )


def scratch() -> sqlite3.Connection:
    """An in-memory SQLite database of its own (autocommit, usable from any thread), for SQL
    that works on values rather than on anyone's data; gone when it is closed."""
    return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)


def postgres(
    dsn: str,
    *,
    readonly: bool = False,
    autocommit: bool = True,
    connect_timeout: int | None = CONNECT_TIMEOUT,
    settings: bool = True,
) -> Any:
    """A psycopg connection with :data:`PG_SETTINGS`; ``readonly``: every transaction of its
    session is read-only (``default_transaction_read_only``).

    ``autocommit=False`` gives psycopg's own transactions (a server-side cursor needs one; the
    connection used as a context manager commits on exit); the session's settings are committed
    first, so a rollback keeps them. ``connect_timeout``: seconds (None: psycopg's default).
    ``settings=False`` leaves the server's own ``DateStyle``, ``TimeZone`` and float digits: where
    values travel as text between two sessions that both read and write them in those forms."""
    try:
        import psycopg
    except ModuleNotFoundError as exc:  # pragma: no cover - an install without the extra
        raise UsageError("PostgreSQL needs psycopg: pip install 'batchyard[postgres]'") from exc
    conn = psycopg.connect(dsn, autocommit=autocommit, connect_timeout=connect_timeout)
    sets = [
        *(PG_SETTINGS if settings else ()),
        *(["SET default_transaction_read_only = on"] if readonly else []),
    ]
    try:
        if sets:
            conn.execute("; ".join(sets))  # one round trip
            if not autocommit:
                conn.commit()
    except BaseException:
        conn.close()
        raise
    conn.cursor_factory, conn.server_cursor_factory = _cursors()
    conn.autocommit = autocommit
    return conn


def percent_safe(query: Any) -> Any:
    """``query`` with each ``%`` inside a quoted name or string doubled: psycopg reads a ``%``
    anywhere in a query with params as a placeholder, and a name may hold one (``"growth %"``)."""
    if not isinstance(query, str) or "%" not in query:
        return query
    out: list[str] = []
    quote = ""
    for ch in query:
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "%":
                out.append("%")
        elif ch in "\"'":
            quote = ch
        out.append(ch)
    return "".join(out)


@functools.cache
def _cursors() -> tuple[Any, Any]:
    """psycopg's cursors, taking names with a ``%`` in them (see :func:`percent_safe`)."""
    import psycopg

    class Cursor(psycopg.Cursor[Any]):
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            safe = percent_safe(query) if params is not None else query
            return super().execute(safe, params, **kw)

    class ServerCursor(psycopg.ServerCursor[Any]):
        def execute(self, query: Any, params: Any = None, **kw: Any) -> Any:
            safe = percent_safe(query) if params is not None else query
            return super().execute(safe, params, **kw)

    return Cursor, ServerCursor


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
    change, no write lock: many readers scan at once); ``readonly`` PostgreSQL sessions run
    read-only transactions."""
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
    # A server that does not answer (a host another machine cannot reach) fails the connect
    # after CONNECT_TIMEOUT seconds rather than the system's minutes; the URL may say otherwise.
    timeout = {} if "connect_timeout" in parsed.query else {"connect_timeout": CONNECT_TIMEOUT}
    try:
        engine = sa.create_engine(
            parsed, pool_pre_ping=True, pool_size=pool_size, max_overflow=16, connect_args=timeout
        )
    except ModuleNotFoundError as exc:
        raise error("PostgreSQL needs psycopg: pip install 'batchyard[postgres]'") from exc
    if readonly:
        sa_event.listen(engine, "connect", lambda dbapi_conn, _record: pg_read_only(dbapi_conn))
    return engine


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
        if _is(path, Path.is_dir, shown, error):
            raise error(f"cannot open {shown}: {path} is a folder, not a file")
        if _is(path, Path.is_file, shown, error):
            _check_sqlite_file(path, error)
        if not _is(path, Path.exists, shown, error) and create:
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
    if not _is(path, Path.is_file, shown, error):
        raise error(f"cannot open {shown}: no such SQLite file {str(path)!r}")
    _check_sqlite_file(path, error)

    def connect() -> sqlite3.Connection:
        return sqlite3.connect(
            readonly_uri(path), uri=True, timeout=SQLITE_TIMEOUT, check_same_thread=False
        )

    return sa.create_engine(
        "sqlite://", creator=connect, pool_size=pool_size, max_overflow=16, poolclass=QueuePool
    )


def _is(path: Path, test: Callable[[Path], bool], shown: str, error: type[Exception]) -> bool:
    """``path.is_file()`` and the like, where a folder on the way that cannot be read (which
    those raise for, rather than say False) is the error of the database it holds."""
    try:
        return test(path)
    except OSError as exc:
        raise error(f"cannot open {shown}: {exc.strerror or exc}: {path.parent}") from exc


#: The first bytes of every SQLite database file (an empty file is an empty database too).
SQLITE_HEADER = b"SQLite format 3\x00"


def _check_sqlite_file(path: Path, error: type[Exception]) -> None:
    """Refuse a file that is not a SQLite database before a driver says so in its own words."""
    try:
        with path.open("rb") as f:
            head = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise error(f"cannot open {path}: {exc.strerror or exc}") from exc
    if head and head != SQLITE_HEADER:
        raise error(f"{path} is not a SQLite database (give a SQLite file or a postgresql:// URL)")


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
