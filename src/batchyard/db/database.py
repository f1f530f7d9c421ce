"""A :class:`Database`: one of the user's databases, made once from what the user typed.

    db = Database.of("warehouse", connections=settings.connections, root=settings.root)
    db.dialect      # Dialect.POSTGRESQL
    db.shown        # postgresql://app:***@db/warehouse
    with db.connect(readonly=True) as conn: ...

A URL, a connection name of ``batchyard.toml`` or a path: a SQLite file, or CSV, JSON and Parquet
files (a file, a folder or a glob) read through DuckDB. Relative paths are resolved against ``root``
(the working folder if not given) and ``~`` is expanded, so what is checked is what is opened.
"""

from __future__ import annotations

import glob as globlib
import os
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from batchyard.db import connect as opener
from batchyard.db.files import file_tables, is_file_target, open_files
from batchyard.db.url import (
    Dialect,
    dialect_of,
    parse,
    parse_url,
    psycopg_dsn,
    resolve,
    sqlite_file,
    sqlite_url,
    uses_uri,
)
from batchyard.db.wrap import CONNECTING, wrap_errors
from batchyard.errors import UsageError
from batchyard.secrets import interpolate, mask_url


@dataclass(frozen=True)
class Database:
    """Where a database is and how to open it. Equal databases open the same thing; a Database
    is hashable and picklable (verify's worker processes key their connections by it)."""

    dialect: Dialect
    #: The URL, password in clear (never show it: use ``shown``); for files, the path or glob.
    url: str
    #: What messages name: the URL with its password masked, or the path as given.
    shown: str = field(compare=False)
    #: The SQLite file (None: in memory) or the files' absolute path or glob; None for PostgreSQL.
    path: Path | None = None

    @classmethod
    def of(
        cls,
        text: str,
        *,
        connections: Mapping[str, str] | None = None,
        root: Path | None = None,
    ) -> Database:
        """The database ``text`` names: a connection of ``connections`` (its ``${VAR}`` read
        now), a URL, or a path. Other URL schemes are refused with a :class:`UsageError`."""
        base = (root or Path.cwd()).resolve()
        if connections and text in connections:
            text = interpolate(connections[text], where=f"[connections] {text}")
        if "://" not in text:
            if is_file_target(text):
                return cls._files(text, base)
            path = resolve(text, base)
            return cls(Dialect.SQLITE, sqlite_url(path), str(path), path)
        parsed = parse(text)
        dialect = dialect_of(parsed, text)
        if dialect is Dialect.POSTGRESQL:
            parsed = parse_url(text)
            return cls(dialect, parsed.render_as_string(hide_password=False), mask_url(text))
        file = sqlite_file(parsed, base)
        if file is not None and not uses_uri(parsed):
            parsed = parsed.set(database=str(file))  # what SQLite opens, whatever the folder
        url = parsed.render_as_string(hide_password=False)
        return cls(dialect, url, mask_url(url), file)

    @classmethod
    def _files(cls, text: str, base: Path) -> Database:
        expanded = os.path.expanduser(text)
        if globlib.has_magic(expanded):
            path = Path(os.path.abspath(os.path.join(base, expanded)))
        else:
            path = resolve(expanded, base)
        return cls(Dialect.FILES, str(path), text, path)

    # -- what the drivers take ---------------------------------------------------------------------

    @property
    def sa_url(self) -> sa.URL:
        """The SQLAlchemy URL (PostgreSQL through psycopg)."""
        if self.dialect is Dialect.FILES:
            raise UsageError(f"{self.shown}: files are read through DuckDB, not SQLAlchemy")
        return parse_url(self.url)

    @property
    def dsn(self) -> str:
        """The libpq connection string psycopg takes (PostgreSQL only)."""
        if self.dialect is not Dialect.POSTGRESQL:
            raise UsageError(f"{self.shown} is not a PostgreSQL database")
        return psycopg_dsn(parse(self.url))

    @property
    def memory(self) -> bool:
        """An in-memory SQLite database (gone when its connection closes)."""
        return self.dialect is Dialect.SQLITE and self.path is None

    # -- opening ---------------------------------------------------------------------------------

    def connect(self, *, readonly: bool = False, threads: int | None = None) -> Any:
        """A DB-API connection (autocommit): sqlite3, psycopg, or DuckDB for files (always
        read-only; ``threads`` caps DuckDB's). ``readonly`` connections refuse every write.
        Failures are :class:`~batchyard.errors.DatabaseError` naming the database."""
        with wrap_errors(self, CONNECTING):
            if self.dialect is Dialect.POSTGRESQL:
                return opener.postgres(self.dsn, readonly=readonly)
            if self.dialect is Dialect.FILES:
                return open_files(file_tables(self.url), threads=threads)
            if self.path is None:
                if readonly:
                    raise UsageError(f"{self.shown}: give a SQLite file, not an in-memory database")
                return opener.sqlite(":memory:")
            return opener.sqlite(self.path, readonly=readonly)

    def engine(
        self,
        *,
        readonly: bool = False,
        create: bool = True,
        synchronous: str = "normal",
        pool_size: int = 16,
        error: type[UsageError] = UsageError,
    ) -> Engine:
        """A SQLAlchemy engine (see :func:`batchyard.db.connect.create_engine`); bad input is a
        :class:`UsageError` (or the kind of it given as ``error``). The caller disposes of it."""
        if self.dialect is Dialect.FILES:
            raise UsageError(f"{self.shown}: files are read through DuckDB, not SQLAlchemy")
        return opener.create_engine(
            self.url,
            create=create,
            synchronous=synchronous,
            pool_size=pool_size,
            error=error,
            readonly=readonly,
        )

    def wrap_errors(self, doing: str = "") -> AbstractContextManager[None]:
        """Driver errors inside become batchyard errors naming this database (see
        :func:`batchyard.db.wrap.wrap_errors`)."""
        return wrap_errors(self, doing)
