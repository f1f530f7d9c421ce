"""Opening a real SQLite file or PostgreSQL database: read-only really refuses writes, and file
names that mean something in a URI (``%``, ``?``, ``#``) or hold spaces open the file they name."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from batchyard.db import Database, Dialect, connect


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    """A database with one table ``t`` of one row, on the backend under test."""
    if backend == "sqlite":
        db = Database.of(str(tmp_path / "w.db"))
    else:
        db = Database.of(str(request.getfixturevalue("pg_database")))
    conn = db.connect()
    try:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.execute("INSERT INTO t VALUES (1, 'a')")
    finally:
        conn.close()
    return db


def test_read_only_connections_refuse_every_write(database: Database) -> None:
    conn = database.connect(readonly=True)
    try:
        assert conn.execute("SELECT v FROM t").fetchall() == [("a",)]
        for sql in ("INSERT INTO t VALUES (2, 'b')", "DROP TABLE t", "CREATE TABLE u (x INT)"):
            with pytest.raises(Exception, match=r"read-only|readonly"):
                conn.execute(sql)
    finally:
        conn.close()
    engine = database.engine(readonly=True, pool_size=1)
    try:
        with engine.connect() as sa_conn, pytest.raises(Exception, match=r"read-only|readonly"):
            sa_conn.exec_driver_sql("DELETE FROM t")
    finally:
        engine.dispose()
    conn = database.connect()
    try:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)
    finally:
        conn.close()


def test_postgresql_sessions_write_values_the_same_way(pg_database: str) -> None:
    conn = Database.of(pg_database).connect(readonly=True)
    try:
        assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)
        assert conn.execute("SHOW DateStyle").fetchone() == ("ISO, YMD",)
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
    finally:
        conn.close()


def test_a_sqlite_file_named_with_uri_characters_opens(tmp_path: Path) -> None:
    path = tmp_path / "odd 100% sure? #1.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE t (x INTEGER)")
        con.execute("INSERT INTO t VALUES (7)")
    con.close()
    for db in (Database.of(str(path)), Database.of(Database.of(str(path)).url)):
        assert db.dialect is Dialect.SQLITE and db.path == path
        for readonly in (True, False):
            conn = db.connect(readonly=readonly)
            try:
                assert conn.execute("SELECT x FROM t").fetchone() == (7,)
            finally:
                conn.close()
        engine = db.engine(readonly=True, pool_size=1)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("SELECT x FROM t").scalar() == 7
        finally:
            engine.dispose()
    # Nothing was made next to it under a cut-off name.
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_an_in_memory_database_cannot_be_opened_read_only() -> None:
    db = Database.of("sqlite://")
    conn = db.connect()
    conn.close()
    with pytest.raises(Exception, match="give a SQLite file"):
        db.connect(readonly=True)


def test_a_postgresql_connection_with_transactions_of_its_own(pg_database: str) -> None:
    """``autocommit=False``: psycopg's transactions, the session's settings kept through a
    rollback; ``settings=False``: the database's own forms (what the copy paths read and write)."""
    dsn = Database.of(pg_database).dsn
    admin = connect.postgres(dsn)
    try:
        admin.execute(f"ALTER DATABASE {admin.info.dbname} SET TimeZone = 'Asia/Tokyo'")
    finally:
        admin.close()
    conn = connect.postgres(dsn, autocommit=False, readonly=True)
    try:
        assert not conn.autocommit
        conn.execute("SELECT 1")
        assert conn.info.transaction_status.name == "INTRANS"
        conn.rollback()
        assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)
        with pytest.raises(Exception, match="read-only"):
            conn.execute("CREATE TABLE u (x INT)")
    finally:
        conn.close()
    with connect.postgres(dsn, autocommit=False, settings=False) as conn:
        assert conn.execute("SHOW TimeZone").fetchone() == ("Asia/Tokyo",)
        conn.execute("CREATE TABLE u (x INT)")
    # Used as a context manager the connection committed its transaction on the way out.
    with connect.postgres(dsn) as conn:
        assert conn.execute("SELECT count(*) FROM u").fetchone() == (0,)


def test_a_scratch_database_is_its_own_and_any_thread_may_use_it() -> None:
    first, second = connect.scratch(), connect.scratch()
    try:
        first.execute("CREATE TABLE d (c)")
        first.execute("INSERT INTO d VALUES (1)")
        assert not first.in_transaction  # autocommit
        assert second.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.extend(first.execute("SELECT c FROM d")))
        thread.start()
        thread.join()
        assert seen == [(1,)]
    finally:
        first.close()
        second.close()


def test_a_sqlite_connection_waits_for_a_locked_file_as_long_as_it_is_told(
    tmp_path: Path,
) -> None:
    path = tmp_path / "locked.db"
    holder = connect.sqlite(path)
    try:
        holder.execute("CREATE TABLE t (x INTEGER)")
        holder.execute("BEGIN IMMEDIATE")
        waiter = connect.sqlite(path, timeout=0.2)
        try:
            started = time.monotonic()
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                waiter.execute("BEGIN IMMEDIATE")
            assert time.monotonic() - started < 10  # not the 60 s a connection waits by default
        finally:
            waiter.close()
        holder.execute("ROLLBACK")
    finally:
        holder.close()
