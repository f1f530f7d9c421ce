"""How a dataset is described: tables, columns, keys, indexes, row counts and the defects it can carry.

A table's rows come from its ``values`` function, which gets a :class:`~.sql.Row` and the row counts
of the dataset and returns one SQL expression per column. Foreign keys point into the parent's range
``1..count``, so every one resolves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from batchyard.db.types import ColumnType
from batchyard.errors import ParamError
from batchyard.generate.datasets.sql import MAX_ROWS, Dialect, Row, Values, ident

Counts = dict[str, int]
Eligible = Callable[[Values, int], bool]

#: Named scales, as multiples of a dataset's rows at scale 1 (sports: 2,959,920 rows).
SCALES: dict[str, float] = {"small": 0.19, "medium": 0.865, "large": 4.325, "xlarge": 18.6}
MAX_SCALE = 1000.0

#: The kinds of defect ``--inject-errors`` plants.
DEFECT_KINDS = (
    "null_required",  # NULL in a column that must have a value
    "out_of_range",  # a value outside the column's documented range
    "orphan_fk",  # a foreign key that references no parent row
    "duplicate_key",  # a business key that another row already has
    "malformed_email",  # an email address that is not one
    "malformed_date",  # a date that is not a valid ISO date
    "inconsistent",  # a computed column that disagrees with its inputs
)


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # a logical type of batchyard.db.types
    nullable: bool = False
    precision: int | None = None
    scale: int | None = None

    def column_type(self) -> ColumnType:
        return ColumnType(self.type, precision=self.precision, scale=self.scale)


@dataclass(frozen=True)
class ForeignKey:
    column: str
    parent: str
    parent_column: str


@dataclass(frozen=True)
class Index:
    columns: tuple[str, ...]
    unique: bool = False


class Update:
    """What a defect's value function builds on: the row's columns, its number and its dataset."""

    def __init__(self, table: Table, dialect: Dialect, seed: int, dataset: str, counts: Counts):
        self.table = table
        self.dialect = dialect
        self.counts = counts
        self._row = Row(dialect, seed, (dataset, table.name), inline=True)

    @property
    def n(self) -> str:
        """The row number of the row being changed."""
        return ident(self.table.primary_key[0])

    def col(self, name: str) -> str:
        return ident(name)

    def at(self, column: str, n: str) -> str:
        """The clean value ``column`` has at row number ``n`` (a SQL expression)."""
        return self.table.values(self._row.at(n), self.counts)[column]

    def real(self, numerator: str, divisor: int) -> str:
        return self.dialect.real(numerator, divisor)


@dataclass(frozen=True)
class Defect:
    """A kind of defect ``--inject-errors`` plants in one column, with the rule it breaks."""

    kind: str
    column: str
    value: Callable[[Update], str]  # the SQL of the defective value
    rule: Mapping[str, Any] = field(default_factory=dict)  # for the manifest: what a check tests
    eligible: Callable[[Values, int], bool] | None = None  # rows it may be planted in

    def __post_init__(self) -> None:
        assert self.kind in DEFECT_KINDS, self.kind


# -- the defects datasets share ------------------------------------------------------------


def malformed_date(column: str) -> Defect:
    """Three ways to spoil an ISO date: February 30th, a 13th month, day/month/year order."""
    d = ident(column)
    value = (
        f"(CASE {{n}} % 3 WHEN 0 THEN substr({d}, 1, 5) || '02-30' "
        f"WHEN 1 THEN substr({d}, 1, 5) || '13' || substr({d}, 8, 3) "
        f"ELSE substr({d}, 9, 2) || '/' || substr({d}, 6, 2) || '/' || substr({d}, 1, 4) END)"
    )
    return Defect(
        "malformed_date", column, lambda u: value.format(n=u.n), rule={"format": "YYYY-MM-DD"}
    )


def malformed_email(column: str, eligible: Eligible | None = None) -> Defect:
    """Three ways to spoil an address: no @, two @, spaces around the @."""
    e = ident(column)
    value = (
        f"(CASE {{n}} % 3 WHEN 0 THEN replace({e}, '@', '.') "
        f"WHEN 1 THEN replace({e}, '@', '@@') ELSE replace({e}, '@', ' @ ') END)"
    )
    return Defect(
        "malformed_email",
        column,
        lambda u: value.format(n=u.n),
        rule={"pattern": r"^[^@\s]+@[^@\s]+\.[A-Za-z]+$"},
        eligible=eligible,
    )


def null_required(column: str) -> Defect:
    return Defect("null_required", column, lambda u: "NULL", rule={"not_null": True})


def orphan(column: str, parent: str) -> Defect:
    return Defect(
        "orphan_fk",
        column,
        lambda u: f"({u.counts[parent]} + 1 + {u.n} % 1000)",
        rule={"references": parent},
    )


def duplicate(column: str) -> Defect:
    """The business key of the row before: the pair shares it."""
    return Defect(
        "duplicate_key", column, lambda u: u.at(column, f"{u.n} - 1"), rule={"unique": True}
    )


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    values: Callable[[Row, Counts], Mapping[str, str]]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    defects: tuple[Defect, ...] = ()
    #: Rows per key of the first primary-key column (odds: 8 per match); chunks hold whole keys.
    rows_per_key: int = 1
    #: The primary key of row ``n``, when it is not simply ``n``.
    key_of: Callable[[int], dict[str, Any]] | None = None

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def key(self, n: int) -> dict[str, Any]:
        if self.key_of is not None:
            return self.key_of(n)
        return {self.primary_key[0]: n}

    def where_rows(self, start: int, stop: int) -> str:
        """The rows numbered ``start..stop``, as a condition on the key."""
        per = self.rows_per_key
        first, last = (start - 1) // per + 1, (stop - 1) // per + 1
        return f"{ident(self.primary_key[0])} BETWEEN {first} AND {last}"

    def relaxed(self, injected: bool) -> Relaxed:
        """The constraints a defect would break, which an injected dataset leaves out."""
        if not injected:
            return Relaxed()
        kinds = {(d.kind, d.column) for d in self.defects}
        return Relaxed(
            nullable=frozenset(c for k, c in kinds if k == "null_required"),
            foreign_keys=frozenset(c for k, c in kinds if k == "orphan_fk"),
            unique=frozenset(c for k, c in kinds if k == "duplicate_key"),
            text_on_postgres=frozenset(c for k, c in kinds if k == "malformed_date"),
        )


@dataclass(frozen=True)
class Relaxed:
    nullable: frozenset[str] = frozenset()
    foreign_keys: frozenset[str] = frozenset()
    unique: frozenset[str] = frozenset()
    text_on_postgres: frozenset[str] = frozenset()

    def to_dict(self) -> dict[str, list[str]]:
        out = {
            "not_null_dropped": sorted(self.nullable),
            "foreign_keys_dropped": sorted(self.foreign_keys),
            "unique_dropped": sorted(self.unique),
            "text_on_postgresql": sorted(self.text_on_postgres),
        }
        return {k: v for k, v in out.items() if v}


@dataclass(frozen=True)
class Dataset:
    name: str
    description: str
    tables: tuple[Table, ...]  # parents before children
    base: Mapping[str, int]  # rows at scale 1 of the tables not derived from others
    derive: Callable[[Counts], Counts] = lambda counts: {}
    #: Most rows a derived table can have for given counts (odds: 8 per match).
    capacity: Callable[[Counts], Counts] = lambda counts: {}

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        names = ", ".join(t.name for t in self.tables)
        raise ParamError(f"{self.name} has no table {name!r} (it has: {names})")

    def counts(self, scale: float, rows: Mapping[str, int] | None = None) -> Counts:
        """Rows per table at ``scale``, with ``rows`` overriding tables by name."""
        rows = dict(rows or {})
        for name in rows:
            self.table(name)
        counts = {name: max(1, round(base * scale)) for name, base in self.base.items()}
        counts.update({k: v for k, v in rows.items() if k in counts})
        derived = self.derive(counts)
        counts.update({k: rows.get(k, v) for k, v in derived.items()})
        for name, most in self.capacity(counts).items():
            if counts[name] > most:
                raise ParamError(
                    f"{self.name}.{name}: {counts[name]:,} rows do not fit; at most "
                    f"{most:,} for these parent tables"
                )
        for name, count in counts.items():
            if count > MAX_ROWS:
                raise ParamError(
                    f"{self.name}.{name}: {count:,} rows is more than the "
                    f"{MAX_ROWS:,} a table can have"
                )
        return {t.name: counts[t.name] for t in self.tables}


def parse_scale(value: str | float) -> float:
    """A scale: a name (small, medium, large, xlarge) or a positive number (1 = the base sizes)."""
    text = str(value).strip().lower()
    if text in SCALES:
        return SCALES[text]
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not 0 < number <= MAX_SCALE:
        names = ", ".join(SCALES)
        raise ParamError(
            f"scale {value!r}: use {names} or a number above 0 and at most "
            f"{MAX_SCALE:g} (1 = the base sizes)"
        )
    return number
