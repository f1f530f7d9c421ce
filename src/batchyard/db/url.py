"""What a database URL says, parsed in one place: which dialect, which file, which DSN.

``sqlalchemy.make_url`` is called here and nowhere else in the data plane: every ``sqlite+driver``
form, ``postgres://`` and ``postgresql+psycopg://`` are understood alike, and any other scheme is
refused with a message naming the URL (password masked) and what batchyard reads.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa

from batchyard.errors import UsageError
from batchyard.secrets import mask_url

#: What batchyard reads and writes, for messages that refuse anything else.
SUPPORTED = "sqlite:///PATH, postgresql://USER@HOST/DATABASE, or CSV, JSON and Parquet files"
#: SQLite's names for a database that lives in memory only.
MEMORY = ("", ":memory:")


class Dialect(StrEnum):
    """The kind of database: its value is the name SQL is written for (``"sqlite"``, ...)."""

    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"
    #: CSV, JSON/JSONL and Parquet files (a file, a folder of them or a glob), read through DuckDB.
    FILES = "files"

    @property
    def param(self) -> str:
        """The driver's placeholder for a query parameter."""
        return "%s" if self is Dialect.POSTGRESQL else "?"


def parse_url(url: str, *, error: type[Exception] = UsageError) -> sa.URL:
    """``url`` parsed; plain ``postgresql://`` and ``postgres://`` get the psycopg driver.

    Anything but SQLite and PostgreSQL is refused with ``error`` naming the URL, masked.
    """
    parsed = parse(url, error=error)
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


def parse(url: str, *, error: type[Exception] = UsageError) -> sa.URL:
    """Any SQLAlchemy URL (any backend), its scheme in lower case as the drivers know it."""
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError) as exc:  # ValueError: a port that is no number
        raise error(
            f"{mask_url(url)!r} is not a database URL (sqlite:///PATH or postgresql://...)"
        ) from exc
    return parsed.set(drivername=parsed.drivername.lower())


def dialect_of(parsed: sa.URL, url: str) -> Dialect:
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return Dialect.SQLITE
    if backend in ("postgresql", "postgres"):
        return Dialect.POSTGRESQL
    raise UsageError(f"{mask_url(url)}: batchyard reads {SUPPORTED}, not {backend}")


def psycopg_dsn(parsed: sa.URL) -> str:
    """The libpq connection string psycopg takes, password included."""
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


def sqlite_url(path: Path) -> str:
    """The URL of SQLite file ``path``, its ``%``, ``?`` and ``#`` escaped so they stay in the name."""
    return sa.URL.create("sqlite", database=str(path)).render_as_string()


def uses_uri(parsed: sa.URL) -> bool:
    """Whether SQLite reads the database part of ``parsed`` as a ``file:`` URI (``?uri=true``)."""
    flag = parsed.query.get("uri", "")
    value = flag if isinstance(flag, str) else (flag[-1] if flag else "")
    return value.lower() in ("true", "1", "yes", "on") and (parsed.database or "").startswith(
        "file:"
    )


def sqlite_file(parsed: sa.URL, base: Path) -> Path | None:
    """The file SQLite opens for ``parsed`` (None: an in-memory database), relative paths taken
    from ``base`` and ``~`` expanded. A ``file:`` URI (with ``?uri=true``) names its path with
    percent escapes, which are decoded; otherwise the database part is the file's name."""
    database = parsed.database or ""
    if uses_uri(parsed):
        return uri_file(database, base)
    if database in MEMORY:
        return None
    return resolve(database, base)


def uri_file(uri: str, base: Path) -> Path | None:
    """The file a SQLite ``file:`` URI names (None: in memory), as SQLite reads it."""
    parts = urlsplit(uri)
    path = unquote(parts.path)
    if path in MEMORY or "mode=memory" in parts.query:
        return None
    return resolve(path, base)


def resolve(path: str, base: Path) -> Path:
    """``path`` with ``~`` expanded, made absolute against ``base``, links and ``..`` resolved."""
    found = Path(path).expanduser()
    return (found if found.is_absolute() else base / found).resolve()
