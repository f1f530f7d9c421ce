"""UNIQUE constraints of a SQLite source, however they are written, reach the target exactly once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.move.reflect import after_load_sql, reflect

SOURCE = [
    "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT UNIQUE)",
    # Forms a parser of the table's SQL misses: quoted names, a collation, a multi-line column.
    'CREATE TABLE "odd users" ("user id" INTEGER PRIMARY KEY, "e mail" VARCHAR(80) COLLATE '
    "NOCASE UNIQUE, handle TEXT\n  UNIQUE, a INTEGER, b INTEGER, UNIQUE (a, b))",
    "CREATE TABLE codes (code TEXT PRIMARY KEY, label TEXT CONSTRAINT uq_label UNIQUE) "
    "WITHOUT ROWID",
    "CREATE UNIQUE INDEX ux_users_id_email ON users (id, email)",
]

#: Per table: the unique constraints the source declares, each once, in the order written.
UNIQUES = {
    "users": (("email",),),
    "odd users": (("e mail",), ("handle",), ("a", "b")),
    "codes": (("label",),),
}

#: An INSERT per unique constraint, repeating only that constraint's value (the source refuses each).
DUPLICATES = [
    "INSERT INTO users (id, email) VALUES (100, 'u1@example.org')",
    'INSERT INTO "odd users" ("user id", "e mail") VALUES (100, \'o1@example.org\')',
    'INSERT INTO "odd users" ("user id", handle) VALUES (100, \'h1\')',
    'INSERT INTO "odd users" ("user id", a, b) VALUES (100, 1, 1)',
    "INSERT INTO codes VALUES ('zz', 'label 1')",
]


def make_source(path: Path) -> None:
    con = sqlite3.connect(path)
    for ddl in SOURCE:
        con.execute(ddl)
    con.executemany(
        "INSERT INTO users VALUES (?, ?)", [(i, f"u{i}@example.org") for i in range(1, 51)]
    )
    con.executemany(
        'INSERT INTO "odd users" VALUES (?, ?, ?, ?, ?)',
        [(i, f"o{i}@example.org", f"h{i}", i % 5, i) for i in range(1, 51)],
    )
    con.executemany("INSERT INTO codes VALUES (?, ?)", [(f"c{i}", f"label {i}") for i in range(20)])
    con.commit()
    for stmt in DUPLICATES:
        with pytest.raises(sqlite3.IntegrityError):
            con.execute(stmt)
    con.close()


def test_reflection_finds_each_unique_constraint_once(tmp_path: Path) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    engine = sa.create_engine(f"sqlite:///{src}")
    try:
        found = {t.name: t for t in reflect(engine)}
    finally:
        engine.dispose()
    assert {name: t.uniques for name, t in found.items()} == UNIQUES
    # A UNIQUE index made with CREATE INDEX stays an index; the primary key stays the key.
    assert [i.name for i in found["users"].indexes] == ["ux_users_id_email"]
    assert found["codes"].primary_key == ("code",)
    built = after_load_sql(found["odd users"], "postgresql", with_key=True, known=set(found))
    assert sum("UNIQUE INDEX" in s for s in built) == 3


@pytest.mark.parametrize("target_kind", ["sqlite", "postgresql"])
def test_the_target_refuses_duplicates_after_a_migration(
    tmp_path: Path, target_kind: str, request: pytest.FixtureRequest
) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    target = (
        f"sqlite:///{tmp_path / 'dst.db'}"
        if target_kind == "sqlite"
        else str(request.getfixturevalue("pg_database"))
    )
    with by.Batchyard(root=tmp_path) as app:
        job = app.run(
            "migrate", {"source": str(src), "target": target, "verify": True}, install_signals=False
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
        check = app.run("verify", {"source": str(src), "target": target}, install_signals=False)
        assert check.status is by.JobStatus.COMPLETED, check.error
    engine = sa.create_engine(target)
    try:
        for stmt in DUPLICATES:
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                conn.exec_driver_sql(stmt)
        with engine.connect() as conn:  # and nothing of the refused rows stayed
            counts = {
                t: conn.exec_driver_sql(f'SELECT count(*) FROM "{t}"').scalar() for t in UNIQUES
            }
        assert counts == {"users": 50, "odd users": 50, "codes": 20}
    finally:
        engine.dispose()
