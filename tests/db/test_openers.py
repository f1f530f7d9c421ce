"""The openers import, export, backup and restore use: a PostgreSQL session whose statements run in
a transaction, DuckDB in memory with its limits, PostgreSQL values as SQLite stores them, and a
checkpointed batch on a SQLite file whose disk fills up."""

from __future__ import annotations

import math
import sqlite3
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from batchyard.db import Database, ledger
from batchyard.db.connect import postgres, sqlite
from batchyard.db.files import open_duckdb
from batchyard.db.types import sqlite_converter


def test_a_session_without_autocommit_commits_when_its_block_ends(pg_database: str) -> None:
    dsn = Database.of(pg_database).dsn
    with postgres(dsn) as setup:
        setup.execute("CREATE TABLE t (id int)")
    with postgres(dsn, autocommit=False) as pg, postgres(dsn) as other:
        pg.execute("INSERT INTO t VALUES (1)")
        assert other.execute("SELECT count(*) FROM t").fetchone() == (0,)  # not committed yet
        pg.rollback()
        # The session's settings were made before any transaction: a rollback keeps them.
        assert pg.execute("SHOW TimeZone").fetchone() == ("UTC",)
        pg.execute("INSERT INTO t VALUES (2)")
    with postgres(dsn) as check:
        assert check.execute("SELECT id FROM t").fetchall() == [(2,)]


def test_a_read_only_session_without_autocommit_refuses_writes(pg_database: str) -> None:
    dsn = Database.of(pg_database).dsn
    with (
        postgres(dsn, readonly=True, autocommit=False) as pg,
        pytest.raises(Exception, match="read-only"),
    ):
        pg.execute("CREATE TABLE u (id int)")


def test_duckdb_in_memory_keeps_to_its_limits() -> None:
    con = open_duckdb(threads=1, memory_limit="32MB")
    try:
        assert con.execute("SELECT current_setting('threads')").fetchone() == (1,)
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert limit is not None and limit[0].startswith(("30.5 MiB", "32.0 MB", "32 MB"))
        assert con.execute("SHOW TABLES").fetchall() == []  # a database of its own
    finally:
        con.close()


def test_postgresql_values_become_what_sqlite_stores() -> None:
    def to(logical: str, value: object) -> object:
        convert = sqlite_converter(logical)
        return value if convert is None else convert(value)

    assert to("datetime", datetime(2024, 5, 1, 10, 30)) == "2024-05-01 10:30:00"
    assert to("date", date(2024, 5, 1)) == "2024-05-01"
    assert to("decimal", Decimal("12.50")) == 12.5
    assert to("decimal", Decimal("12345678901234567890.5")) == "12345678901234567890.5"
    assert to("uuid", UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert to("json", {"a": [1, "é"]}) == '{"a": [1, "é"]}'
    assert to("blob", memoryview(b"\x00\x01")) == b"\x00\x01"
    # An untyped column's jsonb copy: scalars as they are, blobs and odd reals from their tags.
    assert to("any", {"$b64": "AAE="}) == b"\x00\x01"
    negative_zero = to("any", {"$real": "-0.0"})
    assert isinstance(negative_zero, float) and math.copysign(1, negative_zero) < 0
    assert to("any", {"$real": "Infinity"}) == math.inf
    assert to("any", [1, 2]) == "[1, 2]"
    assert to("any", 7) == 7
    assert to("integer", 7) == 7 and sqlite_converter("integer") is None
    for logical in ("datetime", "decimal", "uuid", "json", "blob", "any"):
        assert to(logical, None) is None


def test_a_batch_that_fills_the_disk_shows_that_error(tmp_path: Path) -> None:
    """SQLite ends the transaction itself on SQLITE_FULL: the batch says so, not "cannot
    rollback", and the checkpoint stays at the last batch committed."""
    conn = sqlite(tmp_path / "t.db")
    conn.execute("CREATE TABLE rows (pad TEXT)")
    ledger.create(conn, "sqlite")
    conn.execute("PRAGMA max_page_count = 8")  # as on a full disk
    with (
        pytest.raises(sqlite3.OperationalError, match="full"),
        ledger.batch(conn, "sqlite", "c#0", "rows", expected=None, upto=10, last=False),
    ):
        conn.executemany("INSERT INTO rows VALUES (?)", [("x" * 1000,)] * 100)
    assert not conn.in_transaction
    assert ledger.read(conn, "sqlite", "c#0") == ledger.Checkpoint()
    assert conn.execute("SELECT count(*) FROM rows").fetchone() == (0,)
    conn.close()
