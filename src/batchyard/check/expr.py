"""User SQL: parsed and checked with SQLGlot, then written out in the target's dialect.

Rule expressions, rules' ``where`` and the commands' ``--where`` are read as PostgreSQL writes them
(``~`` for regexes, ``::`` casts): one boolean condition over the table's columns, with no ``;``
and no subquery. Custom ``sql`` must be one SELECT. Both may call only the functions of
:data:`FUNCTIONS`, which compute and never act (an allow-list: ``setval``, ``pg_sleep``,
``lo_import``, ``load_extension`` and whatever a server adds tomorrow stay out). The reads run in
read-only transactions as well; this is the first wall, with messages that say what to write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from batchyard.check.suite import did_you_mean
from batchyard.errors import RulesError

if TYPE_CHECKING:
    from sqlglot import exp

READ = "postgres"

#: Functions user SQL may call: pure computations on values, aggregates and window functions,
#: by SQLGlot's name for them (typed functions) or as written (others).
FUNCTIONS = frozenset(
    name
    for group in (
        ("CASE", "IF", "IIF", "COALESCE", "NULLIF", "IFNULL", "NVL", "GREATEST"),
        ("LEAST", "EXISTS", "ABS", "ROUND", "CEIL", "CEILING", "FLOOR", "TRUNC"),
        ("SIGN", "SQRT", "CBRT", "POWER", "POW", "EXP", "LN", "LOG", "LOG10", "LOG2"),
        ("MOD", "DIV", "RAND", "RANDOM", "PI", "DEGREES", "RADIANS", "LOWER", "UPPER"),
        ("LENGTH", "CHAR_LENGTH", "CHARACTER_LENGTH", "OCTET_LENGTH", "BIT_LENGTH"),
        ("SUBSTRING", "SUBSTR", "TRIM", "LTRIM", "RTRIM", "BTRIM", "REPLACE"),
        ("TRANSLATE", "CONCAT", "CONCAT_WS", "LEFT", "RIGHT", "PAD", "LPAD", "RPAD"),
        ("STR_POSITION", "STRPOS", "POSITION", "INSTR", "REVERSE", "REPEAT", "INITCAP"),
        ("SPLIT_PART", "STARTS_WITH", "REGEXP_LIKE", "REGEXP_I_LIKE", "REGEXP_REPLACE"),
        ("REGEXP_EXTRACT", "REGEXP_MATCHES", "REGEXP_SUBSTR", "HEX", "UNHEX", "ASCII"),
        ("CHR", "UNICODE", "MD5", "FORMAT", "PRINTF", "QUOTE", "CAST", "TRY_CAST"),
        ("TYPEOF", "TO_CHAR", "TO_DATE", "TO_TIMESTAMP", "TO_NUMBER", "DATE", "TIME"),
        ("DATETIME", "TIMESTAMP", "JULIANDAY", "STRFTIME", "UNIXEPOCH", "CURRENT_DATE"),
        ("CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME", "LOCALTIMESTAMP", "NOW"),
        ("EXTRACT", "DATE_PART", "DATE_TRUNC", "TIMESTAMP_TRUNC", "DATE_ADD"),
        ("DATE_SUB", "DATE_DIFF", "DATEDIFF", "AGE", "MAKE_DATE", "MAKE_TIMESTAMP"),
        ("STR_TO_DATE", "STR_TO_TIME", "TIME_TO_STR", "TIME_STR_TO_TIME"),
        ("UNIX_TO_TIME", "TS_OR_DS_TO_DATE", "JSON_EXTRACT", "JSON_EXTRACT_SCALAR"),
        ("JSONB_EXTRACT", "JSONB_EXTRACT_SCALAR", "JSON_VALID", "JSON_TYPE"),
        ("JSON_TYPEOF", "JSONB_TYPEOF", "JSON_ARRAY_LENGTH", "JSONB_ARRAY_LENGTH"),
        ("COUNT", "SUM", "TOTAL", "MIN", "MAX", "AVG", "STDDEV", "STDDEV_POP"),
        ("STDDEV_SAMP", "VARIANCE", "VARIANCE_POP", "VAR_POP", "VAR_SAMP", "MEDIAN"),
        ("PERCENTILE_CONT", "PERCENTILE_DISC", "ARRAY_AGG", "GROUP_CONCAT"),
        ("STRING_AGG", "LOGICAL_AND", "LOGICAL_OR", "BOOL_AND", "BOOL_OR", "ANY_VALUE"),
        ("COUNT_IF", "ROW_NUMBER", "RANK", "DENSE_RANK", "PERCENT_RANK", "CUME_DIST"),
        ("NTILE", "LAG", "LEAD", "FIRST_VALUE", "LAST_VALUE", "NTH_VALUE"),
    )
    for name in group
)

#: Statements and clauses that act rather than read (SQLGlot does not file them all under DDL).
_ACTS = (
    "DDL",
    "DML",
    "Command",
    "Transaction",
    "Commit",
    "Rollback",
    "Into",
    "Drop",
    "Create",
    "Alter",
    "Insert",
    "Update",
    "Delete",
    "Merge",
    "Set",
    "Pragma",
    "Copy",
    "Use",
    "Attach",
    "Detach",
    "TruncateTable",
    "LoadData",
    "Grant",
    "Revoke",
    "Lock",
)


def _parse(text: str, what: str, noun: str) -> exp.Expression:
    # SQLGlot loads only for suites and commands that carry SQL of their own.
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, SqlglotError

    try:
        parsed: list[Any] = sqlglot.parse(text, read=READ)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        pos = f" at line {first.get('line')}, column {first.get('col')}" if first else ""
        desc = first.get("description") or str(exc)
        raise RulesError(f"{what}: {text!r} is not valid SQL{pos}: {desc}") from None
    except SqlglotError as exc:
        raise RulesError(f"{what}: {text!r} is not valid SQL: {exc}") from None
    statements = [t for t in parsed if t is not None and not isinstance(t, exp.Semicolon)]
    if not statements:
        raise RulesError(f"{what}: the SQL is empty")
    if len(statements) > 1 or (noun == "condition" and len(parsed) > 1):
        raise RulesError(f"{what}: {text!r}: give one {noun}, with no `;`")
    tree: exp.Expression = statements[0]
    acts = tuple(getattr(exp, name) for name in _ACTS if hasattr(exp, name))
    if isinstance(tree, acts) or any(tree.find_all(*acts)):
        raise RulesError(
            f"{what}: {text!r}: only conditions and SELECTs; checks and exports never change data"
        )
    for call in tree.find_all(exp.Func):
        if isinstance(call, exp.Connector):
            continue  # AND, OR
        name = call.name.upper() if isinstance(call, exp.Anonymous) else call.sql_name()
        if name not in FUNCTIONS:
            raise RulesError(
                f"{what}: {text!r} calls {name.lower()}(), which is not allowed here; use "
                "comparisons and functions that compute on values, such as abs, round, lower, "
                "coalesce, substr, date, extract"
            )
    return tree


def condition(text: str, columns: Iterable[str], what: str) -> exp.Expression:
    """A boolean over the table's columns; unknown columns are named, with a suggestion."""
    from sqlglot import exp

    tree = _parse(text, what, "condition")
    if isinstance(tree, exp.Query):
        raise RulesError(f"{what}: {text!r} is a query; give a condition such as `stake > 0`")
    if any(tree.find_all(exp.Query)):
        raise RulesError(
            f"{what}: {text!r} holds a subquery; give a condition on the table's own columns"
        )
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

    tree = _parse(text, what, "SELECT")
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
