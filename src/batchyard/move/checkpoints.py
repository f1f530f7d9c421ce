"""The checkpoint table migrate keeps in the target (``_batchyard_migrate``), and whose rows a job
works on.

Each committed batch of a chunk updates the chunk's row (``SCOPE`` + ``table#0003``) in the same
transaction (see :mod:`batchyard.move.copy`). Marker rows say what a migration did once:
``@schema:KEY`` (it made its tables), ``@made:KEY:TABLE`` (it made that PostgreSQL table),
``@keys:KEY:TABLE`` (it built the table's keys), ``@constraints:KEY`` (its finish ran, when the
checkpoints are kept), ``@run:JOB`` (the run a ``--if-exists resume`` job continues).

A migration is a :class:`Run`: the job that started it (``KEY``) and the prefix of its chunks'
rows. A retry of a job (``jobs retry``) continues its run, so a migration that failed part way
(the target's disk full, say) is finished where it stopped; ``--if-exists resume`` continues the
one unfinished run it finds for the tables. After a run succeeds its rows are dropped (and the
table with the last of them), unless the job keeps them (``--keep-checkpoints``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from batchyard.db import ledger
from batchyard.db.ledger import like_prefix as like_prefix
from batchyard.db.url import Dialect
from batchyard.errors import UsageError
from batchyard.move.reflect import STATE_TABLE


@dataclass(frozen=True)
class Run:
    """A migration's state in the target: ``key`` names its markers, ``scope`` prefixes its
    chunks' checkpoints (``""``: shared by ``--if-exists resume`` jobs)."""

    key: str
    scope: str

    @classmethod
    def of(cls, key: str, resume: bool = False) -> Run:
        return cls(key, "" if resume else f"{key}:")


def schema_marker(key: str) -> str:
    return f"@schema:{key}"


def made_marker(key: str, table: str) -> str:
    """The checkpoint row that says the run made ``table`` (in a PostgreSQL target)."""
    return f"@made:{key}:{table}"


def keys_marker(key: str, table: str) -> str:
    return f"@keys:{key}:{table}"


def constraints_marker(key: str) -> str:
    return f"@constraints:{key}"


def run_marker(job_id: str) -> str:
    return f"@run:{job_id}"


def has(conn: Any, chunk: str) -> bool:
    """Whether the checkpoint table holds the row ``chunk`` (a marker)."""
    found = conn.execute(sa.text(f"SELECT 1 FROM {STATE_TABLE} WHERE chunk = :c"), {"c": chunk})
    return found.first() is not None


def mark(conn: Any, chunk: str, table: str = "") -> None:
    conn.execute(
        sa.text(f"INSERT INTO {STATE_TABLE} (chunk, table_name, rows) VALUES (:c, :t, 0)"),
        {"c": chunk, "t": table},
    )


def exists(conn: Any) -> bool:
    return STATE_TABLE in sa.inspect(conn).get_table_names()


def create(conn: Any, dialect: str) -> None:
    """Make the checkpoint table if the target has none (see :mod:`batchyard.db.ledger`)."""
    conn.exec_driver_sql(ledger.DDL[Dialect(dialect)])


def adopt(conn: Any, dialect: str, tables: Sequence[str], job_id: str) -> Run:
    """The run a ``--if-exists resume`` job continues, recorded for its items: the one run that
    left checkpoints of these tables (preferring one that did not finish), or else a run of its
    own whose checkpoints any later resume shares."""
    create(conn, dialect)
    recorded = conn.execute(
        sa.text(f"SELECT table_name FROM {STATE_TABLE} WHERE chunk = :c"), {"c": run_marker(job_id)}
    ).first()
    if recorded is not None:
        return _run(str(recorded[0]), job_id)
    wanted = set(tables)
    scopes: set[str] = set()
    finished: set[str] = set()
    for chunk, table in conn.exec_driver_sql(f"SELECT chunk, table_name FROM {STATE_TABLE}"):
        if chunk.startswith("@constraints:"):
            finished.add(f"{chunk.removeprefix('@constraints:')}:")
        elif not chunk.startswith("@") and table in wanted:
            head = chunk.rsplit("#", 1)[0]
            if head.endswith(table):
                scopes.add(head[: len(head) - len(table)])
    if len(scopes) > 1:
        scopes = {s for s in scopes if s not in finished} or scopes
    if len(scopes) > 1:
        jobs = ", ".join(sorted(s.rstrip(":") or "(an earlier --if-exists resume)" for s in scopes))
        raise UsageError(
            f"the target holds the checkpoints of {len(scopes)} migrations of these tables "
            f"({jobs}): continue one of them with `batchyard jobs retry JOB --failed-only`"
        )
    scope = next(iter(scopes), "")
    mark(conn, run_marker(job_id), scope)
    return _run(scope, job_id)


def recorded(conn: Any, job_id: str) -> Run:
    """The run a ``--if-exists resume`` job recorded (see :func:`adopt`)."""
    found = None
    if exists(conn):
        found = conn.execute(
            sa.text(f"SELECT table_name FROM {STATE_TABLE} WHERE chunk = :c"),
            {"c": run_marker(job_id)},
        ).first()
    return _run(str(found[0]) if found else "", job_id)


def _run(scope: str, job_id: str) -> Run:
    return Run(scope[:-1], scope) if scope else Run(job_id, "")


def _chunks(run: Run, tables: Sequence[str]) -> tuple[str, dict[str, str]]:
    """SQL true for the checkpoint rows of ``run``'s chunks of ``tables``, and its params."""
    if run.scope:
        return "chunk LIKE :scope ESCAPE '!'", {"scope": like_prefix(run.scope)}
    # Shared checkpoints: the chunks of these tables with no job's scope before them.
    params = {f"t{n}": like_prefix(f"{t}#") for n, t in enumerate(tables)}
    return "(" + (
        " OR ".join(f"chunk LIKE :{p} ESCAPE '!'" for p in params) or "1 = 0"
    ) + ")", params


def forget(conn: Any, run: Run, tables: Sequence[str]) -> None:
    """Drop a finished run's checkpoints and markers, and the table once nothing is left in it."""
    where, params = _chunks(run, tables)
    conn.execute(sa.text(f"DELETE FROM {STATE_TABLE} WHERE {where}"), params)
    conn.execute(
        sa.text(
            f"DELETE FROM {STATE_TABLE} WHERE chunk IN (:schema, :constraints) "
            "OR chunk LIKE :made ESCAPE '!' OR chunk LIKE :keys ESCAPE '!' "
            "OR (chunk LIKE '@run:%' AND table_name = :scope)"
        ),
        {
            "schema": schema_marker(run.key),
            "constraints": constraints_marker(run.key),
            "made": like_prefix(made_marker(run.key, "")),
            "keys": like_prefix(keys_marker(run.key, "")),
            "scope": run.scope,
        },
    )
    if conn.exec_driver_sql(f"SELECT 1 FROM {STATE_TABLE} LIMIT 1").first() is None:
        conn.exec_driver_sql(f"DROP TABLE {STATE_TABLE}")
