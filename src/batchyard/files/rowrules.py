"""``import --validate RULES``: a validation suite's error rules checked on each row before commit.

Each batch is written to a temporary staging table on the target's own connection (so values have
the types the table will hold), the error-severity rules that judge one row at a time (not_null,
between, in, regex, type, length, expression) are evaluated there in SQL, and only the rows that
pass go on to the table; the others are quarantined with the rule's name. Rules over sets of rows
(unique, duplicates, references, coverage, row_count, freshness, sql) and warnings are left to
``batchyard validate`` after the import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from batchyard.check import expr
from batchyard.check import rules as r
from batchyard.check.compile import compile_rule
from batchyard.check.sources import TableInfo
from batchyard.check.suite import Suite
from batchyard.db import quote_identifier as qi
from batchyard.errors import UsageError
from batchyard.move.reflect import Table

STAGING = "batchyard_staging"


@dataclass(frozen=True)
class RowRules:
    """The checks of one table: (rule name, SQL condition true for a failing row)."""

    file: str
    table: str
    checks: tuple[tuple[str, str], ...]
    left: tuple[str, ...] = field(default=())


def for_table(rules_file: str, table: Table, dialect: str) -> RowRules:
    """The suite's row rules for ``table``; a suite without rules for it is refused."""
    path = Path(rules_file).expanduser()
    suite = Suite.load(path)
    rules = suite.tables.get(table.name)
    if rules is None:
        raise UsageError(
            f"--validate {path}: no rules for table {table.name!r} (it has rules for: "
            f"{', '.join(suite.tables) or 'none'})"
        )
    check_dialect = "postgres" if dialect == "postgresql" else "sqlite"
    info = TableInfo(
        table.name,
        {c.name: c.type.declared or c.type.logical for c in table.columns},
        table.primary_key,
    )
    cols = list(info.columns)
    where = (
        expr.sql_condition(suite.where, cols, f"{path}: where", check_dialect)
        if suite.where
        else ""
    )
    checks, left = [], []
    for i, rule in enumerate(rules):
        label = rule.label()
        if rule.severity != r.Severity.ERROR:
            continue
        what = f"{path}: {table.name} rule {i + 1} ({label})"
        compiled = compile_rule(rule, info, check_dialect, where, list(table.primary_key), what)
        if compiled.fail is None:
            left.append(label)
            continue
        checks.append((label, f"({where}) AND ({compiled.fail})" if where else compiled.fail))
    return RowRules(str(path), table.name, tuple(checks), tuple(left))


class Stage:
    """The staging table on the target connection and the check of each batch through it."""

    def __init__(
        self,
        rules: RowRules,
        columns: Sequence[str],
        dialect: str,
        run: Callable[[str, Sequence[Any]], list[tuple[Any, ...]]],
        many: Callable[[str, list[tuple[Any, ...]]], object],
    ) -> None:
        self.rules, self.run, self.many = rules, run, many
        cols = ", ".join(qi(c) for c in columns)
        mark = "?" if dialect == "sqlite" else "%s"
        target = qi(rules.table)
        if dialect == "sqlite":
            run(f"DROP TABLE IF EXISTS temp.{STAGING}", [])
            run(
                f"CREATE TEMP TABLE {STAGING} AS SELECT 0 AS batchyard_n, {cols} "
                f"FROM main.{target} LIMIT 0",
                [],
            )
        else:
            run(f"DROP TABLE IF EXISTS pg_temp.{STAGING}", [])
            run(
                f"CREATE TEMP TABLE {STAGING} AS SELECT 0::bigint AS batchyard_n, {cols} "
                f"FROM {target} WITH NO DATA",
                [],
            )
        marks = ", ".join(mark for _ in range(len(columns) + 1))
        self.insert = f"INSERT INTO {STAGING} (batchyard_n, {cols}) VALUES ({marks})"
        flags = ", ".join(f"CASE WHEN {cond} THEN 1 ELSE 0 END" for _, cond in rules.checks)
        anyfail = " OR ".join(f"({cond})" for _, cond in rules.checks)
        self.failing = f"SELECT batchyard_n, {flags} FROM {STAGING} WHERE {anyfail}"

    def failures(self, rows: list[tuple[Any, ...]]) -> dict[int, str]:
        """Index of each row that fails a rule, with the names of the rules it fails."""
        if not rows or not self.rules.checks:
            return {}
        self.many(self.insert, [(i, *row) for i, row in enumerate(rows)])
        found = self.run(self.failing, [])
        self.run(f"DELETE FROM {STAGING}", [])
        names = [n for n, _ in self.rules.checks]
        return {
            int(n): ", ".join(name for name, hit in zip(names, hits, strict=True) if hit)
            for n, *hits in found
        }
