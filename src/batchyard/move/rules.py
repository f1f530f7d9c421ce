"""The column rules of a migration (``--type table.column=TYPE``, ``--skip-bad table.column``):
each must name a column of a table being moved, or the migration is refused before it starts.

A table's name may hold dots itself: a rule names the longest table whose name and a dot start it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from batchyard.errors import UsageError


class _Table(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def column_names(self) -> list[str]: ...


def split(rule: str, tables: Iterable[str]) -> tuple[str, str] | None:
    """``(table, column)`` named by ``rule`` among ``tables`` (None: no such table)."""
    found = [t for t in tables if rule.startswith(f"{t}.")]
    if not found:
        return None
    table = max(found, key=len)
    return table, rule[len(table) + 1 :]


def check(option: str, rules: Sequence[str], tables: Sequence[_Table]) -> None:
    """Refuse a rule that names no table being moved, or no column of its table (exit 2)."""
    by_name = {t.name: t for t in tables}
    for rule in rules:
        if "." not in rule:
            raise UsageError(f"{option} {rule!r}: name the column as table.column")
        found = split(rule, by_name)
        if found is None:
            raise UsageError(
                f"{option} {rule}: no table {rule.split('.', 1)[0]!r} among those to move "
                f"(they are: {', '.join(by_name) or 'none'})"
            )
        table, column = found
        if column not in by_name[table].column_names:
            raise UsageError(
                f"{option} {rule}: table {table!r} has no column {column!r} "
                f"(it has: {', '.join(by_name[table].column_names)})"
            )


def for_table(rules: dict[str, str], table: str, tables: Iterable[str]) -> dict[str, str]:
    """The rules of ``table``, by column."""
    names = list(tables)
    out = {}
    for rule, value in rules.items():
        found = split(rule, names)
        if found is not None and found[0] == table:
            out[found[1]] = value
    return out
