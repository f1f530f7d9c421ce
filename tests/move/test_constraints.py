"""Keys built into PostgreSQL as soon as a table's rows are in, once, and whatever is left at the end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import psycopg
import sqlalchemy as sa

import batchyard as by
from batchyard.move import constraints
from batchyard.move import migrate as m
from batchyard.move.copiers import copy_chunk
from batchyard.move.copy import Chunk, pg_dsn


def make_source(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE team (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)")
    con.execute(
        "CREATE TABLE player (id INTEGER PRIMARY KEY, team INTEGER REFERENCES team (id), "
        "born DATE, note TEXT)"
    )
    con.execute("CREATE INDEX ix_player_team ON player (team)")
    con.executemany("INSERT INTO team VALUES (?, ?)", [(i, f"t{i}") for i in range(1, 11)])
    con.executemany(
        "INSERT INTO player VALUES (?, ?, ?, ?)",
        [
            (i, 1 + i % 10, f"19{50 + i % 40}-0{1 + i % 9}-1{i % 9}", f"n{i}")
            for i in range(1, 3001)
        ],
    )
    con.commit()
    con.close()


def names(pg: psycopg.Connection, table: str) -> set[str]:
    return constraints.existing(pg, table)[1]


def options(url: str) -> dict[str, list[str] | None]:
    with psycopg.connect(pg_dsn(url)) as pg:
        rows = pg.execute(
            "SELECT relname, reloptions FROM pg_class WHERE relname IN ('team', 'player')"
        ).fetchall()
    return dict(rows)


def test_keys_are_built_once_when_a_table_s_last_chunk_commits(
    tmp_path: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    opts = m.Options(f"sqlite:///{src}", pg_database, chunk_rows=1000)
    tables = m.preflight(opts)
    assert [t.name for t in m.load_order(tables)] == ["team", "player"]
    m.create_schema(opts, tables, "job1")
    # No autovacuum in the tables the job made while their rows come in.
    assert options(pg_database) == {
        "team": ["autovacuum_enabled=false"],
        "player": ["autovacuum_enabled=false"],
    }
    player = next(t for t in tables if t.name == "player")
    team = next(t for t in tables if t.name == "team")
    chunks = m.plan_chunks([player], 1000)
    assert len(chunks) == 3
    for c in chunks[:2]:
        copy_chunk(
            opts.source,
            opts.target,
            m.copy_plan(player, opts),
            Chunk(f"job1:{c.id}", c.table, c.lo, c.hi),
        )
    # Not all of player's chunks are in: nothing is built yet.
    assert m.build_loaded_keys(opts, tables, "player", "job1") == []
    for c in m.plan_chunks([team], 1000):
        copy_chunk(
            opts.source, opts.target, m.copy_plan(team, opts), Chunk(f"job1:{c.id}", c.table)
        )
    built = m.build_loaded_keys(opts, tables, "team", "job1")
    assert any("PRIMARY KEY" in s for s in built) and not any("FOREIGN" in s for s in built)
    last = chunks[2]
    copy_chunk(
        opts.source,
        opts.target,
        m.copy_plan(player, opts),
        Chunk(f"job1:{last.id}", last.table, last.lo, last.hi),
    )
    built = m.build_loaded_keys(opts, tables, "player", "job1")
    # The key, the index, and the foreign key to team (whose keys are there already).
    assert sum("PRIMARY KEY" in s for s in built) == 1
    assert sum("ix_player_team" in s for s in built) == 1
    assert sum("FOREIGN KEY" in s for s in built) == 1
    # Once only: a second call (another worker, a resumed job) builds nothing.
    assert m.build_loaded_keys(opts, tables, "player", "job1") == []
    with psycopg.connect(pg_dsn(pg_database)) as pg:
        assert {"ix_player_team", "fk_player_0"} <= names(pg, "player")
    # The finish adds only what is missing: the sequences.
    rest = m.finish_schema(opts, tables, "job1")
    assert rest and all("setval" in s for s in rest)
    # The sequences were made with the tables; autovacuum is back on.
    assert options(pg_database) == {"team": None, "player": None}


def test_a_migration_builds_keys_while_it_loads_and_ends_with_all_of_them(
    tmp_path: Path, pg_database: str
) -> None:
    src = tmp_path / "src.db"
    make_source(src)
    with by.Batchyard(root=tmp_path) as app:
        job = app.run(
            "migrate",
            {"source": str(src), "target": pg_database, "chunk_rows": 1000, "verify": True},
            workers=2,
            install_signals=False,
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
        messages = [e.message for e in app.log(job.id)]
    # Keys are built in the background as each table finishes loading; a table whose build had not
    # begun when the last chunk ended is built by the job's finish instead (how the two interleave
    # depends on the machine's load). Either way the job ends with every key, index and foreign key.
    early = {msg.split(" loaded: built")[0] for msg in messages if " loaded: built" in msg}
    assert early <= {"team", "player"}, messages
    assert any(msg.startswith("built ") for msg in messages), messages
    engine = sa.create_engine(pg_database)
    insp = sa.inspect(engine)
    assert insp.get_pk_constraint("player")["constrained_columns"] == ["id"]
    assert insp.get_foreign_keys("player")[0]["referred_table"] == "team"
    assert {i["name"] for i in insp.get_indexes("player")} >= {"ix_player_team"}
    assert any(i["unique"] for i in insp.get_indexes("team"))
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO player (team, note) VALUES (2, 'new')")
        assert conn.exec_driver_sql("SELECT max(id) FROM player").scalar() == 3001
    engine.dispose()
