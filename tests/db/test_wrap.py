"""Driver errors become the error tree, one line naming the database (masked) and what to do."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from batchyard.db import Database, is_driver_error, reason, wrap_errors
from batchyard.errors import CannotConnect, DatabaseError, NoSuchTable, NotADatabase, UsageError


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "FATAL" not in text and "connection to server" not in text
    assert isinstance(exc.value, UsageError) and exc.value.exit_code == 2
    assert exc.value.__cause__ is not None  # the driver's error stays on the chain
    return text


def test_a_refused_port(pg_admin_url: str) -> None:
    db = Database.of("postgresql://app:hunter2@127.0.0.1:1/x")
    with pytest.raises(CannotConnect) as exc:
        db.connect()
    assert one_line(exc) == (
        "cannot connect to postgresql://app:***@127.0.0.1:1/x: connection refused; "
        "is the server running there, on that port?"
    )


def test_a_missing_database_and_a_missing_user(pg_database: str) -> None:
    gone = sa.make_url(pg_database).set(database="by_no_such_db")
    db = Database.of(gone.render_as_string(hide_password=False))
    with pytest.raises(CannotConnect) as exc:
        db.connect(readonly=True)
    assert one_line(exc) == (
        f'database "by_no_such_db" does not exist on {db.shown}: create it first, or check the name'
    )
    nobody = sa.make_url(pg_database).set(username="nobody", password="hunter2")
    with pytest.raises(CannotConnect) as exc:
        Database.of(nobody.render_as_string(hide_password=False)).connect()
    text = one_line(exc)
    assert '"nobody"' in text and "hunter2" not in text and "check the user" in text


def test_a_file_that_is_not_a_database_and_a_missing_file(tmp_path: Path) -> None:
    notes = tmp_path / "notadb.db"
    notes.write_text("day,score\n2024-06-01,3\n")
    with pytest.raises(NotADatabase) as exc:
        Database.of(str(notes)).connect(readonly=True)
    assert one_line(exc) == (
        f"{notes} is not a SQLite database (give a SQLite file or a postgresql:// URL)"
    )
    missing = Database.of(str(tmp_path / "missing.db"))
    with pytest.raises(CannotConnect) as exc:
        missing.connect(readonly=True)
    assert one_line(exc) == f"cannot open {tmp_path / 'missing.db'}: there is no such file"
    assert not (tmp_path / "missing.db").exists()  # read-only never makes the file


def test_a_missing_table_on_each_dialect(tmp_path: Path, pg_database: str) -> None:
    path = tmp_path / "w.db"
    sqlite3.connect(path).close()
    (tmp_path / "t.csv").write_text("a\n1\n")
    for db in (
        Database.of(str(path)),
        Database.of(pg_database),
        Database.of(str(tmp_path / "t.csv")),
    ):
        conn = db.connect(readonly=True) if db.dialect != "files" else db.connect()
        try:
            with pytest.raises(NoSuchTable) as exc, wrap_errors(db, "SELECT * FROM bets"):
                conn.execute("SELECT * FROM bets")
            assert one_line(exc) == f"{db.shown} has no table 'bets'", db.dialect
        finally:
            conn.close()


def test_other_driver_errors_name_the_database_and_the_sql(tmp_path: Path) -> None:
    db = Database.of(str(tmp_path / "w.db"))
    conn = db.connect()
    try:
        with pytest.raises(DatabaseError) as exc, db.wrap_errors("SELECT nope()"):
            conn.execute("SELECT nope()")
        assert one_line(exc) == f"{db.shown}: no such function: nope: SELECT nope()"
        with pytest.raises(KeyError), db.wrap_errors():  # not a driver's: passes untouched
            raise KeyError("x")
    finally:
        conn.close()


def test_reason_is_the_drivers_first_line_without_decoration(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT * FROM nothing_here")
    except sa.exc.DBAPIError as exc:
        assert reason(exc) == "no such table: nothing_here"
        assert is_driver_error(exc) and is_driver_error(exc.orig)
    finally:
        engine.dispose()
    assert not is_driver_error(ValueError("x"))
    assert reason(RuntimeError("")) == "RuntimeError"
