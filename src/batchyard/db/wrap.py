"""Driver errors translated into batchyard's error tree, at the boundary (as httpx maps transport
errors): sqlite3, psycopg, DuckDB and SQLAlchemy's wrappers of them.

Each message names the database (password masked) and says what to do::

    cannot connect to postgresql://app:***@127.0.0.1:1/x: connection refused; is the server running there, on that port?
    database "x" does not exist on postgresql://app:***@127.0.0.1/x: create it first
    /data/notes.db is not a SQLite database (give a SQLite file or a postgresql:// URL)
    sqlite:////data/app.db has no table 'bets'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from batchyard.errors import (
    BatchyardError,
    CannotConnect,
    DatabaseError,
    NoSuchTable,
    NotADatabase,
)

if TYPE_CHECKING:
    from batchyard.db.database import Database

#: The top-level modules whose exceptions are a database driver's.
DRIVERS = frozenset({"sqlite3", "psycopg", "duckdb", "_duckdb", "sqlalchemy"})
#: What the ``doing`` of :func:`wrap_errors` is while a connection is being opened.
CONNECTING = "connect"

_NO_TABLE = (
    re.compile(r"^no such table: (?:\w+\.)?(?P<name>.+)$"),  # sqlite3
    re.compile(r'^relation "(?P<name>[^"]+)" does not exist'),  # PostgreSQL
    re.compile(r"^Catalog Error: Table with name (?P<name>\S+) does not exist"),  # DuckDB
)


def reason(exc: BaseException) -> str:
    """The driver's own first line about an error, without SQLAlchemy's decoration."""
    orig = getattr(exc, "orig", None)
    text = str(orig or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` was raised by a database driver (or SQLAlchemy wrapping one)."""
    return type(exc).__module__.split(".", 1)[0] in DRIVERS and isinstance(exc, Exception)


@contextmanager
def wrap_errors(db: Database, doing: str = "") -> Iterator[None]:
    """Driver errors raised inside become :class:`~batchyard.errors.DatabaseError` (or a child)
    naming ``db``; ``doing`` (the SQL, or :data:`CONNECTING`) is added to messages that need it.
    Everything else passes through untouched."""
    try:
        yield
    except BatchyardError:
        raise
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        raise translate(db, exc, doing) from exc


def translate(db: Database, exc: BaseException, doing: str = "") -> DatabaseError:
    """The error of the tree for driver error ``exc`` met on ``db``."""
    orig = getattr(exc, "orig", None) or exc
    module = type(orig).__module__.split(".", 1)[0]
    if module == "psycopg":
        return _postgres(db, orig, doing)
    said = reason(orig)
    if module == "sqlite3":
        if "file is not a database" in said:
            return NotADatabase(
                f"{db.path or db.shown} is not a SQLite database "
                "(give a SQLite file or a postgresql:// URL)"
            )
        if "unable to open database file" in said:
            if db.path is not None and not db.path.exists():
                return CannotConnect(f"cannot open {db.shown}: there is no such file")
            return CannotConnect(f"cannot open {db.shown}: {said}")
    table = _missing_table(said)
    if table is not None:
        return NoSuchTable(f"{db.shown} has no table {table!r}")
    if doing == CONNECTING:
        return CannotConnect(f"cannot open {db.shown}: {said}")
    return DatabaseError(f"{db.shown}: {said}" + (f": {doing}" if doing else ""))


def _missing_table(said: str) -> str | None:
    for pattern in _NO_TABLE:
        found = pattern.match(said)
        if found:
            return found.group("name").strip('"')
    return None


def _postgres(db: Database, exc: BaseException, doing: str) -> DatabaseError:
    import psycopg

    text = str(exc).strip()
    if isinstance(exc, psycopg.OperationalError) and (
        doing == CONNECTING or getattr(exc, "sqlstate", None) is None
    ):
        return _cannot_connect(db, text or type(exc).__name__)
    said = reason(exc)
    if isinstance(exc, psycopg.errors.UndefinedTable):
        table = _missing_table(said)
        return NoSuchTable(f"{db.shown} has no table {table!r}" if table else f"{db.shown}: {said}")
    return DatabaseError(f"{db.shown}: {said}" + (f": {doing}" if doing else ""))


def _cannot_connect(db: Database, text: str) -> CannotConnect:
    """What the server or the network said, without libpq's wrapping ("connection to server at
    ... failed: FATAL: ..."), and what to do about it."""
    said = text.rpartition("FATAL:")[2] if "FATAL:" in text else text.rpartition(" failed: ")[2]
    first = (said.strip().splitlines() or [text])[0].strip()
    missing = re.match(r'database "(?P<name>[^"]+)" does not exist', first)
    if missing:
        return CannotConnect(f"{first} on {db.shown}: create it first, or check the name")
    lowered = first.lower()
    if "connection refused" in lowered:
        hint = "connection refused; is the server running there, on that port?"
    elif "password authentication failed" in lowered or "role" in lowered:
        hint = f"{first}; check the user and password"
    elif "timeout" in lowered or "timed out" in lowered:
        hint = f"{first}; is the host reachable, and the port open?"
    else:
        hint = first
    return CannotConnect(f"cannot connect to {db.shown}: {hint}")
