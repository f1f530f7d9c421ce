"""Keys, indexes and foreign keys in a PostgreSQL target, built as soon as a table's rows are in.

A table's primary key, unique constraints and indexes are built by the worker that committed its
last chunk, while the other workers go on copying other tables; a foreign key follows as soon as
both its tables have their keys. The build and a marker row (``@keys:JOB:TABLE`` in the checkpoint
table) commit in one transaction, under a lock that makes builds of one job take turns: killed
half way, nothing of it stays, and the job's finish builds what is still missing.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any

from batchyard.move.reflect import STATE_TABLE, Table, after_load_sql, qi


def kind_of(stmt: str) -> str:
    """``key`` (primary key, unique, index), ``foreign`` or ``other`` (sequences)."""
    if " FOREIGN KEY " in stmt:
        return "foreign"
    if " PRIMARY KEY " in stmt or " INDEX " in stmt:
        return "key"
    return "other"


def marker(job_id: str, table: str) -> str:
    return f"@keys:{job_id}:{table}"


def existing(pg: Any, table: str) -> tuple[bool, set[str]]:
    """Whether ``table`` has a primary key, and the names of its indexes and constraints."""
    rows = pg.execute(
        "SELECT conname, contype::text FROM pg_constraint WHERE conrelid = %s::regclass "
        "UNION ALL SELECT c.relname, 'i' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass",
        (qi(table), qi(table)),
    ).fetchall()
    return any(t == "p" for _, t in rows), {n for n, _ in rows}


def pending(pg: Any, table: Table, known: set[str], kinds: Sequence[str]) -> list[str]:
    """The statements of ``kinds`` for ``table`` that are not built yet."""
    has_pk, names = existing(pg, table.name)
    out = []
    for stmt in after_load_sql(table, "postgresql", with_key=has_pk, known=known):
        kind = kind_of(stmt)
        if kind not in kinds:
            continue
        if kind != "other" and _name(stmt) in names:
            continue
        out.append(stmt)
    return out


def _name(stmt: str) -> str | None:
    """The index or constraint a statement creates (as quoted by ``qi``), or None."""
    for word in (" INDEX ", " CONSTRAINT "):
        if word in stmt:
            quoted = stmt.split(word, 1)[1].split(" ON ", 1)[0].split(" FOREIGN KEY", 1)[0]
            return quoted.strip()[1:-1].replace('""', '"')
    return None


def build_when_loaded(
    pg: Any, job_id: str, table: Table, tables: Sequence[Table], chunk_ids: Sequence[str]
) -> list[str]:
    """Build ``table``'s keys (and the foreign keys that become possible) if every chunk of it has
    committed; return the statements run. ``pg`` is a psycopg connection to the target."""
    known = {t.name for t in tables}
    done: list[str] = []
    with pg.transaction():
        pg.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(job_id.encode()),))
        finished = pg.execute(
            f"SELECT count(*) FROM {STATE_TABLE} WHERE finished AND chunk = ANY(%s)",
            (list(chunk_ids),),
        ).fetchone()
        if not finished or finished[0] < len(set(chunk_ids)):
            return done
        prefix = marker(job_id, "")
        keyed = {
            str(r[0])[len(prefix) :]
            for r in pg.execute(
                f"SELECT chunk FROM {STATE_TABLE} WHERE left(chunk, %s) = %s",
                (len(prefix), prefix),
            ).fetchall()
        }
        if table.name in keyed:
            return done
        for stmt in pending(pg, table, known, ("key",)):
            pg.execute(stmt)
            done.append(stmt)
        keyed.add(table.name)
        pg.execute(
            f"INSERT INTO {STATE_TABLE} (chunk, table_name, rows) VALUES (%s, %s, 0)",
            (marker(job_id, table.name), table.name),
        )
        # Foreign keys between tables that both have their keys now.
        for t in tables:
            if t.name not in keyed:
                continue
            if t.name != table.name and not any(
                fk.ref_table == table.name for fk in t.foreign_keys
            ):
                continue
            ready = {name for name in keyed if name in known}
            for stmt in pending(pg, t, ready, ("foreign",)):
                pg.execute(stmt)
                done.append(stmt)
    return done
