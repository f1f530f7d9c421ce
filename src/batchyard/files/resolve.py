"""What an import will do, decided before a row moves: a file checked against its target.

The table's types come from the table when it exists, else from the export's manifest beside the
file, else from every value of the file (not a sample), with ``--type`` overrides; a file that
does not fit its table is refused here with a clear error. A :class:`Spec` is what the import's
items carry (:func:`spec_to_value`), so running one does not read the file twice to plan it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from batchyard.db import Database, Dialect
from batchyard.db.types import ColumnType
from batchyard.errors import UsageError
from batchyard.files import readers
from batchyard.files.formats import check_writable, format_of
from batchyard.files.infer import Fallback, Inferred, csv_fallbacks, json_columns, strict_type
from batchyard.files.manifest import manifest_entry_for, table_from_entry
from batchyard.move.migrate import connect
from batchyard.move.reflect import Column, Table, reflect

MODES = ("append", "replace", "upsert")


@dataclass
class Spec:
    """One file's import, resolved: what it holds and the table it goes into."""

    path: Path
    fmt: str
    table: Table
    file_columns: list[str]
    exists: bool
    mode: str = "append"
    key: tuple[str, ...] = ()
    from_table: str | None = None
    parsed: bool = False
    #: The columns' types where they were inferred from the file (a new table), with fallbacks.
    inferred: tuple[Inferred, ...] = ()
    strict: bool = False

    def column(self, name: str) -> Column:
        return self.table.column(name)


def backend(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``: the target ``url`` names."""
    return Database.of(url).dialect.value


def file_columns(
    path: Path, fmt: str, infer: bool, from_table: str | None
) -> tuple[list[tuple[str, ColumnType]], dict[str, Fallback]]:
    """The file's columns; with ``infer``, typed from every value, and the columns that fell
    back to text though most of their values fit a type."""
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if fmt == "csv":
        found = readers.csv_columns(path, infer)
        return found, csv_fallbacks(path, found) if infer else {}
    if fmt in ("json", "jsonl"):
        records = readers.jsonl_records(path) if fmt == "jsonl" else readers.json_records(path)
        return json_columns(records, path)
    if fmt == "parquet":
        return readers.parquet_columns(path), {}
    return readers.sqlite_columns(path, readers.sqlite_table(path, from_table)), {}


_FITS = {
    "integer": {"integer", "boolean"},
    "float": {"float", "integer"},
    "decimal": {"decimal", "integer", "float", "text"},
    "boolean": {"boolean", "integer"},
    "date": {"date", "text", "datetime"},
    "datetime": {"datetime", "text", "date"},
    "time": {"time", "text"},
    "blob": {"blob", "text"},
    "json": {"json", "text"},
    "uuid": {"uuid", "text"},
    "any": {"any", "text", "integer", "float", "blob", "boolean"},
}


def resolve(
    path: Path,
    url: str,
    table: str | None = None,
    *,
    fmt: str | None = None,
    types: dict[str, ColumnType] | None = None,
    key: tuple[str, ...] = (),
    mode: str = "append",
    from_table: str | None = None,
    strict: bool = False,
) -> Spec:
    """Check the file against the target before a row moves; a clear error for what does not fit.

    ``strict``: a column whose values are mostly of one type keeps it, and the rows whose value
    does not fit are bad, instead of the column falling back to text."""
    if mode not in MODES:
        raise UsageError(f"--mode {mode!r}: use append, replace or upsert")
    if mode == "upsert" and not key:
        raise UsageError("--mode upsert needs --key COLUMN[,COLUMN...]")
    fmt = format_of(path, fmt)
    name = table or path.stem
    if fmt == "sqlite":
        from_table = readers.sqlite_table(path, from_table)
        name = table or from_table
    target = _target_table(url, name)
    entry = manifest_entry_for(path) if target is None else None
    infer = target is None and entry is None
    found, fallbacks = file_columns(path, fmt, infer and fmt == "csv", from_table)
    names = [n for n, _ in found]
    if target is not None and mode != "replace":
        missing = [n for n in names if n not in target.column_names]
        if missing:
            raise UsageError(
                f"{path}: column {missing[0]!r} is not in table {name!r} (it has: "
                f"{', '.join(target.column_names)})"
            )
        if fmt in ("parquet", "sqlite"):
            for n, t in found:
                want = target.column(n).type.logical
                if (
                    want != t.logical
                    and t.logical not in _FITS.get(want, {want})
                    and want != "text"
                ):
                    raise UsageError(
                        f"{path}: column {n!r} holds {t.declared or t.logical} values, but "
                        f"{name}.{n} is {want}; convert the file or import into another table"
                    )
        spec_table = target
    else:
        if entry is not None:
            spec_table = replace(table_from_entry(entry), name=name)
        elif target is not None:
            spec_table = target
        else:
            kept = {n: strict_type(fb) for n, fb in fallbacks.items()} if strict else {}
            spec_table = Table(name, tuple(Column(n, kept.get(n, t)) for n, t in found))
        overrides = types or {}
        unknown = [c for c in overrides if c not in spec_table.column_names]
        if unknown:
            raise UsageError(f"--type {unknown[0]}=...: {path} has no column {unknown[0]!r}")
        spec_table = replace(
            spec_table,
            columns=tuple(
                replace(c, type=overrides.get(c.name, c.type)) for c in spec_table.columns
            ),
        )
        missing = [n for n in names if n not in spec_table.column_names]
        if missing:
            raise UsageError(f"{path}: column {missing[0]!r} is not in its manifest entry")
    for k in key:
        if k not in names:
            raise UsageError(
                f"--key {k!r}: {path} has no column {k!r} (it has: {', '.join(names)})"
            )
    if key and not spec_table.primary_key and (target is None or mode == "replace"):
        spec_table = replace(spec_table, primary_key=tuple(key))
    if mode == "upsert" and target is not None and not _unique_on(url, name, key):
        raise UsageError(
            f"--mode upsert: table {name!r} has no primary key or unique index on "
            f"({', '.join(key)}); add one or use --mode append"
        )
    inferred = (
        tuple(
            Inferred(
                c.name,
                c.type.logical,
                None if c.name in (types or {}) else fallbacks.get(c.name),
            )
            for c in spec_table.columns
        )
        if infer
        else ()
    )
    return Spec(
        path,
        fmt,
        spec_table,
        names,
        target is not None,
        mode,
        tuple(key),
        from_table,
        parsed=fmt == "csv",
        inferred=inferred,
        strict=strict,
    )


def _target_table(url: str, name: str) -> Table | None:
    """The target's table ``name``, if it has one. A SQLite file that does not exist yet is not
    made here (a refused import must leave nothing behind), only checked to be possible."""
    fresh = new_sqlite_file(url)
    if fresh is not None:
        check_writable(fresh, "target")
        return None
    engine = connect(url, "target")
    try:
        existing = {n for n in sa.inspect(engine).get_table_names()}
        return reflect(engine, tables=[name])[0] if name in existing else None
    finally:
        engine.dispose()


def new_sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL when it does not exist yet."""
    db = Database.of(url)
    if db.dialect is not Dialect.SQLITE or db.path is None or db.path.exists():
        return None
    return db.path


def _unique_on(url: str, table: str, key: tuple[str, ...]) -> bool:
    engine = connect(url, "target")
    try:
        insp = sa.inspect(engine)
        sets = [tuple(insp.get_pk_constraint(table).get("constrained_columns") or ())]
        sets += [tuple(u["column_names"]) for u in insp.get_unique_constraints(table)]
        sets += [
            tuple(str(c) for c in i["column_names"]) for i in insp.get_indexes(table) if i["unique"]
        ]
        return any(set(s) == set(key) for s in sets if s)
    finally:
        engine.dispose()


def spec_to_value(spec: Spec) -> dict[str, Any]:
    """The resolved spec as an item value, so running the item does not read the file twice."""
    return {
        "file": str(spec.path),
        "format": spec.fmt,
        "table": spec.table.name,
        "columns": [
            [c.name, c.type.logical, c.type.declared, c.nullable, c.type.precision, c.type.scale]
            for c in spec.table.columns
        ],
        "primary_key": list(spec.table.primary_key),
        "file_columns": spec.file_columns,
        "exists": spec.exists,
        "mode": spec.mode,
        "key": list(spec.key),
        "from_table": spec.from_table,
        "inferred": [c.to_dict() for c in spec.inferred],
        "strict": spec.strict,
    }


def spec_from_value(value: dict[str, Any]) -> Spec:
    columns = tuple(
        Column(n, ColumnType(t, d, *exact), nullable=bool(nl))
        for n, t, d, nl, *exact in value["columns"]
    )
    return Spec(
        Path(value["file"]),
        value["format"],
        Table(value["table"], columns, tuple(value.get("primary_key") or ())),
        list(value["file_columns"]),
        bool(value["exists"]),
        value["mode"],
        tuple(value.get("key") or ()),
        value.get("from_table"),
        parsed=value["format"] == "csv",
        inferred=tuple(Inferred.from_dict(c) for c in value.get("inferred") or ()),
        strict=bool(value.get("strict")),
    )
