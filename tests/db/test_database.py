"""``Database.of``: one parse of what a user typed into a dialect, a masked name and a file."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from batchyard.db import Database, Dialect, quote_identifier, quote_literal
from batchyard.errors import UsageError


def test_urls_of_every_spelling_are_one_dialect(tmp_path: Path) -> None:
    for text in ("postgres://app:pw@db/x", "postgresql://app:pw@db/x"):
        db = Database.of(text)
        assert db.dialect is Dialect.POSTGRESQL and db.path is None
        assert db.sa_url.drivername == "postgresql+psycopg"
        assert db.dsn == "postgresql://app:pw@db/x"
        assert db.shown.endswith("app:***@db/x") and "pw" not in db.shown
    assert Database.of("postgresql+psycopg://app@db/x").sa_url.drivername == "postgresql+psycopg"
    for text in ("sqlite:///w.db", "sqlite+pysqlite:///w.db", "SQLite:///w.db"):
        db = Database.of(text, root=tmp_path)
        assert db.dialect is Dialect.SQLITE and db.path == tmp_path.resolve() / "w.db", text
        assert db.sa_url.database == str(db.path)


def test_other_schemes_are_refused_naming_the_url_masked() -> None:
    with pytest.raises(UsageError, match=r"mysql://app:\*\*\*@db/x: batchyard reads sqlite") as e:
        Database.of("mysql://app:hunter2@db/x")
    assert "hunter2" not in str(e.value)
    with pytest.raises(UsageError, match="is not a database URL"):
        Database.of("postgresql://app@db:notaport/x")


def test_paths_are_resolved_against_the_root_and_home_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    root = tmp_path / "project"
    assert Database.of("sub/../w.db", root=root).path == root / "w.db"
    assert Database.of("~/w.sqlite").path == tmp_path / "home" / "w.sqlite"
    assert Database.of("sqlite:///~/w.db").path == tmp_path / "home" / "w.db"
    monkeypatch.chdir(tmp_path)
    assert Database.of("w.db") == Database.of(f"sqlite:///{tmp_path / 'w.db'}")
    memory = Database.of("sqlite://")
    assert memory.memory and memory.path is None


def test_a_connection_name_is_looked_up_and_its_secrets_read_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BY_TEST_PW", "s3cret")
    connections = {"wh": "postgresql://app:${BY_TEST_PW}@db/wh", "local": "sqlite:///w.db"}
    db = Database.of("wh", connections=connections)
    assert db.dsn == "postgresql://app:s3cret@db/wh" and "s3cret" not in db.shown
    assert Database.of("local", connections=connections, root=tmp_path).path == tmp_path / "w.db"


def test_data_files_folders_and_globs_are_the_files_dialect(tmp_path: Path) -> None:
    (tmp_path / "bets.csv").write_text("id,stake\n1,2.5\n2,3\n")
    (tmp_path / "odd?.db").write_bytes(b"")
    for text in ("bets.csv", ".", "*.csv", "b*.parquet"):
        db = Database.of(text, root=tmp_path)
        assert db.dialect is Dialect.FILES and db.shown == text, text
    assert Database.of("odd?.db", root=tmp_path).dialect is Dialect.SQLITE  # a file, not a glob
    conn = Database.of("bets.csv", root=tmp_path).connect()
    try:
        assert conn.execute("SELECT sum(stake) FROM bets").fetchone() == (5.5,)
    finally:
        conn.close()


def test_a_database_is_a_value_workers_can_key_connections_by() -> None:
    db = Database.of("postgresql://app:pw@db/x")
    again = pickle.loads(pickle.dumps(db))
    assert again == db and hash(again) == hash(db)
    assert Dialect.SQLITE.param == "?" and Dialect.POSTGRESQL.param == "%s"
    assert Dialect.SQLITE == "sqlite"  # SQL written per dialect still compares by name


def test_quoting() -> None:
    assert quote_identifier('my "t"') == '"my ""t"""'
    assert quote_literal("it's") == "'it''s'"
