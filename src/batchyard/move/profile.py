"""Profiling SQLite columns: stored values that do not fit their declared type stop a migration.

SQLite keeps whatever is stored, whatever the column's declared type. Every column is checked against
its logical type (see :mod:`batchyard.move.fits`); values that would not load into the target (or
would change on the way) are reported by table, column, row key and value, with the options that
let them through: convert the column (``--type table.column=text``, or ``blob`` for text that is not
UTF-8) or leave those rows out (``--skip-bad table.column``). A decimal is checked against its
precision and scale too: PostgreSQL would round a real with more places than its ``numeric(p,s)``
keeps, and refuse one with too many whole digits.

Into tables the migration creates, the check rides on the copy itself: a batch read into Arrow is
only encoded when every value has its column's storage class (see :mod:`batchyard.move.wire`), and
any other batch is checked here (:func:`misfit_rows`) before it is copied another way. Bad data
then stops the job, which drops the tables it made (:class:`~batchyard.errors.BadData`). Into
existing tables (append, resume, replace) every table is profiled before a row moves
(:func:`check`), since rows already there could not be told apart from rows copied.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from batchyard.db.types import ColumnType
from batchyard.errors import UsageError
from batchyard.move import fits
from batchyard.move.reflect import Column, Table, qi

#: Rows per piece of the first, parallel scan.
PIECE_ROWS = 250_000


@dataclass(frozen=True)
class Misfit:
    table: str
    column: str
    logical: str
    count: int
    samples: tuple[tuple[str, str, str], ...]  # (row key, stored type, value)
    #: The type every value of the column converts to (``--type table.column=TYPE``).
    convert_to: str = "text"

    def describe(self) -> str:
        shown = "; ".join(f"{k}: {t} {v}" for k, t, v in self.samples)
        return (
            f"{self.table}.{self.column} ({self.logical}): {self.count} value(s) do not fit, "
            f"e.g. {shown}"
        )


# A decimal stored as text: plain digits with an optional sign and point (what PostgreSQL reads,
# and what a PostgreSQL numeric comes to SQLite as). {u} is the text without its sign.
_UNSIGNED = "CASE WHEN substr({c}, 1, 1) IN ('-', '+') THEN substr({c}, 2) ELSE {c} END"
_PLAIN = "{u} <> '' AND {u} <> '.' AND NOT {u} GLOB '*[^0-9.]*' AND NOT {u} GLOB '*.*.*'"
_PLACES = (
    "CASE WHEN instr({u}, '.') > 0 THEN length(rtrim(substr({u}, instr({u}, '.') + 1), '0')) "
    "ELSE 0 END"
)
_DIGITS = (
    "length(ltrim(CASE WHEN instr({u}, '.') > 0 THEN substr({u}, 1, instr({u}, '.') - 1) "
    "ELSE {u} END, '0'))"
)
# A real that is k / 10**s for an integer k: its shortest decimal has at most s places. Where
# x * 10**s reaches 2**53 that always holds; below, k is that product rounded, or next to it (the
# product and SQLite's round() may each be one off).
_REAL_PLACES = (
    "(abs({y}) >= 9007199254740992.0 OR round({y}) / 1e{s} = {c} "
    "OR CAST({y} AS INTEGER) / 1e{s} = {c} OR (CAST({y} AS INTEGER) - 1) / 1e{s} = {c} "
    "OR (CAST({y} AS INTEGER) + 1) / 1e{s} = {c})"
)


def _decimal_fits(ctype: ColumnType) -> str:
    """Where a stored value is a decimal PostgreSQL keeps exactly in ``numeric[(p,s)]``: a number
    (a real with at most s places), or a decimal's plain text; fewer than p - s whole digits."""
    u = f"({_UNSIGNED})"
    text = _PLAIN.format(u=u)
    if ctype.precision is None:
        return (
            "typeof({c}) IN ('integer', 'real') OR (typeof({c}) = 'text' AND "
            f"({text} OR {{c}} IN ('NaN', 'Infinity', '-Infinity')))"
        )
    p, s = ctype.precision, ctype.scale or 0
    whole = p - s
    integer = "1" if whole >= 19 else f"{{c}} > -{10**whole} AND {{c}} < {10**whole}"
    real = f"{{c}} > -1e{whole} AND {{c}} < 1e{whole} AND " + _REAL_PLACES.replace(
        "{s}", str(s)
    ).replace("{y}", f"({{c}} * 1e{s})")
    text += f" AND {_PLACES.format(u=u)} <= {s} AND {_DIGITS.format(u=u)} <= {whole}"
    return (
        f"(typeof({{c}}) = 'integer' AND {integer}) OR (typeof({{c}}) = 'real' AND {real}) "
        f"OR (typeof({{c}}) = 'text' AND {text})"
    )


def fits_condition(column: Column, column_sql: str) -> str | None:
    """SQL true where ``column``'s value (``column_sql``) loads as it is, or converts when the
    user chose the column's type; a decimal's precision and scale count too."""
    if column.type.logical == "decimal" and not column.cast:
        return f"({column_sql} IS NULL OR ({_decimal_fits(column.type).format(c=column_sql)}))"
    return fits.condition(column.type.logical, column_sql, cast=column.cast)


def profile(engine: Engine, tables: Sequence[Table], *, skip: Sequence[str] = ()) -> list[Misfit]:
    """Columns of SQLite ``tables`` holding values that do not fit their type (``skip``ped ones aside).

    One pass per table counts the rows where any column misfits (cheaper than a count per
    column), in pieces scanned in parallel; only a table with misfits is scanned again, column by
    column, for the report.
    """
    found: list[Misfit] = []
    planned = [(table, _checks(table, skip)) for table in tables]
    planned = [(t, checks) for t, checks in planned if checks and t.rows]
    bad_tables = _tables_with_misfits(engine, planned)
    with engine.connect() as conn:
        fits.prepare(conn.connection.driver_connection)
        for table, checks in planned:
            if table.name not in bad_tables:
                continue
            counts = conn.exec_driver_sql(
                "SELECT "
                + ", ".join(f"sum(CASE WHEN {c} THEN 0 ELSE 1 END)" for _, c in checks)
                + f" FROM {qi(table.name)}"
            ).one()
            key = ", ".join(qi(k) for k in table.primary_key) or "rowid"
            for (col, cond), bad in zip(checks, counts, strict=True):
                if bad:
                    found.append(_misfit_column(conn, table, key, col, cond, int(bad)))
    return found


def _misfit_column(conn: Any, table: Table, key: str, col: Column, cond: str, bad: int) -> Misfit:
    """The report of one column: a few rows, and the type its values all convert to."""
    q = qi(col.name)
    # Text PostgreSQL cannot hold is shown by its bytes; such values only convert to bytes.
    unfit_text = f"(typeof({q}) IN ('text', 'blob') AND NOT {fits.pg_text(q)})"
    rows = conn.exec_driver_sql(
        f"SELECT {key}, typeof({q}) || CASE WHEN typeof({q}) = 'text' AND {unfit_text} "
        "THEN ' (not UTF-8, or with NUL)' ELSE '' END, "
        f"CASE WHEN {unfit_text} THEN 'X''' || hex({q}) || '''' ELSE quote({q}) END "
        f"FROM {qi(table.name)} WHERE NOT {cond} LIMIT 5"
    ).all()
    samples = tuple((", ".join(str(v) for v in r[:-2]), str(r[-2]), str(r[-1])[:60]) for r in rows)
    # Text when every value of the column converts to text; else bytes (a blob takes any value).
    as_text = fits.condition("text", q, cast=True)
    bytes_only = conn.exec_driver_sql(
        f"SELECT 1 FROM {qi(table.name)} WHERE NOT {as_text} LIMIT 1"
    ).first()
    convert_to = "blob" if bytes_only or col.cast else "text"
    return Misfit(table.name, col.name, col.type.logical, bad, samples, convert_to)


def _checks(table: Table, skip: Sequence[str]) -> list[tuple[Column, str]]:
    checks = []
    for col in table.columns:
        if f"{table.name}.{col.name}" in skip:
            continue
        # An INTEGER PRIMARY KEY is the rowid itself: SQLite stores nothing but integers there.
        rowid_alias = table.has_rowid and table.primary_key == (col.name,)
        if rowid_alias and col.type.logical == "integer" and col.type.declared.upper() == "INTEGER":
            continue
        cond = fits_condition(col, qi(col.name))
        if cond is not None:
            checks.append((col, cond))
    return checks


def _misfit(checks: Sequence[tuple[Column, str]]) -> str:
    """SQL true for a row where some checked column holds a value that does not fit."""
    return f"NOT ({' AND '.join(c for _, c in checks)})"


def _tables_with_misfits(
    engine: Engine, planned: Sequence[tuple[Table, list[tuple[Column, str]]]]
) -> set[str]:
    """The tables where some row misfits: big tables cut into rowid ranges, all scanned at once.

    The scan is bound by the CPU. Threads of one process overlap it only a little (they contend
    inside SQLite); worker processes would not, but a process killed while they run would leave
    them behind, holding its output open, so the scan stays in this process.
    """
    tasks: list[tuple[str, str]] = []
    for table, checks in planned:
        where = _misfit(checks)
        lo, hi = table.extra.get("key_min"), table.extra.get("key_max")
        if table.chunk_key and lo is not None and hi is not None and table.rows > PIECE_ROWS:
            col = "rowid" if table.chunk_key == "rowid" else qi(table.chunk_key)
            pieces = min(-(-table.rows // PIECE_ROWS), 64)
            step = -(-(hi - lo + 1) // pieces)
            for start in range(lo - 1, hi, step):
                tasks.append(
                    (table.name, f"{col} > {start} AND {col} <= {start + step} AND {where}")
                )
        else:
            tasks.append((table.name, where))
    if not tasks:
        return set()

    def count(task: tuple[str, str]) -> tuple[str, int]:
        name, where = task
        with engine.connect() as conn:
            fits.prepare(conn.connection.driver_connection)
            found = conn.exec_driver_sql(f"SELECT count(*) FROM {qi(name)} WHERE {where}")
            return name, int(found.scalar() or 0)

    with ThreadPoolExecutor(max_workers=max(os.cpu_count() or 1, 1)) as pool:
        return {name for name, bad in pool.map(count, tasks) if bad}


def check(engine: Engine, tables: Sequence[Table], *, skip: Sequence[str] = ()) -> None:
    """Raise a :class:`UsageError` listing every misfit column, with what to do."""
    misfits = profile(engine, tables, skip=skip)
    if misfits:
        raise UsageError(report(misfits))


def report(misfits: Sequence[Misfit]) -> str:
    """Every misfit column, and the options that let all of them through."""
    lines = "\n  ".join(m.describe() for m in misfits)
    convert = " ".join(
        f"--type {shlex.quote(f'{m.table}.{m.column}={m.convert_to}')}" for m in misfits
    )
    skip = " ".join(f"--skip-bad {shlex.quote(f'{m.table}.{m.column}')}" for m in misfits)
    return (
        f"stored values do not fit their declared types:\n  {lines}\n"
        f"convert the values ({convert}) or leave those rows out ({skip})"
    )


def misfit_rows(con: sqlite3.Connection, table: Table, skip: Sequence[str], where: str) -> int:
    """How many rows of ``table`` meeting ``where`` (SQL, or "") hold a value that does not fit
    its column's type (``skip``ped columns aside)."""
    checks = _checks(table, skip)
    if not checks:
        return 0
    fits.prepare(con)
    bad = _misfit(checks)
    found = con.execute(
        f"SELECT count(*) FROM {qi(table.name)} WHERE {f'{where} AND ' if where else ''}{bad}"
    ).fetchone()
    return int(found[0] or 0)
