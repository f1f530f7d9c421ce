"""The target-side checkpoint table on real SQLite and PostgreSQL: a batch and its checkpoint commit
together or not at all, a second writer is stopped, and tables made by earlier releases still work."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from batchyard.db import Database, Dialect, ledger
from batchyard.errors import ChunkMoved

#: The table as earlier releases made it, letter for letter.
EARLIER_DDL = {
    Dialect.SQLITE: "CREATE TABLE IF NOT EXISTS _batchyard_migrate (chunk TEXT PRIMARY KEY, "
    "table_name TEXT NOT NULL, done_upto INTEGER, rows INTEGER NOT NULL DEFAULT 0, "
    "finished INTEGER NOT NULL DEFAULT 0)",
    Dialect.POSTGRESQL: "CREATE TABLE IF NOT EXISTS _batchyard_migrate (chunk TEXT PRIMARY KEY, "
    "table_name TEXT NOT NULL, done_upto BIGINT, rows BIGINT NOT NULL DEFAULT 0, "
    "finished BOOLEAN NOT NULL DEFAULT false)",
}


@pytest.fixture
def target(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Database:
    if backend == "sqlite":
        return Database.of(str(tmp_path / "target.db"))
    return Database.of(str(request.getfixturevalue("pg_database")))


@pytest.fixture
def conn(target: Database) -> Iterator[Any]:
    connection = target.connect()
    connection.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY)")
    yield connection
    connection.close()


def rows(conn: Any) -> int:
    return int(conn.execute("SELECT count(*) FROM rows").fetchone()[0])


def insert(conn: Any, target: Database, ids: range) -> int:
    p = target.dialect.param
    for i in ids:
        conn.execute(f"INSERT INTO rows VALUES ({p})", (i,))
    return len(ids)


def test_the_table_is_the_one_earlier_releases_made(target: Database, conn: Any) -> None:
    assert ledger.DDL[target.dialect] == EARLIER_DDL[target.dialect]
    conn.execute(EARLIER_DDL[target.dialect])  # a target a migration wrote before this release
    p = target.dialect.param
    conn.execute(
        f"INSERT INTO _batchyard_migrate (chunk, table_name, done_upto, rows) "
        f"VALUES ({p}, 'rows', 40, 40)",
        ("old#0",),
    )
    ledger.create(conn, target.dialect)  # idempotent
    assert ledger.exists(conn, target.dialect)
    assert ledger.read(conn, target.dialect, "old#0") == ledger.Checkpoint(40, False)
    assert ledger.read(conn, target.dialect, "never") == ledger.Checkpoint(None, False)


def test_a_batch_and_its_checkpoint_commit_together(target: Database, conn: Any) -> None:
    d = target.dialect
    ledger.create(conn, d)
    assert ledger.open_chunk(conn, d, "job:rows#0", "rows") == ledger.Checkpoint()
    with ledger.batch(conn, d, "job:rows#0", "rows", expected=None, upto=10, last=False) as b:
        b.rows = insert(conn, target, range(10))
    assert ledger.read(conn, d, "job:rows#0") == ledger.Checkpoint(10, False)
    with (
        pytest.raises(RuntimeError, match="crash"),
        ledger.batch(conn, d, "job:rows#0", "rows", expected=10, upto=20, last=True) as b,
    ):
        b.rows = insert(conn, target, range(10, 20))
        raise RuntimeError("crash")
    # Neither the rows nor the checkpoint of the failed batch are there: it is copied again.
    assert rows(conn) == 10 and ledger.read(conn, d, "job:rows#0").done_upto == 10
    with ledger.batch(conn, d, "job:rows#0", "rows", expected=10, upto=20, last=True) as b:
        b.rows = insert(conn, target, range(10, 20))
    assert ledger.read(conn, d, "job:rows#0") == ledger.Checkpoint(20, True)
    assert ledger.rows_by_table(conn, "job:", ["rows", "other"]) == {"rows": 20, "other": 0}


def test_a_writer_whose_checkpoint_moved_is_stopped(target: Database, conn: Any) -> None:
    d = target.dialect
    ledger.create(conn, d)
    with ledger.batch(conn, d, "c#0", "rows", expected=None, upto=5, last=False) as b:
        b.rows = insert(conn, target, range(5))
    # A second writer that still believes the chunk is at its start writes nothing.
    with (
        pytest.raises(ChunkMoved, match="another writer"),
        ledger.batch(conn, d, "c#0", "rows", expected=None, upto=5, last=False) as b,
    ):
        b.rows = insert(conn, target, range(100, 105))
    assert rows(conn) == 5


def test_markers_and_forgetting_a_jobs_checkpoints(target: Database, conn: Any) -> None:
    d = target.dialect
    ledger.create(conn, d)
    ledger.mark(conn, d, "@schema:job_1")
    ledger.mark(conn, d, "@schema:job_1")  # once
    ledger.mark(conn, d, "@made:job_1:rows", "rows")
    with ledger.batch(conn, d, "job_1:rows#0", "rows", expected=None, upto=None, last=True):
        pass
    assert ledger.marked(conn, d, "@schema:job_1") and not ledger.marked(conn, d, "@schema:x")
    # ``_`` and ``%`` in a job id are matched as themselves, not as LIKE wildcards.
    assert ledger.forget(conn, d, prefixes=["job%1:"]) == 0
    assert ledger.forget(conn, d, prefixes=["job_1:", "@made:job_1:"]) == 2
    assert not ledger.drop_if_empty(conn, d)
    assert ledger.forget(conn, d, chunks=["@schema:job_1"]) == 1
    assert ledger.drop_if_empty(conn, d) and not ledger.exists(conn, d)
    assert not ledger.drop_if_empty(conn, d)
