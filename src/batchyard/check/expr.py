"""User SQL in rules: parsed and checked with SQLGlot, then written out in the target's dialect.

Expressions and ``where`` conditions are read as PostgreSQL writes them (``~`` for regexes,
``::`` casts) and may name only the table's columns; custom ``sql`` must be one SELECT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from batchyard.check.suite import RulesError, did_you_mean

if TYPE_CHECKING:
    from sqlglot import exp

READ = "postgres"


def _parse(text: str, what: str) -> exp.Expression:
    # SQLGlot loads only for suites that carry SQL of their own.
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, SqlglotError

    forbidden = (exp.DDL, exp.DML, exp.Command, exp.Transaction, exp.Into)
    try:
        tree: Any = sqlglot.parse_one(text, read=READ)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        pos = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        desc = first.get("description") or str(exc)
        raise RulesError(f"{what}: {text!r} is not valid SQL{pos}: {desc}") from None
    except SqlglotError as exc:
        raise RulesError(f"{what}: {text!r} is not valid SQL: {exc}") from None
    if tree is None:
        raise RulesError(f"{what}: the SQL is empty")
    if isinstance(tree, forbidden) or any(tree.find_all(*forbidden)):
        raise RulesError(
            f"{what}: {text!r}: only conditions and SELECTs; validation never changes data"
        )
    return cast(exp.Expression, tree)


def condition(text: str, columns: Iterable[str], what: str) -> exp.Expression:
    """A boolean over the table's columns; unknown columns are named, with a suggestion."""
    from sqlglot import exp

    tree = _parse(text, what)
    if isinstance(tree, exp.Query):
        raise RulesError(f"{what}: {text!r} is a query; give a condition such as `stake > 0`")
    known = list(columns)
    lowered = {c.lower(): c for c in known}
    for col in tree.find_all(exp.Column):
        if col.table:
            continue
        name = col.name
        if name not in known and name.lower() not in lowered:
            raise RulesError(
                f"{what}: {text!r}: no column {name!r}{did_you_mean(name, known)} "
                f"(columns: {', '.join(known)})"
            )
    return tree


def query(text: str, what: str) -> exp.Expression:
    """A custom SELECT returning failing rows."""
    from sqlglot import exp

    tree = _parse(text, what)
    if not isinstance(tree, exp.Query):
        raise RulesError(f"{what}: {text!r}: give a SELECT that returns the failing rows")
    return tree


def render(tree: exp.Expression, dialect: str) -> str:
    return tree.sql(dialect=dialect)


def sql_condition(text: str, columns: Iterable[str], what: str, dialect: str) -> str:
    return f"({render(condition(text, columns, what), dialect)})"


# -- regexes that need no regex engine --------------------------------------------------------------

_ATOM = re.compile(r"\\d|\[0-9\]|\[A-Z\]|\[a-z\]|\\\.|[A-Za-z0-9 _:/\-]")
_COUNT = re.compile(r"\{(\d+)\}")


def regex_to_glob(pattern: str) -> str | None:
    """A GLOB equal to an anchored regex of fixed-width atoms (``^\\d{4}-\\d{2}-\\d{2}$``), else None.

    SQLite runs GLOB natively, far faster than a regex function called back into Python.
    """
    if not (pattern.startswith("^") and pattern.endswith("$")) or pattern.endswith("\\$"):
        return None
    body, out, i = pattern[1:-1], [], 0
    while i < len(body):
        m = _ATOM.match(body, i)
        if not m:
            return None
        atom = m.group(0)
        i = m.end()
        glob = {"\\d": "[0-9]", "\\.": "."}.get(atom, atom)
        if atom in ("*", "?", "["):
            return None
        n = 1
        c = _COUNT.match(body, i)
        if c:
            n, i = int(c.group(1)), c.end()
        out.append(glob * n)
    return "".join(out)
