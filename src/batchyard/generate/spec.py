"""Deterministic synthetic datasets: what a ``generate`` job makes, and the SQL that makes it.

A :class:`Spec` is a generate job's params, checked: the dataset, its row counts, the seed, the defect
rate and the chunk size. It writes the SQL each target runs: ``CREATE TABLE`` with the declared types
of :mod:`batchyard.db.types`, one set-based ``INSERT ... SELECT`` per chunk of rows (the database
computes every value, see :mod:`batchyard.generate.datasets.sql`), the ``UPDATE`` statements that plant
defects, and the indexes and foreign keys built after the load.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from batchyard.errors import ParamError
from batchyard.generate import DEFAULT_CHUNK_ROWS, DEFAULT_SEED
from batchyard.generate.datasets import get_dataset
from batchyard.generate.datasets.base import Dataset, Table, Update, parse_scale
from batchyard.generate.datasets.defects import DefectPlan, check_rate
from batchyard.generate.datasets.sql import Dialect, Row, ident

MIN_CHUNK_ROWS = 100
FORMATS = ("sqlite", "csv", "jsonl")
IF_EXISTS = ("fail", "replace")


@dataclass(frozen=True)
class Spec:
    """A generate job's params, checked and resolved into row counts."""

    dataset: Dataset
    scale: float
    counts: Mapping[str, int]
    seed: int = DEFAULT_SEED
    rate: float = 0.0
    chunk_rows: int = DEFAULT_CHUNK_ROWS

    @classmethod
    def from_params(
        cls,
        schema: str,
        *,
        scale: str | float = "1",
        rows: int | None = None,
        table: str | None = None,
        seed: int = DEFAULT_SEED,
        inject_errors: float = 0.0,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> Spec:
        dataset = get_dataset(schema)
        factor = parse_scale(scale)
        if (rows is None) != (table is None):
            raise ParamError("give --rows N and --table T together: N rows for table T")
        overrides: dict[str, int] = {}
        if rows is not None and table is not None:
            dataset.table(table)
            if rows < 1:
                raise ParamError(f"rows={rows}: give at least 1 row")
            overrides[table] = rows
        if not 0 <= seed < 2**63:
            raise ParamError(f"seed={seed}: give a whole number from 0 to 2^63-1")
        if chunk_rows < MIN_CHUNK_ROWS:
            raise ParamError(f"chunk_rows={chunk_rows}: give at least {MIN_CHUNK_ROWS}")
        return cls(
            dataset,
            factor,
            dataset.counts(factor, overrides),
            seed,
            check_rate(inject_errors),
            chunk_rows,
        )

    @property
    def injected(self) -> bool:
        return self.rate > 0

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    @property
    def defects(self) -> DefectPlan:
        return _defect_plan(self.dataset.name, tuple(self.counts.items()), self.seed, self.rate)

    def chunks(self) -> list[tuple[Table, int, int]]:
        """``(table, first row, last row)`` for every chunk, parents before children."""
        out = []
        for table in self.dataset.tables:
            size = max(self.chunk_rows // table.rows_per_key, 1) * table.rows_per_key
            total = self.counts[table.name]
            out += [(table, a, min(a + size - 1, total)) for a in range(1, total + 1, size)]
        return out

    @property
    def largest_chunk(self) -> int:
        return max((stop - start + 1 for _, start, stop in self.chunks()), default=1)

    # -- SQL -------------------------------------------------------------------------------------

    def create_sql(self, table: Table, dialect: Dialect, *, foreign_keys: bool = True) -> str:
        relaxed = table.relaxed(self.injected)
        lines = []
        for col in table.columns:
            if dialect.postgres and col.name in relaxed.text_on_postgres:
                declared = "text"
            elif not dialect.postgres and col.type == "decimal" and col.precision is not None:
                declared = f"NUMERIC({col.precision},{col.scale or 0})"
            else:
                declared = col.column_type().render(dialect.name)
            required = col.name in table.primary_key or not (
                col.nullable or col.name in relaxed.nullable
            )
            lines.append(f"{ident(col.name)} {declared}{' NOT NULL' if required else ''}")
        lines.append(f"PRIMARY KEY ({', '.join(ident(c) for c in table.primary_key)})")
        if foreign_keys:
            lines += [
                f"FOREIGN KEY ({ident(fk.column)}) REFERENCES {ident(fk.parent)} "
                f"({ident(fk.parent_column)})"
                for fk in table.foreign_keys
                if fk.column not in relaxed.foreign_keys
            ]
        body = ",\n  ".join(lines)
        return f"CREATE TABLE IF NOT EXISTS {ident(table.name)} (\n  {body}\n)"

    def insert_sql(self, table: Table, dialect: Dialect, start: int, stop: int) -> str:
        """One ``INSERT ... SELECT`` that computes rows ``start..stop`` of ``table``."""
        text_dates = table.relaxed(self.injected).text_on_postgres if dialect.postgres else None
        row = Row(
            dialect,
            self.seed,
            (self.dataset.name, table.name),
            text_dates=text_dates or frozenset(),
        )
        values = table.values(row, dict(self.counts))
        names = [c.name for c in table.columns]
        hashes = "".join(f", {sql} AS h_{name}" for name, sql in row.used.items())
        source = (
            f"(SELECT n{hashes} FROM {dialect.numbers(start, stop)} AS s{dialect.no_flatten}) AS r"
        )
        if row.lets:
            lets = "".join(f", {sql} AS v_{name}" for name, sql in row.lets.items())
            source = f"(SELECT r.*{lets} FROM {source}{dialect.no_flatten}) AS v"
        return (
            f"INSERT INTO {ident(table.name)} ({', '.join(ident(c) for c in names)})\n"
            f"SELECT {', '.join(values[c] for c in names)}\nFROM {source}"
        )

    def delete_sql(self, table: Table, start: int, stop: int) -> str:
        return f"DELETE FROM {ident(table.name)} WHERE {table.where_rows(start, stop)}"

    def defect_sql(self, table: Table, dialect: Dialect, start: int, stop: int) -> list[str]:
        """The ``UPDATE`` statements that plant this chunk's defects."""
        planted = self.defects.between(table.name, start, stop)
        update = Update(table, dialect, self.seed, self.dataset.name, dict(self.counts))
        pk = ident(table.primary_key[0])
        out = []
        for spec, ns in sorted(planted.items()):
            defect = table.defects[spec]
            out.append(
                f"UPDATE {ident(table.name)} SET {ident(defect.column)} = {defect.value(update)} "
                f"WHERE {dialect.keys_in(pk, ns)}"
            )
        return out

    def index_sql(self, table: Table) -> list[str]:
        relaxed = table.relaxed(self.injected)
        out = []
        for index in table.indexes:
            unique = index.unique and not set(index.columns) & relaxed.unique
            name = f"{table.name}_{'_'.join(index.columns)}_{'key' if unique else 'idx'}"
            out.append(
                f"CREATE {'UNIQUE ' if unique else ''}INDEX IF NOT EXISTS {ident(name)} "
                f"ON {ident(table.name)} ({', '.join(ident(c) for c in index.columns)})"
            )
        return out

    def foreign_keys(self, table: Table) -> list[tuple[str, str]]:
        """``(constraint name, ALTER TABLE statement)`` for each foreign key (PostgreSQL)."""
        relaxed = table.relaxed(self.injected)
        out = []
        for fk in table.foreign_keys:
            if fk.column in relaxed.foreign_keys:
                continue
            name = f"{table.name}_{fk.column}_fkey"
            out.append(
                (
                    name,
                    (
                        f"ALTER TABLE {ident(table.name)} ADD CONSTRAINT {ident(name)} FOREIGN KEY "
                        f"({ident(fk.column)}) REFERENCES {ident(fk.parent)} ({ident(fk.parent_column)})"
                    ),
                )
            )
        return out

    # -- the manifest ----------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        return self.defects.manifest(scale=self.scale)

    def write_manifest(self, path: Path) -> None:
        """Write the manifest as JSON (atomically: a reader never sees half of it)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            self.defects.write(fh, scale=self.scale)
        os.replace(tmp, path)


@functools.lru_cache(maxsize=4)
def _defect_plan(
    name: str, counts: tuple[tuple[str, int], ...], seed: int, rate: float
) -> DefectPlan:
    return DefectPlan(get_dataset(name), dict(counts), seed, rate)
