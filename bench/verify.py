"""verify benchmark: the sports dataset (5 tables, 2,959,920 rows) in SQLite and its PostgreSQL copy.

Prints, in one run on this machine:
  1. ``verify`` of SQLite against PostgreSQL: seconds and rows/s (goal: at most 10 s), the worker
     processes' start included;
  2. ``verify --diff`` after planting 100 differences in the PostgreSQL copy (40 changed, 30 deleted
     and 30 inserted rows over four tables): seconds, and whether it reported exactly those 100 keys
     (the differences are undone afterwards).

The data is made by ``batchyard generate sports`` and copied by ``batchyard migrate``, as a user would.

    python bench/verify.py                  # data in a temporary folder and a server started here
    python bench/verify.py --workdir DIR    # keep the data in DIR and reuse it on the next run
    python bench/verify.py --pg-url URL     # a PostgreSQL server to use (its user creates databases)
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa

import batchyard as by

TABLES = {
    "players": 10_000,
    "matches": 50_000,
    "bets": 500_000,
    "odds": 399_920,
    "statcast": 2_000_000,
}
TOTAL = sum(TABLES.values())
DATABASE = "by_bench_verify"


@contextmanager
def postgres(url: str | None) -> Iterator[str]:
    """A server URL: the one given, BATCHYARD_TEST_PG_URL, or a throwaway server started here."""
    url = url or os.environ.get("BATCHYARD_TEST_PG_URL")
    if url:
        yield url
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pgserver import PostgresServer

    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def dsn(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def counts_sqlite(path: Path) -> dict[str, int]:
    if not path.exists():
        return {}
    con = sqlite3.connect(path)
    try:
        return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
    except sqlite3.Error:
        return {}
    finally:
        con.close()


def counts_pg(url: str) -> dict[str, int]:
    try:
        with psycopg.connect(dsn(url)) as pg:
            return {t: pg.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}
    except psycopg.Error:
        return {}


def build(app: by.Batchyard, sqlite_path: Path, server: str) -> str:
    """The SQLite file and its PostgreSQL copy, made unless they are there already."""
    if counts_sqlite(sqlite_path) != TABLES:
        sqlite_path.unlink(missing_ok=True)
        t = time.perf_counter()
        job = app.run(
            "generate", {"dataset": "sports", "to": str(sqlite_path)}, install_signals=False
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
        print(f"generate sports --scale 1 into SQLite: {time.perf_counter() - t:.1f} s")
    target = sa.make_url(server).set(database=DATABASE).render_as_string(hide_password=False)
    if counts_pg(target) != TABLES:
        with psycopg.connect(dsn(server), autocommit=True) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            pg.execute(f'CREATE DATABASE "{DATABASE}"')
        t = time.perf_counter()
        job = app.run(
            "migrate", {"source": str(sqlite_path), "target": target}, install_signals=False
        )
        assert job.status is by.JobStatus.COMPLETED, job.error
        with psycopg.connect(dsn(target), autocommit=True) as pg:
            pg.execute("VACUUM ANALYZE")
        print(f"migrate SQLite -> PostgreSQL: {time.perf_counter() - t:.1f} s")
    return target


def run_verify(app: by.Batchyard, source: Path, target: str, **params: Any) -> tuple[float, Any]:
    t = time.perf_counter()
    job = app.run(
        "verify", {"source": str(source), "target": target, **params}, install_signals=False
    )
    seconds = time.perf_counter() - t
    items, _ = app.items(job.id, limit=None)
    return seconds, {i.key: i.result for i in items}


# -- the planted differences ---------------------------------------------------------------------

KEYS = {
    "statcast": ("pitch_id",),
    "bets": ("bet_id",),
    "players": ("player_id",),
    "odds": ("match_id", "bookmaker", "market"),
}
CHANGE = {
    "statcast": "release_speed = coalesce(release_speed, 0) + 1",
    "bets": "status = 'void?'",
    "players": "team = 'Planted'",
    "odds": "home_price = home_price + 0.01",
}
PLAN = {
    "changed": {"statcast": 20, "bets": 10, "players": 5, "odds": 5},
    "deleted": {"statcast": 15, "bets": 10, "odds": 5},
    "inserted": {"statcast": 15, "bets": 10, "odds": 5},
}


def plant(
    pg: psycopg.Connection[Any], seed: int = 7
) -> tuple[set[tuple[str, str, tuple[Any, ...]]], list[str]]:
    """Plant the differences; return them as (kind, table, key) and the SQL that undoes them
    (with the originals kept in temporary tables of this session)."""
    rng = random.Random(seed)
    planted: set[tuple[str, str, tuple[Any, ...]]] = set()
    undo: list[str] = []
    used: dict[str, set[tuple[Any, ...]]] = {t: set() for t in KEYS}

    def pick(table: str) -> tuple[Any, ...]:
        """A key of a row that exists, not picked before."""
        while True:
            if table == "odds":
                row = pg.execute(
                    "SELECT match_id, bookmaker, market FROM odds WHERE match_id = %s "
                    "ORDER BY bookmaker, market OFFSET %s LIMIT 1",
                    (rng.randint(1, 49_990), rng.randrange(8)),
                ).fetchone()
            else:
                n = rng.randint(1, TABLES[table])
                row = pg.execute(
                    f"SELECT {KEYS[table][0]} FROM {table} WHERE {KEYS[table][0]} = %s", (n,)
                ).fetchone()
            if row is not None and tuple(row) not in used[table]:
                used[table].add(tuple(row))
                return tuple(row)

    def where(table: str, key: tuple[Any, ...], alias: str = "") -> str:
        return " AND ".join(f"{alias}{c} = {lit(v)}" for c, v in zip(KEYS[table], key, strict=True))

    for table, n in PLAN["changed"].items():
        column = CHANGE[table].split(" = ")[0]
        for _ in range(n):
            key = pick(table)
            backup = f"bench_undo_{len(undo)}"
            pg.execute(
                f"CREATE TEMP TABLE {backup} AS SELECT * FROM {table} WHERE {where(table, key)}"
            )
            pg.execute(f"UPDATE {table} SET {CHANGE[table]} WHERE {where(table, key)}")
            undo.append(
                f"UPDATE {table} t SET {column} = b.{column} FROM {backup} b "
                f"WHERE {where(table, key, 't.')}"
            )
            planted.add(("changed", table, key))
    for table, n in PLAN["deleted"].items():
        for _ in range(n):
            key = pick(table)
            backup = f"bench_undo_{len(undo)}"
            pg.execute(
                f"CREATE TEMP TABLE {backup} AS SELECT * FROM {table} WHERE {where(table, key)}"
            )
            pg.execute(f"DELETE FROM {table} WHERE {where(table, key)}")
            undo.append(f"INSERT INTO {table} SELECT * FROM {backup}")
            planted.add(("missing", table, key))
    for table, n in PLAN["inserted"].items():
        cols = [
            r[0]
            for r in pg.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "ORDER BY ordinal_position",
                (table,),
            ).fetchall()
        ]
        for i in range(n):
            like = pick(table)
            if table == "odds":
                key: tuple[Any, ...] = (like[0], f"Planted {i}", like[2])
                values = [lit(key[1]) if c == "bookmaker" else c for c in cols]
            else:
                key = (10_000_000 + i,)
                unique = {KEYS[table][0]: lit(key[0]), "ticket_ref": lit(f"PLANTED-{i}")}
                values = [unique.get(c, c) for c in cols]
            pg.execute(
                f"INSERT INTO {table} SELECT {', '.join(values)} FROM {table} "
                f"WHERE {where(table, like)}"
            )
            undo.append(f"DELETE FROM {table} WHERE {where(table, key)}")
            planted.add(("extra", table, key))
    return planted, undo


def lit(value: Any) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


def undo_all(pg: psycopg.Connection[Any], undo: list[str]) -> None:
    for statement in reversed(undo):
        pg.execute(statement)


def reported(results: dict[str, Any]) -> set[tuple[str, str, tuple[Any, ...]]]:
    out = set()
    for table, result in results.items():
        for row in (result.get("diff") or {}).get("rows", []):
            out.add((row["kind"], table, tuple(row["key"][c] for c in KEYS.get(table, row["key"]))))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", type=Path, help="keep (and reuse) the data here")
    parser.add_argument("--pg-url", help="a PostgreSQL server URL (default: start one here)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres(args.pg_url) as server:
        work = (args.workdir or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        with by.Batchyard(root=work) as app:
            source = work / "sports.db"
            target = build(app, source, server)
            print(
                f"data: sports --scale 1, {TOTAL:,} rows a side "
                f"({', '.join(f'{t} {n:,}' for t, n in TABLES.items())})"
            )
            seconds, results = run_verify(app, source, target)
            same = all(r["status"] == "identical" for r in results.values())
            print(
                f"verify SQLite vs PostgreSQL: {seconds:.2f} s, {TOTAL / seconds:,.0f} rows/s a "
                f"side; {'identical' if same else 'DIFFERENT'} "
                f"(goal: <= 10 s: {'met' if seconds <= 10 and same else 'NOT met'})"
            )
            for table, r in sorted(results.items()):
                print(
                    f"  {table:9} {r['rows']['source']:>10,} rows  {r['seconds']:6.2f} s  "
                    f"checksum {r['checksum']['source']}"
                )
            pg = psycopg.connect(dsn(target), autocommit=True)
            planted, undo = plant(pg)
            try:
                seconds, results = run_verify(app, source, target, diff=True, max_diff=1000)
                found = reported(results)
                kinds = {
                    k: sum(1 for p in planted if p[0] == k) for k in ("changed", "missing", "extra")
                }
                exact = found == planted
                print(
                    f"verify --diff with {len(planted)} planted differences ({kinds['changed']} "
                    f"changed, {kinds['missing']} deleted, {kinds['extra']} inserted): "
                    f"{seconds:.2f} s; reported {len(found)} keys, "
                    f"{'exactly the planted ones' if exact else 'NOT the planted ones'}"
                )
                if not exact:
                    print(f"  planted, not reported: {sorted(planted - found)[:10]}")
                    print(f"  reported, not planted: {sorted(found - planted)[:10]}")
            finally:
                undo_all(pg, undo)
                pg.close()


if __name__ == "__main__":
    main()
