"""Keys, indexes and foreign keys in a PostgreSQL target, built as soon as a table's rows are in.

A table's primary key, unique constraints and indexes are built by the worker that committed its
last chunk, while the other workers go on copying other tables; a foreign key follows as soon as
both its tables have their keys. The build and a marker row (``@keys:JOB:TABLE`` in the checkpoint
table) commit in one transaction, under a lock per table (its last chunks may end together):
killed half way, nothing of it stays, and the job's finish builds what is still missing. Keys of
different tables build at the same time; foreign keys take turns, under a lock per job (two
at once could deadlock on a table both lock).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from batchyard.db import ledger
from batchyard.db.url import Dialect
from batchyard.move.checkpoints import keys_marker as marker
from batchyard.move.reflect import (
    STATE_TABLE,
    Table,
    after_load_sql,
    qi,
    sequence_sql,
    target_names,
)


def kind_of(stmt: str) -> str:
    """``key`` (primary key, unique, index), ``foreign`` or ``other`` (sequences)."""
    if " FOREIGN KEY " in stmt:
        return "foreign"
    if " PRIMARY KEY " in stmt or " INDEX " in stmt:
        return "key"
    return "other"


def _int4(text: str) -> int:
    """A 32-bit signed lock key made of ``text``."""
    n = zlib.crc32(text.encode())
    return n - 2**32 if n >= 2**31 else n


def _lock_table(pg: Any, job_id: str, table: str) -> None:
    """Until the transaction ends: the builds of ``table``'s keys by this job take turns."""
    pg.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_int4(job_id), _int4(table)))


def _lock_job(pg: Any, job_id: str) -> None:
    """Until the transaction ends: this job's foreign key builds take turns."""
    pg.execute("SELECT pg_advisory_xact_lock(%s)", (zlib.crc32(job_id.encode()),))


def lock_all(pg: Any, job_id: str, tables: Sequence[str]) -> None:
    """In the caller's transaction: wait for the job's builds under way, and keep out new ones."""
    for name in tables:
        _lock_table(pg, job_id, name)
    _lock_job(pg, job_id)


def existing(pg: Any, table: str) -> tuple[bool, set[str]]:
    """Whether ``table`` has a primary key, and the names of its indexes and constraints."""
    rows = pg.execute(
        "SELECT conname, contype::text FROM pg_constraint WHERE conrelid = %s::regclass "
        "UNION ALL SELECT c.relname, 'i' FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s::regclass",
        (qi(table), qi(table)),
    ).fetchall()
    return any(t == "p" for _, t in rows), {n for n, _ in rows}


def pending(
    pg: Any,
    table: Table,
    known: set[str],
    kinds: Sequence[str],
    tables: Mapping[str, Table] | None = None,
) -> list[str]:
    """The statements of ``kinds`` for ``table`` that are not built yet (``tables``: by name, the
    tables foreign keys may refer to)."""
    has_pk, names = existing(pg, table.name)
    out = []
    made = set(sequence_sql(table, reset=False)) if _has_sequence(pg, table) else set()
    for stmt in after_load_sql(table, "postgresql", with_key=has_pk, known=known, tables=tables):
        kind = kind_of(stmt)
        if kind not in kinds or stmt in made:
            continue
        if kind != "other" and _name(stmt) in names:
            continue
        out.append(stmt)
    return out


def _has_sequence(pg: Any, table: Table) -> bool:
    """Whether the table's key takes its default from a sequence already (made with the table)."""
    if len(table.primary_key) != 1:
        return False
    found = pg.execute(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a "
        "ON a.attrelid = d.adrelid AND a.attnum = d.adnum "
        "WHERE d.adrelid = %s::regclass AND a.attname = %s",
        (qi(table.name), target_names(table, "postgresql")[table.primary_key[0]]),
    ).fetchone()
    return bool(found and "nextval(" in str(found[0]))


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
    by_name = {t.name: t for t in tables}
    done: list[str] = []
    with pg.transaction():
        _lock_table(pg, job_id, table.name)
        finished = pg.execute(
            f"SELECT count(*) FROM {STATE_TABLE} WHERE finished AND chunk = ANY(%s)",
            (list(chunk_ids),),
        ).fetchone()
        if not finished or finished[0] < len(set(chunk_ids)):
            return done
        if ledger.marked(pg, Dialect.POSTGRESQL, marker(job_id, table.name)):
            return done
        for stmt in pending(pg, table, known, ("key",), by_name):
            pg.execute(stmt)
            done.append(stmt)
        ledger.mark(pg, Dialect.POSTGRESQL, marker(job_id, table.name), table.name)
    with pg.transaction():
        _lock_job(pg, job_id)
        prefix = marker(job_id, "")
        keyed = {
            str(r[0])[len(prefix) :]
            for r in pg.execute(
                f"SELECT chunk FROM {STATE_TABLE} WHERE left(chunk, %s) = %s",
                (len(prefix), prefix),
            ).fetchall()
        }
        # Foreign keys between tables that both have their keys now.
        for t in tables:
            if t.name not in keyed:
                continue
            if t.name != table.name and not any(
                fk.ref_table == table.name for fk in t.foreign_keys
            ):
                continue
            ready = {name for name in keyed if name in known}
            for stmt in pending(pg, t, ready, ("foreign",), by_name):
                pg.execute(stmt)
                done.append(stmt)
    return done
