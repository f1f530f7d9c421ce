"""Schema reflection into a neutral model, and the DDL that recreates it in another database."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from batchyard.db import connect as opener
from batchyard.db import ledger, types
from batchyard.db.quote import quote_identifier
from batchyard.db.types import ColumnType, from_postgres, from_sqlite
from batchyard.errors import UsageError
from batchyard.move import defaults, names

#: The target table where migrate records each committed batch (the exactly-once checkpoint).
STATE_TABLE = ledger.TABLE
#: Kept for the modules that still import it from here; new code imports
#: :func:`batchyard.db.quote_identifier`.
qi = quote_identifier
#: The comment on a PostgreSQL jsonb column holding the values of an untyped SQLite column.
ANY_COMMENT = types.ANY_COMMENT


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    nullable: bool = True
    default: str | None = None
    #: The user chose the column's type (``--type``): values are converted to it, not checked.
    cast: bool = False
    #: What a SQLite source stores for ``default`` (None: no default, or an expression).
    stored_default: defaults.Stored | None = None


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    uniques: tuple[tuple[str, ...], ...] = ()
    indexes: tuple[Index, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    #: A SQLite rowid table: its rows can be read in rowid ranges whatever its key.
    has_rowid: bool = False
    #: The single integer column that orders and chunks the table (the rowid, or an integer key).
    chunk_key: str | None = None
    rows: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    #: The primary key was named by the user (``--key``), not declared in the source.
    named_key: bool = False

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def ends_sql(column: str, table: str, where: str = "") -> str:
    """SELECT the least and the greatest ``column`` of ``table`` (both already quoted).

    As two subqueries: each is one index lookup, where ``SELECT min(c), max(c)`` makes SQLite
    scan the whole table (125 ms for 2M rows, against 0.1 ms). A ``where`` with placeholders
    needs its params twice.
    """
    cond = f" WHERE {where}" if where else ""
    return f"SELECT (SELECT min({column}) FROM {table}{cond}), (SELECT max({column}) FROM {table}{cond})"


def quote(engine_or_dialect: Any, name: str) -> str:
    dialect = getattr(engine_or_dialect, "dialect", engine_or_dialect)
    return str(dialect.identifier_preparer.quote_identifier(name))


def reflect(
    engine: Engine, *, tables: Sequence[str] = (), exclude: Sequence[str] = ()
) -> list[Table]:
    """The user tables of a database (all, or those named), in dependency order."""
    with engine.connect() as conn:
        insp = sa.inspect(conn)
        names = [
            n for n in insp.get_table_names() if n != STATE_TABLE and not n.startswith("sqlite_")
        ]
        missing = [t for t in tables if t not in names]
        if missing:
            raise UsageError(
                f"table {missing[0]!r} does not exist in the source (it has: "
                f"{', '.join(sorted(names)) or 'no tables'})"
            )
        wanted = [n for n in names if (not tables or n in tables) and n not in exclude]
        found = [_reflect_table(conn, insp, name) for name in wanted]
    return dependency_order(found)


def _reflect_table(conn: Connection, insp: Any, name: str) -> Table:
    sqlite = conn.dialect.name == "sqlite"
    q = quote(conn, name)
    extra: dict[str, Any] = {}
    if sqlite:
        info = conn.exec_driver_sql(f"PRAGMA table_info({q})").all()
        with contextlib.closing(opener.scratch()) as scratch:
            columns = tuple(
                Column(
                    r[1],
                    from_sqlite(r[2]),
                    nullable=not r[3] and not r[5],
                    default=r[4],
                    stored_default=defaults.stored(r[2], r[4], scratch),
                )
                for r in info
            )
        pk = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        ddl = (
            conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type='table' AND name=?", (name,)
            ).scalar()
            or ""
        )
        has_rowid = "WITHOUT ROWID" not in ddl.upper()
        if "AUTOINCREMENT" in ddl.upper():
            # The last key handed out, which SQLite never hands out again (rows may be gone).
            last = conn.exec_driver_sql(
                "SELECT seq FROM sqlite_sequence WHERE name = ?", (name,)
            ).scalar()
            if last is not None:
                extra["last_key"] = int(last)
    else:
        columns = tuple(
            Column(
                c["name"],
                # A column migrate made from an untyped SQLite column says so in its comment.
                ColumnType("any", "jsonb")
                if c.get("comment") == ANY_COMMENT
                else from_postgres(c["type"].compile(dialect=conn.dialect)),
                nullable=bool(c["nullable"]),
                default=c.get("default"),
            )
            for c in insp.get_columns(name)
        )
        pk = tuple(insp.get_pk_constraint(name).get("constrained_columns") or ())
        has_rowid = False
    uniques = (
        _sqlite_uniques(conn, name)
        if sqlite
        else tuple(tuple(u["column_names"]) for u in insp.get_unique_constraints(name))
    )
    indexes = tuple(
        Index(i["name"], tuple(c for c in i["column_names"] if c), bool(i["unique"]))
        for i in insp.get_indexes(name)
        if i.get("name") and all(i["column_names"])
    )
    fks = tuple(
        ForeignKey(
            tuple(f["constrained_columns"]), f["referred_table"], tuple(f["referred_columns"])
        )
        for f in insp.get_foreign_keys(name)
        if f.get("referred_columns")
    )
    chunk_key = None
    if len(pk) == 1 and next(c for c in columns if c.name == pk[0]).type.logical == "integer":
        chunk_key = pk[0]
    elif sqlite and has_rowid:
        chunk_key = "rowid"
    rows = int(_scalar(conn, f"SELECT count(*) FROM {q}") or 0)
    return Table(name, columns, pk, uniques, indexes, fks, has_rowid, chunk_key, rows, extra)


def _scalar(conn: Connection, sql: str) -> Any:
    """The one value ``sql`` (no params) gives. On PostgreSQL psycopg runs it itself: SQLAlchemy
    would pass empty params, and psycopg would read a ``%`` in a name as a placeholder."""
    if conn.dialect.name == "postgresql":
        row = conn.connection.driver_connection.execute(sql).fetchone()  # type: ignore[union-attr]
        return row[0] if row else None
    return conn.exec_driver_sql(sql).scalar()


def _sqlite_uniques(conn: Connection, name: str) -> tuple[tuple[str, ...], ...]:
    """Every UNIQUE constraint of a SQLite table, written on a column or on the table, once each.

    SQLAlchemy finds them by parsing the table's SQL and misses some forms (quoted names, a
    collation, a constraint on its own line); SQLite's own list of the indexes that enforce them
    is complete. Origin ``u`` is a UNIQUE constraint (``pk`` the primary key, ``c`` CREATE INDEX).
    """
    found: list[tuple[str, ...]] = []
    listed = conn.exec_driver_sql(f"PRAGMA index_list({quote(conn, name)})").all()
    # The list runs newest first: reversed, the constraints come in the order they were written.
    for row in sorted(listed, key=lambda r: -int(r[0])):
        if row[3] != "u":
            continue
        info = conn.exec_driver_sql(f"PRAGMA index_info({quote(conn, row[1])})").all()
        cols = tuple(r[2] for r in sorted(info, key=lambda r: r[0]))
        if cols and all(cols) and cols not in found:
            found.append(tuple(str(c) for c in cols))
    return tuple(found)


def dependency_order(tables: list[Table]) -> list[Table]:
    """Tables so that each comes after the tables its foreign keys refer to (cycles kept stable)."""
    by_name = {t.name: t for t in tables}
    ordered: list[Table] = []
    state: dict[str, int] = {}

    def visit(t: Table) -> None:
        if state.get(t.name) == 2:
            return
        if state.get(t.name) == 1:
            return  # a cycle: foreign keys are added after the load anyway
        state[t.name] = 1
        for fk in t.foreign_keys:
            ref = by_name.get(fk.ref_table)
            if ref is not None and ref.name != t.name:
                visit(ref)
        state[t.name] = 2
        ordered.append(t)

    for t in sorted(tables, key=lambda t: t.name):
        visit(t)
    return ordered


def target_names(table: Table, dialect: str) -> dict[str, str]:
    """Each column's name in the target: as it is, or within PostgreSQL's 63 bytes (names.py)."""
    cols = table.column_names
    return dict(zip(cols, names.columns(cols) if dialect == "postgresql" else cols, strict=True))


def column_default(col: Column, dialect: str, source: str | None) -> tuple[str | None, str]:
    """The ``DEFAULT`` of ``col`` in ``dialect`` (None: none) coming from a ``source`` database,
    and why a default was dropped (``""``: it was not). Without ``source``, the literals both
    databases read alike are kept."""
    if col.default is None:
        return None, ""
    if source == "sqlite" and dialect == "sqlite":
        return defaults.for_sqlite(str(col.default)), ""
    if source == "sqlite":
        return defaults.for_postgres(col.type, col.cast, col.default, col.stored_default)
    return _portable_default(col.default), ""


def create_table_sql(
    table: Table,
    dialect: str,
    *,
    with_key: bool,
    keep_declared: bool = False,
    source: str | None = None,
) -> str:
    """``CREATE TABLE`` for ``table`` in ``dialect``. Without ``with_key`` the primary key is left for
    after the load (PostgreSQL builds it faster then); SQLite always gets it in the table.
    ``source`` is the dialect the table comes from (see :func:`column_default`)."""
    q = qi
    named = target_names(table, dialect)
    parts = []
    for c in table.columns:
        kind = c.type.declared if keep_declared else c.type.render(dialect)
        ddl = f"{q(named[c.name])} {kind}".rstrip()
        if not c.nullable:
            ddl += " NOT NULL"
        default, _ = column_default(c, dialect, source)
        if default is not None:
            ddl += f" DEFAULT {default}"
        parts.append(ddl)
    if table.primary_key and (with_key or dialect == "sqlite"):
        parts.append(f"PRIMARY KEY ({', '.join(q(named[k]) for k in table.primary_key)})")
    if dialect == "sqlite":
        # SQLite cannot add foreign keys later; the load runs with them off.
        for fk in table.foreign_keys:
            parts.append(
                f"FOREIGN KEY ({', '.join(q(c) for c in fk.columns)}) REFERENCES "
                f"{q(fk.ref_table)} ({', '.join(q(c) for c in fk.ref_columns)})"
            )
    return f"CREATE TABLE {q(table.name)} (\n  " + ",\n  ".join(parts) + "\n)"


def _portable_default(default: str | None) -> str | None:
    """Keep defaults both databases read the same way: literals and CURRENT_TIMESTAMP."""
    if default is None:
        return None
    text = str(default).strip()
    upper = text.upper()
    if upper in ("CURRENT_TIMESTAMP", "CURRENT_DATE", "CURRENT_TIME", "NULL", "TRUE", "FALSE"):
        return upper
    try:
        float(text.strip("()"))
        return text.strip("()")
    except ValueError:
        pass
    if text.startswith("'") and text.endswith("'") and "::" not in text:
        return text
    if "::" in text and text.startswith("'"):
        return text.split("::", 1)[0]
    return None  # an expression of one database (nextval(...), functions): not carried over


def after_load_sql(
    table: Table,
    dialect: str,
    *,
    with_key: bool,
    known: set[str],
    tables: Mapping[str, Table] | None = None,
) -> list[str]:
    """Primary key (if not built in), unique constraints, indexes, foreign keys: after the rows.

    ``tables`` (by name) gives the names in the target of the columns foreign keys refer to."""
    q = qi
    named = target_names(table, dialect)
    out = []

    def cols(names_: Sequence[str]) -> str:
        return ", ".join(q(named[c]) for c in names_)

    if dialect == "postgresql" and table.primary_key and not with_key:
        out.append(f"ALTER TABLE {q(table.name)} ADD PRIMARY KEY ({cols(table.primary_key)})")
    pk = set(table.primary_key)
    unique_sets = {tuple(u) for u in table.uniques}
    for unique in unique_sets:
        name = names.derived(f"uq_{table.name}_{'_'.join(unique)}")
        out.append(f"CREATE UNIQUE INDEX {q(name)} ON {q(table.name)} ({cols(unique)})")
    for idx in table.indexes:
        if tuple(idx.columns) in unique_sets or (idx.unique and set(idx.columns) == pk):
            continue
        unique_word = "UNIQUE " if idx.unique else ""
        index_name = names.derived(idx.name) if dialect == "postgresql" else idx.name
        out.append(
            f"CREATE {unique_word}INDEX {q(index_name)} ON {q(table.name)} ({cols(idx.columns)})"
        )
    if dialect == "postgresql":
        for n, fk in enumerate(table.foreign_keys):
            if fk.ref_table not in known:
                continue
            referred = (tables or {}).get(fk.ref_table)
            ref_named = target_names(referred, dialect) if referred else {}
            refs = ", ".join(q(ref_named.get(c, names.clip(c))) for c in fk.ref_columns)
            name = names.derived(f"fk_{table.name}_{n}")
            out.append(
                f"ALTER TABLE {q(table.name)} ADD CONSTRAINT {q(name)} FOREIGN KEY "
                f"({cols(fk.columns)}) REFERENCES {q(fk.ref_table)} ({refs})"
            )
        out.extend(sequence_sql(table))
    return out


def sequence_sql(table: Table, *, reset: bool = True) -> list[str]:
    """A PostgreSQL sequence for an integer primary key: made, the column's default, and (with
    ``reset``) set past the largest key. Made with the table (its ALTER TABLE then waits on no
    one); reset after the load."""
    if not (
        len(table.primary_key) == 1
        and not table.named_key
        and table.column(table.primary_key[0]).type.logical == "integer"
    ):
        return []
    q = qi
    key = table.primary_key[0]
    col = target_names(table, "postgresql")[key]
    seq = names.derived(f"{table.name}_{key}_seq")
    regclass = "'" + q(seq).replace("'", "''") + "'"  # the quoted name, as a string literal
    out = [
        f"CREATE SEQUENCE IF NOT EXISTS {q(seq)} OWNED BY {q(table.name)}.{q(col)}",
        f"ALTER TABLE {q(table.name)} ALTER COLUMN {q(col)} SET DEFAULT nextval({regclass})",
    ]
    if reset:
        # Past the largest key, and past the last one a SQLite AUTOINCREMENT handed out.
        last = int(table.extra.get("last_key") or 0)
        out.append(
            f"SELECT setval({regclass}, GREATEST(COALESCE((SELECT max({q(col)}) FROM "
            f"{q(table.name)}), 0), {last}) + 1, false)"
        )
    return out
