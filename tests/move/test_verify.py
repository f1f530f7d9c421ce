"""verify: identical copies agree, every kind of difference is found by key, bad input is refused.

Copies are made here, not by migrate, so these tests say what verify does whoever wrote the data:
a SQLite table, a second SQLite file, and PostgreSQL copies in the types of the documented mapping
(db/types.py), values converted as migrate converts them.
"""

from __future__ import annotations

import base64
import json
import math
import os
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.db import quote_identifier as qi
from batchyard.db.reflect import describe
from batchyard.db.types import from_sqlite
from batchyard.errors import UsageError
from batchyard.move import diff as rowdiff
from batchyard.move import verify as v
from batchyard.move import workers
from batchyard.move.canonical import canonical, canonical_json, fingerprint, same
from batchyard.move.spans import CHUNK_ROWS, plan
from batchyard.move.verify import pair_table
from conftest import cli

ODD = 'odd "name" table'
ODD_DDL = """CREATE TABLE "odd ""name"" table" (
    "select" INTEGER NOT NULL, "group id" TEXT NOT NULL, txt TEXT, amount NUMERIC(12,2),
    exact NUMERIC, flt REAL, big INTEGER, ok BOOLEAN, day DATE, at TIMESTAMP, tm TIME, doc JSON,
    uid UUID, raw BLOB, mixed, PRIMARY KEY ("select", "group id"))"""
ODD_ROWS: list[tuple[Any, ...]] = [
    (
        1,
        "a",
        "",
        12.34,
        0.1,
        0.0,
        2**63 - 1,
        1,
        "2024-02-29",
        "2024-06-01 12:34:56",
        "08:00:00",
        '{"b": 1, "a": [1.50, "x"]}',
        "12345678-1234-5678-1234-567812345678",
        b"\x00\xff",
        1,
    ),
    (
        1,
        "b",
        None,
        5,
        "123456789012345678901234.5678",
        1e308,
        -(2**63),
        0,
        None,
        "2024-06-01T12:34:56.123400",
        "23:59:59.5",
        "[]",
        None,
        b"",
        2.5,
    ),
    (
        2,
        "Zoë 李 😀",
        "Zoë 李 😀 \"q\" 's' \\ \t\n",
        None,
        None,
        5e-324,
        0,
        None,
        "1999-12-31",
        None,
        None,
        None,
        "ABCDEF01-2345-6789-ABCD-EF0123456789",
        None,
        "text",
    ),
    (
        3,
        'it\'s "x"',
        "NULL",
        99.99,
        5,
        float("inf"),
        42,
        1,
        None,
        "2000-01-01 00:00:00",
        None,
        '{"k": null}',
        None,
        None,
        b"\x01\x02",
    ),
    (4, "e", "\\N", 0.5, None, float("-inf"), None, None, None, None, None, None, None, None, None),
    (5, "f", "x", None, None, 1 / 3, 1, 0, None, None, None, None, None, None, ""),
    (
        6,
        "g",
        " ",
        None,
        None,
        1.7976931348623157e308,
        -1,
        1,
        None,
        None,
        None,
        None,
        None,
        None,
        -7,
    ),
]
OTHER_DDL = [
    "CREATE TABLE nokey (x TEXT, y REAL)",
    "CREATE TABLE pitches (id INTEGER PRIMARY KEY, speed REAL, kind TEXT, at TIMESTAMP)",
    "CREATE TABLE teams (code TEXT PRIMARY KEY, name TEXT)",
]
PITCHES = 20_000  # several ranges, so differences are bisected


def make_sqlite(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute(ODD_DDL)
    for ddl in OTHER_DDL:
        con.execute(ddl)
    con.executemany(f"INSERT INTO {qi(ODD)} VALUES ({', '.join('?' * 15)})", ODD_ROWS)
    con.executemany("INSERT INTO nokey VALUES (?, ?)", [("a", 1.0), ("a", 1.0), (None, None)])
    con.executemany(
        "INSERT INTO teams VALUES (?, ?)",
        [("NYY", "Yankees"), ("BOS", "Red Sox"), ("ÅLB", "Ålborg"), ("", "empty")],
    )
    con.execute(
        "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
        "INSERT INTO pitches SELECT i * 3, 70 + (i % 300) / 10.0, 'FF', "
        "datetime('2015-04-01', '+' || i || ' minutes') FROM s",
        (PITCHES,),
    )
    con.commit()
    con.close()


def _pg_value(value: Any, logical: str) -> Any:
    """A SQLite value as migrate writes it into its PostgreSQL type."""
    if value is None:
        return None
    if logical == "boolean":
        return bool(value)
    if logical == "decimal":
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if logical == "any":
        if isinstance(value, bytes):
            return Jsonb({"$b64": base64.b64encode(value).decode()})
        return Jsonb(value)
    return value


def copy_to_postgres(sqlite_path: Path, url: str) -> None:
    src = sqlite3.connect(sqlite_path)
    tables = [r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    with psycopg.connect(
        sa.make_url(url).set(drivername="postgresql").render_as_string(False), autocommit=True
    ) as pg:
        for table in tables:
            info = src.execute(f"PRAGMA table_info({qi(table)})").fetchall()
            types = [from_sqlite(r[2]) for r in info]
            cols = [f"{qi(r[1])} {t.postgres()}" for r, t in zip(info, types, strict=True)]
            key = [r[1] for r in sorted(info, key=lambda r: r[5]) if r[5]]
            if key:
                cols.append(f"PRIMARY KEY ({', '.join(qi(k) for k in key)})")
            pg.execute(f"CREATE TABLE {qi(table)} ({', '.join(cols)})")
            for r, t in zip(info, types, strict=True):
                if t.logical == "any":
                    pg.execute(f"COMMENT ON COLUMN {qi(table)}.{qi(r[1])} IS 'batchyard:any'")
            with pg.cursor() as cur, cur.copy(f"COPY {qi(table)} FROM STDIN") as copy:
                for row in src.execute(f"SELECT * FROM {qi(table)}"):
                    copy.write_row(
                        [_pg_value(x, t.logical) for x, t in zip(row, types, strict=True)]
                    )
    src.close()


@pytest.fixture
def second_pg(pg_admin: sa.Engine, pg_database: str) -> Iterator[str]:
    """Another fresh PostgreSQL database on the same server."""
    name = f"{sa.make_url(pg_database).database}_b"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    yield sa.make_url(pg_database).set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite-sqlite", "sqlite-postgresql", "postgresql-postgresql"])
def pair(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """Source and target URLs holding the same rows."""
    src = tmp_path / "src.db"
    make_sqlite(src)
    kind = str(request.param)
    if kind == "sqlite-sqlite":
        shutil.copy(src, tmp_path / "dst.db")
        return f"sqlite:///{src}", f"sqlite:///{tmp_path / 'dst.db'}"
    target = str(request.getfixturevalue("pg_database"))
    copy_to_postgres(src, target)
    if kind == "sqlite-postgresql":
        return f"sqlite:///{src}", target
    other = str(request.getfixturevalue("second_pg"))
    copy_to_postgres(src, other)
    return target, other


def execute(url: str, sql: str, *params: Any) -> None:
    if url.startswith("sqlite"):
        con = sqlite3.connect(sa.make_url(url).database or "")
        con.execute(sql.replace("%s", "?"), params)
        con.commit()
        con.close()
        return
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute(sql, params)


def many(url: str, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if url.startswith("sqlite"):
        con = sqlite3.connect(sa.make_url(url).database or "")
        con.executemany(sql.replace("%s", "?"), rows)
        con.commit()
        con.close()
        return
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(dsn, autocommit=True) as pg, pg.cursor() as cur:
        cur.executemany(sql, rows)


def check(src: str, dst: str, table: str, **kw: Any) -> v.TableResult:
    return v.verify_table(src, dst, table, diff=True, **kw)


# -- identical copies agree --------------------------------------------------------------------------


def test_identical_copies_agree(pair: tuple[str, str]) -> None:
    src, dst = pair
    for table in (ODD, "nokey", "pitches", "teams"):
        result = check(src, dst, table)
        assert result.status == v.IDENTICAL, (table, result.to_dict())
        assert result.diff == []
        assert result.source_rows == result.target_rows
    odd = check(src, dst, ODD)
    assert odd.key == ["select", "group id"] and odd.source_rows == len(ODD_ROWS)
    pitches = check(src, dst, "pitches")
    assert pitches.source_checksum == pitches.target_checksum and pitches.ranges > 4
    # The checksum does not depend on which side is the source, nor on the run.
    again = check(dst, src, "pitches")
    assert again.source_checksum == pitches.target_checksum


# -- each kind of difference is found by key, with its columns -----------------------------------

CHANGES = [
    # (column, key, new value as SQLite holds it): one value differs, nothing else.
    ("txt", (1, "a"), None),  # '' -> NULL
    ("txt", (1, "b"), ""),  # NULL -> ''
    ("txt", (2, "Zoë 李 😀"), "Zoë 李 😀 \"q\" 's' \\ \t"),  # the newline dropped
    ("amount", (1, "a"), 12.35),
    ("exact", (1, "a"), 0.11),
    ("flt", (5, "f"), math.nextafter(1 / 3, 1)),  # the last bit
    ("flt", (1, "b"), 1e307),
    ("big", (1, "a"), 2**63 - 2),
    ("big", (6, "g"), -2),  # -1 -> -2 (which Python's int hash cannot tell apart)
    ("ok", (1, "a"), 0),
    ("day", (1, "a"), "2024-03-01"),
    ("at", (1, "b"), "2024-06-01 12:34:56.1235"),
    ("tm", (1, "b"), "23:59:59.6"),
    ("doc", (1, "a"), '{"a": [1.5, "x"], "b": 2}'),
    ("uid", (2, "Zoë 李 😀"), "abcdef01-2345-6789-abcd-ef0123456780"),
    ("raw", (1, "a"), b"\x00\xfe"),
    ("mixed", (1, "a"), 1.0),  # an integer 1 -> a real 1.0
    ("mixed", (3, 'it\'s "x"'), "\x01\x02"),  # a blob -> text
]
COLUMNS = [
    "select",
    "group id",
    "txt",
    "amount",
    "exact",
    "flt",
    "big",
    "ok",
    "day",
    "at",
    "tm",
    "doc",
    "uid",
    "raw",
    "mixed",
]
TYPES = [
    from_sqlite(t)
    for t in [
        "INTEGER",
        "TEXT",
        "TEXT",
        "NUMERIC(12,2)",
        "NUMERIC",
        "REAL",
        "INTEGER",
        "BOOLEAN",
        "DATE",
        "TIMESTAMP",
        "TIME",
        "JSON",
        "UUID",
        "BLOB",
        "",
    ]
]


def set_value(url: str, column: str, key: tuple[int, str], value: Any) -> None:
    logical = TYPES[COLUMNS.index(column)]
    pg = url.startswith("postgresql")
    param = _pg_value(value, logical.logical) if pg else value
    mark = f"%s::{logical.postgres()}" if pg else "%s"
    execute(
        url,
        f'UPDATE {qi(ODD)} SET {qi(column)} = {mark} WHERE "select" = %s AND "group id" = %s',
        param,
        *key,
    )


def test_each_changed_value_is_found_by_key_and_column(pair: tuple[str, str]) -> None:
    src, dst = pair
    rows = {(r[0], r[1]): r for r in ODD_ROWS}
    for column, key, value in CHANGES:
        set_value(dst, column, key, value)
        result = check(src, dst, ODD)
        assert result.status == v.DIFFERENT, (column, key)
        assert result.diff is not None and len(result.diff) == 1, (column, result.to_dict())
        found = result.diff[0]
        assert (found.kind, found.columns) == ("changed", [column]), (column, found)
        assert found.key == {"select": key[0], "group id": key[1]}
        assert result.counts() == {"missing": 0, "extra": 0, "changed": 1}
        set_value(dst, column, key, rows[key][COLUMNS.index(column)])
        assert check(src, dst, ODD).status == v.IDENTICAL, (column, key)


def test_negative_zero_is_not_zero(pair: tuple[str, str]) -> None:
    src, dst = pair
    if src.startswith("sqlite"):
        # A SQLite REAL column cannot hold -0.0 (it stores 0.0); an untyped one can.
        execute(src, f'UPDATE {qi(ODD)} SET mixed = -0.0 WHERE "select" = 5')
        assert check(src, dst, ODD).diff[0].columns == ["mixed"]  # type: ignore[index]
        return
    execute(
        dst,
        f"UPDATE {qi(ODD)} SET flt = '-0'::float8 WHERE \"select\" = 1 AND \"group id\" = 'a'",
    )
    result = check(src, dst, ODD)
    assert result.diff and result.diff[0].columns == ["flt"]
    assert result.diff[0].target == {"flt": -0.0}


def test_missing_extra_and_changed_rows_are_found_by_key(pair: tuple[str, str]) -> None:
    src, dst = pair
    deleted, changed, inserted = [3 * 17, 3 * 9000], [3 * 5, 3 * 19_999], [7, 3 * PITCHES + 3, -1]
    for key in deleted:
        execute(dst, "DELETE FROM pitches WHERE id = %s", key)
    for key in changed:
        execute(dst, "UPDATE pitches SET kind = 'SL' WHERE id = %s", key)
    for key in inserted:
        execute(dst, "INSERT INTO pitches (id, speed, kind) VALUES (%s, 90.5, 'CU')", key)
    result = check(src, dst, "pitches")
    assert result.status == v.DIFFERENT
    got = {(d.kind, d.key["id"]) for d in result.diff or []}
    assert got == {("missing", k) for k in deleted} | {("changed", k) for k in changed} | {
        ("extra", k) for k in inserted
    }
    assert all(d.columns == ["kind"] for d in result.diff or [] if d.kind == "changed")
    assert result.source_rows == PITCHES and result.target_rows == PITCHES + 1
    assert result.ranges_different <= len(deleted) + len(changed) + len(inserted)

    limited = check(src, dst, "pitches", max_diff=3)
    assert len(limited.diff or []) == 3 and limited.truncated
    plain = v.verify_table(src, dst, "pitches")
    assert plain.status == v.DIFFERENT and plain.diff is None


def test_far_off_keys_do_not_make_huge_ranges(pair: tuple[str, str]) -> None:
    src, dst = pair
    for url in pair:
        execute(url, "INSERT INTO pitches (id, kind) VALUES (%s, 'far')", 10**15)
    ends = v.databases(src, dst)
    conns = (ends[0].connect(readonly=True), ends[1].connect(readonly=True))
    try:
        tables = [describe(c, e.dialect, "pitches") for c, e in zip(conns, ends, strict=True)]
        found = pair_table("pitches", *tables, (ends[0].dialect, ends[1].dialect))
        spans = plan(found, ends, conns)
        sizes = [
            conns[0]
            .execute("SELECT count(*) FROM pitches" + (f" WHERE {w}" if w else ""), p)
            .fetchone()[0]
            for w, p in (s.where("id", ends[0].dialect.param) for s in spans)
        ]
    finally:
        for conn in conns:
            conn.close()
    assert sum(sizes) == PITCHES + 1 and max(sizes) <= 2 * CHUNK_ROWS, sizes
    execute(dst, "UPDATE pitches SET kind = 'SL' WHERE id = 300")
    result = check(src, dst, "pitches")
    assert [(d.key, d.columns) for d in result.diff or []] == [({"id": 300}, ["kind"])]


def test_a_table_without_a_key_is_a_multiset(pair: tuple[str, str]) -> None:
    src, dst = pair
    execute(dst, "DELETE FROM nokey WHERE x IS NULL")
    execute(dst, "INSERT INTO nokey VALUES ('b', 2.0)")
    result = check(src, dst, "nokey")
    assert result.key == [] and result.status == v.DIFFERENT
    assert sorted((d.kind, d.key["x"], d.count) for d in result.diff or []) == [
        ("extra", "b", 1),
        ("missing", None, 1),
    ]
    # One copy of a duplicated row less is a missing row too.
    execute(dst, "DELETE FROM nokey WHERE x = 'b'")
    execute(dst, "INSERT INTO nokey VALUES (NULL, NULL)")
    assert check(src, dst, "nokey").status == v.IDENTICAL
    execute(src, "INSERT INTO nokey VALUES ('a', 1.0)")
    result = check(src, dst, "nokey")
    assert [(d.kind, d.count) for d in result.diff or []] == [("missing", 1)]


def test_a_table_with_a_text_key_is_compared_by_key(pair: tuple[str, str]) -> None:
    src, dst = pair
    execute(dst, "UPDATE teams SET name = 'Red Sox ' WHERE code = 'BOS'")
    execute(dst, "DELETE FROM teams WHERE code = ''")
    execute(dst, "INSERT INTO teams VALUES ('nyy', 'Yankees')")
    result = check(src, dst, "teams")
    assert result.key == ["code"] and result.ranges == 1
    got = sorted((d.kind, d.key["code"], tuple(d.columns)) for d in result.diff or [])
    assert got == [("changed", "BOS", ("name",)), ("extra", "nyy", ()), ("missing", "", ())]


def test_big_ranges_without_an_integer_key_are_compared_bucket_by_bucket(
    pair: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Few rows stand for many: any range over 300 rows is too big to hold at once.
    monkeypatch.setattr(rowdiff, "BUDGET", 300)
    monkeypatch.setattr(rowdiff, "BUCKETS", 64)
    src, dst = pair
    for url in pair:
        execute(url, "CREATE TABLE refs (ref TEXT PRIMARY KEY, n INTEGER)")
        execute(url, "CREATE TABLE log (msg TEXT, n INTEGER)")
        rows = [(f"R{i:05}", i) for i in range(2000)]
        for table in ("refs", "log"):
            many(url, f"INSERT INTO {table} VALUES (%s, %s)", rows)
    for table, column in (("refs", "ref"), ("log", "msg")):
        execute(dst, f"UPDATE {table} SET n = -1 WHERE {column} IN ('R00007', 'R01500')")
        execute(dst, f"DELETE FROM {table} WHERE {column} = 'R00100'")
        execute(dst, f"INSERT INTO {table} VALUES ('R99999', 5)")
    refs = check(src, dst, "refs")
    assert sorted((d.kind, d.key["ref"], tuple(d.columns)) for d in refs.diff or []) == [
        ("changed", "R00007", ("n",)),
        ("changed", "R01500", ("n",)),
        ("extra", "R99999", ()),
        ("missing", "R00100", ()),
    ]
    log = check(src, dst, "log")
    assert sorted((d.kind, d.key["msg"], d.key["n"]) for d in log.diff or []) == [
        ("extra", "R00007", -1),
        ("extra", "R01500", -1),
        ("extra", "R99999", 5),
        ("missing", "R00007", 7),
        ("missing", "R00100", 100),
        ("missing", "R01500", 1500),
    ]
    limited = check(src, dst, "log", max_diff=2)
    assert len(limited.diff or []) == 2 and limited.truncated


def test_text_that_is_not_utf8_is_compared_as_it_is(tmp_path: Path) -> None:
    src, dst = tmp_path / "a.db", tmp_path / "b.db"
    for path in (src, dst):
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO t VALUES (1, CAST(x'ff41' AS TEXT)), (2, 'ok')")
        con.commit()
        con.close()
    assert check(f"sqlite:///{src}", f"sqlite:///{dst}", "t").status == v.IDENTICAL
    execute(f"sqlite:///{dst}", "UPDATE t SET name = CAST(x'fe41' AS TEXT) WHERE id = 1")
    result = check(f"sqlite:///{src}", f"sqlite:///{dst}", "t")
    assert [(d.key, d.columns) for d in result.diff or []] == [({"id": 1}, ["name"])]


def test_migrate_verify_checks_every_table_it_copied(tmp_path: Path, pg_database: str) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    with by.Batchyard(root=tmp_path) as app:
        job = app.run(
            "migrate",
            {"source": str(src), "target": pg_database, "verify": True},
            install_signals=False,
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
        log = " ".join(e.message for e in app.log(job.id))
        assert "verify pitches: identical" in log and "verify teams: identical" in log


# -- representation, schema, one-sided tables ------------------------------------------------------


def test_values_written_differently_but_equal_agree(tmp_path: Path, pg_database: str) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    copy_to_postgres(src, pg_database)
    # Text a timestamp column may hold in SQLite that PostgreSQL prints otherwise.
    execute(
        f"sqlite:///{src}",
        "UPDATE pitches SET at = replace(at, ' ', 'T') || '.000' WHERE id % 2 = 0",
    )
    result = check(f"sqlite:///{src}", pg_database, "pitches")
    assert result.status == v.IDENTICAL, result.to_dict()
    execute(f"sqlite:///{src}", "UPDATE pitches SET at = at || '+00:00' WHERE id = 300")
    result = check(f"sqlite:///{src}", pg_database, "pitches")
    assert result.status == v.DIFFERENT
    assert [(d.key, d.columns) for d in result.diff or []] == [({"id": 300}, ["at"])]


def test_columns_and_tables_on_one_side_are_reported(pair: tuple[str, str]) -> None:
    src, dst = pair
    execute(dst, "ALTER TABLE pitches ADD COLUMN note TEXT")
    execute(dst, "CREATE TABLE only_here (id INTEGER PRIMARY KEY)")
    result = check(src, dst, "pitches")
    assert result.status == v.DIFFERENT and result.only_target_columns == ["note"]
    assert result.diff == []  # the columns both have hold the same values
    ends = v.databases(src, dst)
    assert "only_here" in v.table_names(*ends)
    assert check(src, dst, "only_here").status == v.ONLY_TARGET
    execute(dst, "DROP TABLE nokey")
    assert check(src, dst, "nokey").status == v.ONLY_SOURCE


# -- canonical values ---------------------------------------------------------------------------------


def test_canonical_values() -> None:
    assert same(canonical(1, "boolean"), canonical(True, "boolean"))
    assert same(canonical(12.5, "decimal"), canonical(Decimal("12.50"), "decimal"))
    assert not same(canonical(0.1 + 0.2, "decimal"), canonical(Decimal("0.3"), "decimal"))
    assert not same(canonical(-0.0, "float"), canonical(0.0, "float"))
    assert same(canonical(float("nan"), "float"), canonical(float("nan"), "float"))
    assert not same(canonical("", "text"), canonical(None, "text"))
    assert same(
        canonical("2024-01-05T10:00:00.500", "datetime"),
        canonical("2024-01-05 10:00:00.5", "datetime"),
    )
    assert same(
        canonical("ABCDEF01-2345-6789-ABCD-EF0123456789", "uuid"),
        canonical(uuid.UUID("abcdef01-2345-6789-abcd-ef0123456789"), "uuid"),
    )
    assert canonical_json('{"b": 1e2, "a": [1.50]}') == canonical_json('{"a": [1.5], "b": 100}')
    assert same(canonical({"$b64": "AP8="}, "any"), canonical(b"\x00\xff", "any"))
    assert not same(canonical(1, "any"), canonical(1.0, "any"))
    assert fingerprint(canonical(1, "any")) != fingerprint(canonical(True, "any"))
    assert fingerprint(-0.0) != fingerprint(0.0)


# -- the job kind, the command, bad input -------------------------------------------------------------


def test_the_job_completes_only_when_every_table_is_identical(
    tmp_path: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    copy_to_postgres(src, pg_database)
    with by.Batchyard(root=tmp_path) as app:
        job = app.run("verify", {"source": str(src), "target": pg_database}, install_signals=False)
        assert job.status is by.JobStatus.COMPLETED, job.error
        items, _ = app.items(job.id, limit=None)
        assert sorted(i.key for i in items) == sorted([ODD, "nokey", "pitches", "teams"])
        assert all(i.result["status"] == "identical" for i in items)
        assert job.rows_read == 2 * (len(ODD_ROWS) + 3 + PITCHES + 4)
        execute(pg_database, "UPDATE pitches SET speed = 1 WHERE id = 30")
        job = app.run(
            "verify",
            {"source": str(src), "target": pg_database, "diff": True, "tables": ["pitches"]},
            install_signals=False,
        )
        assert job.status is by.JobStatus.FAILED and "1 of 1 table(s) differ: pitches" in (
            job.error or ""
        )
        (item,), _ = app.items(job.id)
        assert item.result["diff"]["rows"] == [
            {
                "kind": "changed",
                "key": {"id": 30},
                "columns": ["speed"],
                "source": {"speed": 71.0},
                "target": {"speed": 1.0},
            }
        ]


def run_cli(tmp_path: Path, *args: str) -> Any:
    return CliRunner().invoke(cli_app, ["-C", str(tmp_path), "verify", *args])


def test_the_command_exits_0_when_identical_and_1_when_not(
    tmp_path: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    copy_to_postgres(src, pg_database)
    ok = run_cli(tmp_path, str(src), pg_database)
    assert ok.exit_code == 0, ok.output
    assert "pitches" in ok.stdout and "identical" in ok.stdout
    execute(pg_database, "DELETE FROM pitches WHERE id = 9")
    bad = run_cli(
        tmp_path, str(src), pg_database, "--diff", "--tables", "pitches,nokey", "--format", "json"
    )
    assert bad.exit_code == 1, bad.output
    report = json.loads(bad.stdout)
    assert report["identical"] is False and report["target"] == pg_database
    (pitches,) = [t for t in report["tables"] if t["table"] == "pitches"]
    assert pitches["diff"]["missing"] == 1 and pitches["diff"]["rows"][0]["key"] == {"id": 9}
    shown = run_cli(tmp_path, str(src), pg_database, "--diff", "-t", "pitches")
    assert shown.exit_code == 1 and "missing" in shown.stdout and "id=9" in shown.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, pg_database: str) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)
    port = sa.make_url(pg_database).port
    cases = {
        "unreachable": (str(src), "postgresql://postgres@127.0.0.1:1/nothing"),
        "credentials": (str(src), f"postgresql://nobody:secret@127.0.0.1:{port}/postgres"),
        "no file": (str(tmp_path / "missing.db"), str(src)),
        "no table": (str(src), str(src), "--tables", "pitches,nope"),
    }
    expected = {
        "unreachable": "cannot connect",
        "credentials": "nobody",
        "no file": "missing.db",
        "no table": "'nope' does not exist",
    }
    for case, args in cases.items():
        result = run_cli(tmp_path, *args)
        assert result.exit_code == 2, (case, result.output)
        assert expected[case] in result.stderr and "Traceback" not in result.output, case
        assert "secret" not in result.output
    assert not (tmp_path / ".batchyard").exists()  # nothing written, not even a store
    real = cli("verify", str(src), "postgresql://postgres@127.0.0.1:1/x", cwd=tmp_path)
    assert real.returncode == 2
    assert real.stderr.strip().count("\n") == 0 and real.stderr.startswith("error:")
    with pytest.raises(UsageError, match="neither"):
        v.verify_table(f"sqlite:///{src}", f"sqlite:///{src}", "nope")


def test_a_missing_database_or_a_file_that_is_not_one_is_one_clear_line(
    tmp_path: Path, pg_database: str
) -> None:
    src, notes = tmp_path / "src.db", tmp_path / "notes.db"
    make_sqlite(src)
    notes.write_text("day,score\n2024-06-01,3\n")
    gone = sa.make_url(pg_database).set(database="by_no_such_db").render_as_string(False)
    cases = {
        "no database": ((str(src), gone), 'database "by_no_such_db" does not exist'),
        "no database, as source": ((gone, str(src)), 'database "by_no_such_db" does not exist'),
        "not a database": ((str(src), str(notes)), "notes.db is not a SQLite database"),
        "not a database, as source": ((str(notes), str(src)), "is not a SQLite database"),
    }
    for case, (args, expected) in cases.items():
        result = run_cli(tmp_path, *args)
        assert result.exit_code == 2, (case, result.output)
        assert expected in result.stderr, (case, result.stderr)
        # The driver's own wording (connection to server at "...", port ... failed: FATAL: ...)
        # is not the message.
        assert "FATAL" not in result.stderr and "connection to server" not in result.stderr
        assert "Traceback" not in result.output
    assert not (tmp_path / ".batchyard").exists()


# -- tables absent from one side, and the worker processes ----------------------------------------


@pytest.mark.slow
def test_tables_absent_from_the_target_are_named_with_no_traceback_and_no_diff_hint(
    tmp_path: Path,
) -> None:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    make_sqlite(src)
    with sqlite3.connect(dst) as con:
        con.execute("CREATE TABLE other (z INTEGER)")
    result = cli("verify", str(src), str(dst), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr
    assert "--diff" not in result.stderr  # no rows to look at: the tables are not there
    assert f"4 missing from the target (nokey, {ODD}, pitches, teams)" in result.stderr
    assert "1 only in the target (other)" in result.stderr
    assert "missing from the target" in result.stdout  # the table of results says it too
    execute(f"sqlite:///{dst}", "CREATE TABLE pitches (id INTEGER PRIMARY KEY, speed REAL)")
    # A table that is there but differs is another matter: its rows can be looked at.
    mixed = cli("verify", str(src), str(dst), cwd=tmp_path)
    assert mixed.returncode == 1 and "1 different (pitches)" in mixed.stderr
    assert "--diff" in mixed.stderr and "Traceback" not in mixed.stderr


def verify_processes() -> set[int]:
    """The processes below this one that verify's workers would be (multiprocessing's forkserver
    and the processes it forks), seen in /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
    below, grew = {os.getpid()}, True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in below} - below
        below |= found
        grew = bool(found)
    below.discard(os.getpid())
    out = set()
    for pid in below:
        try:
            if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.add(pid)
        except OSError:
            continue
    return out


def test_a_small_verify_starts_no_worker_process(tmp_path: Path, pg_database: str) -> None:
    workers.shutdown()  # whatever an earlier test started
    before = verify_processes()
    src = tmp_path / "src.db"
    make_sqlite(src)
    copy_to_postgres(src, pg_database)
    with by.Batchyard(root=tmp_path) as app:
        job = app.run("verify", {"source": str(src), "target": pg_database}, install_signals=False)
        assert job.status is by.JobStatus.COMPLETED, job.error
        first = {i.key: i.result["checksum"] for i in app.items(job.id, limit=None)[0]}
    assert verify_processes() - before == set()
    # Read in this process, a table's checksums are still the same from run to run.
    again = subprocess_checksums(tmp_path, str(src), pg_database)
    assert again == first


def subprocess_checksums(tmp_path: Path, source: str, target: str) -> dict[str, Any]:
    result = cli("verify", source, target, "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return {t["table"]: t["checksum"] for t in json.loads(result.stdout)["tables"]}


def test_a_big_table_is_read_by_the_worker_processes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src.db", tmp_path / "dst.db"
    rows = workers.LOCAL_ROWS + 1
    with sqlite3.connect(src) as con:
        con.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
            "INSERT INTO big SELECT i, 'n' || i FROM s",
            (rows,),
        )
    shutil.copy(src, dst)
    execute(f"sqlite:///{dst}", "UPDATE big SET name = 'changed' WHERE id = 123457")
    workers.shutdown()
    before = verify_processes()
    result = check(f"sqlite:///{src}", f"sqlite:///{dst}", "big")
    assert verify_processes() - before  # the workers were started, and are kept
    assert result.source_rows == result.target_rows == rows
    assert [(d.key, d.columns) for d in result.diff or []] == [({"id": 123457}, ["name"])]
    execute(f"sqlite:///{dst}", "UPDATE big SET name = 'n123457' WHERE id = 123457")
    same = check(f"sqlite:///{src}", f"sqlite:///{dst}", "big")
    assert same.status == v.IDENTICAL and same.source_checksum == same.target_checksum


def test_migrate_verify_prints_what_verify_prints(tmp_path: Path, pg_database: str) -> None:
    src = tmp_path / "src.db"
    make_sqlite(src)

    def migrate(*args: str) -> Any:
        return CliRunner().invoke(
            cli_app, ["-C", str(tmp_path), "migrate", str(src), pg_database, "--verify", *args]
        )

    ok = migrate()
    assert ok.exit_code == 0, ok.output
    assert "4 table(s)" in ok.stdout and "source checksum" in ok.stdout
    assert all(t in ok.stdout for t in ("pitches", "teams", "nokey"))
    assert "all 4 table(s) identical" in ok.stderr
    # Copied again on top of what is there: the target holds the rows twice.
    twice = migrate("--tables", "nokey", "--if-exists", "append")
    assert twice.exit_code == 1, twice.output
    assert "different" in twice.stdout and "3 rows in the source, 6 in the target" in twice.stdout
    assert "1 of 1 table(s) differ" in twice.stderr
