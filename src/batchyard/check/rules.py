"""Validation rules: the typed Python API, one class per rule type, and the suite that holds them.

A :class:`Suite` is what a rules file says; ``Suite.from_yaml`` and ``Suite.to_yaml`` turn one into the
other without loss. Every rule takes ``severity``, ``threshold``, ``where``, ``sample`` and ``fix``.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 3, "warning": 2, "info": 1}[self.value]


_THRESHOLD = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*$")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_AGE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    #: What the rule checks, in one line, for reports; ``{x}`` are the rule's fields.
    summary: ClassVar[str] = ""
    #: The suggested fix when the rule gives none.
    default_fix: ClassVar[str] = ""

    name: str | None = Field(None, description="Names the rule in reports (default: made from it).")
    severity: Severity = Field(Severity.ERROR, description="error, warning or info.")
    threshold: int | str = Field(
        0,
        description="Failing rows allowed before the rule fails: a count (10) or a percent ('0.5%').",
    )
    where: str | None = Field(
        None, description="A SQL condition: only rows matching it are checked."
    )
    sample: int = Field(5, ge=0, le=1000, description="Failing rows to show (0: none).")
    fix: str | None = Field(None, description="The fix to suggest when the rule fails.")

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: int | str) -> int | str:
        if isinstance(value, int):
            if value < 0:
                raise ValueError("a threshold is a count of rows >= 0 or a percent such as '1%'")
            return value
        if not _THRESHOLD.match(value):
            raise ValueError(f"threshold {value!r}: give a count of rows (10) or a percent ('1%')")
        return value.strip()

    def allows(self, failing: int, checked: int) -> bool:
        """True when ``failing`` of ``checked`` is within the threshold."""
        if isinstance(self.threshold, int):
            return failing <= self.threshold
        m = _THRESHOLD.match(self.threshold)
        assert m is not None
        return failing == 0 or (checked > 0 and 100.0 * failing / checked <= float(m.group(1)))

    @property
    def kind(self) -> str:
        return str(self.__dict__["rule"])

    @property
    def columns_used(self) -> list[str]:
        out = [getattr(self, "column", None), *(getattr(self, "columns", None) or [])]
        return [c for c in out if c]

    def label(self) -> str:
        """The rule's name: its own, else the rule type and its columns."""
        if self.name:
            return self.name
        cols = self.columns_used
        return f"{self.kind}({', '.join(cols)})" if cols else self.kind

    def suggested_fix(self) -> str:
        return self.fix or self.default_fix.format(
            **{k: v for k, v in self.__dict__.items() if v is not None},
            cols=", ".join(self.columns_used),
        )


class _Bounded(_Base):
    """A rule with a ``min``, a ``max`` or both."""

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.__dict__["min"] is None and self.__dict__["max"] is None:
            raise ValueError(f"{self.kind} needs min, max or both")
        return self


class NotNull(_Base):
    rule: Literal["not_null"] = "not_null"
    column: str
    default_fix: ClassVar[str] = (
        "Fill in {column}, or declare it NOT NULL where the rows are written."
    )


class Unique(_Base):
    rule: Literal["unique"] = "unique"
    column: str | None = None
    columns: list[str] | None = Field(
        None, description="Several columns that together must be unique."
    )
    default_fix: ClassVar[str] = (
        "Remove or merge the duplicate rows, then add a unique index on ({cols})."
    )

    @model_validator(mode="after")
    def _one(self) -> Unique:
        if bool(self.column) == bool(self.columns):
            raise ValueError("unique takes column or columns (one of them)")
        return self


class Between(_Bounded):
    rule: Literal["between"] = "between"
    column: str
    min: float | int | str | None = None
    max: float | int | str | None = None
    inclusive: bool = Field(True, description="Whether the bounds themselves are allowed.")
    default_fix: ClassVar[str] = (
        "Correct {column} values outside the allowed range, or widen the range."
    )


class In(_Base):
    rule: Literal["in"] = "in"
    column: str
    values: list[Any] = Field(min_length=1)
    default_fix: ClassVar[str] = "Map the other {column} values to allowed ones, or allow them."


FORMATS = ("email", "date", "datetime", "uuid", "url")


class Regex(_Base):
    rule: Literal["regex"] = "regex"
    column: str
    pattern: str | None = None
    format: Literal["email", "date", "datetime", "uuid", "url"] | None = None
    default_fix: ClassVar[str] = "Correct the {column} values that do not match the expected form."

    @model_validator(mode="after")
    def _one(self) -> Regex:
        if bool(self.pattern) == bool(self.format):
            raise ValueError(f"regex takes pattern or format ({', '.join(FORMATS)}), one of them")
        if self.pattern:
            try:
                re.compile(self.pattern)
            except re.error as exc:
                raise ValueError(f"pattern {self.pattern!r}: {exc}") from exc
        return self

    def label(self) -> str:
        if self.name:
            return self.name
        return f"{self.format or 'regex'}({self.column})"


class Length(_Bounded):
    rule: Literal["length"] = "length"
    column: str
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    default_fix: ClassVar[str] = "Shorten or complete the {column} values of the wrong length."


class Type(_Base):
    rule: Literal["type"] = "type"
    column: str
    as_: Literal["integer", "number", "date"] = Field(alias="as")
    default_fix: ClassVar[str] = "Correct the {column} values that are not a valid {as_}."


class References(_Base):
    rule: Literal["references"] = "references"
    column: str
    table: str = Field(description="The table the values must exist in.")
    to: str | None = Field(None, description="Its column (default: the same name as column).")
    default_fix: ClassVar[str] = (
        "Add the missing {table} rows, or correct {column}; then declare the foreign key."
    )

    @property
    def target_column(self) -> str:
        return self.to or self.column


class Expression(_Base):
    rule: Literal["expression"] = "expression"
    expression: str = Field(description="A SQL condition every row must meet.")
    column: str | None = Field(None, description="The column the report files the rule under.")
    default_fix: ClassVar[str] = "Correct the rows where this is false: {expression}."

    def label(self) -> str:
        if self.name:
            return self.name
        text = " ".join(self.expression.split())
        return f"expression({text if len(text) <= 60 else text[:57] + '...'})"


class RowCount(_Bounded):
    rule: Literal["row_count"] = "row_count"
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    default_fix: ClassVar[str] = "Check the load that fills this table: its row count is off."


class Freshness(_Base):
    rule: Literal["freshness"] = "freshness"
    column: str
    max_age: str = Field(description="How old the newest value may be: 30m, 6h, 2d, 1w.")
    default_fix: ClassVar[str] = (
        "Run the load that brings new rows: the newest {column} is too old."
    )

    @field_validator("max_age")
    @classmethod
    def _age(cls, value: str) -> str:
        if not _AGE.match(value):
            raise ValueError(f"max_age {value!r}: give a number and s, m, h, d or w (such as 2d)")
        return value

    @property
    def max_age_seconds(self) -> float:
        m = _AGE.match(self.max_age)
        assert m is not None
        return float(m.group(1)) * _AGE_SECONDS[m.group(2)]


class Coverage(_Base):
    rule: Literal["coverage"] = "coverage"
    column: str
    start: date | None = Field(None, description="First day (default: the earliest value).")
    end: date | None = Field(None, description="Last day (default: the latest value).")
    every: Literal["day", "week"] = "day"
    default_fix: ClassVar[str] = "Load the missing {every}s (a backfill job over those dates)."


class Duplicates(_Base):
    rule: Literal["duplicates"] = "duplicates"
    columns: list[str] | None = Field(None, description="Columns compared (default: all).")
    default_fix: ClassVar[str] = "Delete the repeated rows, keeping one of each."


class Sql(_Base):
    rule: Literal["sql"] = "sql"
    sql: str = Field(description="A SELECT returning the failing rows.")
    default_fix: ClassVar[str] = "Correct the rows the query returns."


RULE_TYPES: tuple[type[_Base], ...] = (
    NotNull,
    Unique,
    Between,
    In,
    Regex,
    Length,
    Type,
    References,
    Expression,
    RowCount,
    Freshness,
    Coverage,
    Duplicates,
    Sql,
)
RULE_NAMES = tuple(str(t.model_fields["rule"].default) for t in RULE_TYPES)

Rule = Annotated[
    NotNull
    | Unique
    | Between
    | In
    | Regex
    | Length
    | Type
    | References
    | Expression
    | RowCount
    | Freshness
    | Coverage
    | Duplicates
    | Sql,
    Field(discriminator="rule"),
]
