"""Rules as SQL for one table and dialect: conditions for the one aggregate scan, and set queries.

Column rules become a failing-row condition summed in one scan of the table; ``unique``,
``duplicates``, ``references``, ``coverage`` and ``sql`` become their own queries (GROUP BY and
anti-joins). Rules the schema already guarantees (NOT NULL, a primary key or unique index) are not
run at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from batchyard.check import expr
from batchyard.check import rules as r
from batchyard.check.sources import TableInfo
from batchyard.db import quote_identifier as qi
from batchyard.errors import RulesError

DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
PATTERNS = {
    "email": r"^[^@\s]+@[^@\s]+\.[A-Za-z]+$",
    "date": DATE_RE,
    "datetime": r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$",
    "uuid": r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
    "url": r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^\s/?#]+[^\s]*$",
    "integer": r"^\s*[+-]?\d+\s*$",
    "number": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$",
}


INTEGERS = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
}


@dataclass
class Compiled:
    """One rule, ready to run: in the scan (``fail``), as its own query, or not at all (``skip``)."""

    rule: Any
    fail: str | None = None  # a failing-row condition, summed in the table's scan
    checked: str | None = None  # the rows the rule looks at, when not all (its own ``where``)
    count_sql: str | None = None  # a query returning the failing count
    sample_sql: str | None = None  # a query returning failing rows (LIMIT included)
    skip: str | None = None  # why the rule need not run
    extra: dict[str, Any] = field(default_factory=dict)


def literal(value: Any, dialect: str) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return ("1" if value else "0") if dialect == "sqlite" else ("TRUE" if value else "FALSE")
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def text(col: str, dialect: str) -> str:
    if dialect == "sqlite":
        return col
    return f"CAST({col} AS {'VARCHAR' if dialect == 'duckdb' else 'TEXT'})"


def matches(col: str, pattern: str, dialect: str) -> str:
    """A condition true when ``col`` matches the regex (NULL when it is NULL)."""
    glob = expr.regex_to_glob(pattern) if dialect != "postgres" else None
    if glob is not None:
        return f"{text(col, dialect)} GLOB {literal(glob, dialect)}"
    if dialect == "sqlite":
        return f"{col} REGEXP {literal(pattern, dialect)}"
    if dialect == "duckdb":
        return f"regexp_matches({text(col, dialect)}, {literal(pattern, dialect)})"
    return f"{text(col, dialect)} ~ {literal(pattern, dialect)}"


def valid_date(t: str, dialect: str) -> str:
    """A condition true when text ``t`` starts with a real calendar date (YYYY-MM-DD)."""
    if dialect == "sqlite":
        # date() alone keeps 2024-02-30; a modifier makes it normalise, so a bad day shows.
        return f"coalesce(date(substr({t}, 1, 10), '+0 days') = substr({t}, 1, 10), 0)"
    if dialect == "duckdb":
        return f"try_cast(substr({t}, 1, 10) AS DATE) IS NOT NULL"
    shape = literal(r"^(?!0000)\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])", dialect)
    last_day = (
        f"extract(day from make_date(substr({t}, 1, 4)::int, substr({t}, 6, 2)::int, 1) "
        "+ interval '1 month - 1 day')"
    )
    return f"(CASE WHEN {t} ~ {shape} THEN substr({t}, 9, 2)::int <= {last_day} ELSE false END)"


def _and(*conds: str | None) -> str:
    parts = [c for c in conds if c]
    return " AND ".join(f"({c})" for c in parts)


def _form(col: str, pattern: str, dialect: str, dated: bool) -> str:
    ok = matches(col, pattern, dialect)
    if dated:
        ok = f"{ok} AND {valid_date(text(col, dialect), dialect)}"
    return f"{col} IS NOT NULL AND NOT ({ok})"


def _outside(value: str, low: object, high: object, *, inclusive: bool = True) -> str:
    """The SQL condition that ``value`` is below ``low`` or above ``high`` (SQL each, or None
    for no bound); with ``inclusive`` the bounds themselves are inside."""
    below, above = ("<", ">") if inclusive else ("<=", ">=")
    parts = []
    if low is not None:
        parts.append(f"{value} {below} {low}")
    if high is not None:
        parts.append(f"{value} {above} {high}")
    return " OR ".join(parts)


def compile_rule(
    rule: Any, table: TableInfo, dialect: str, where: str, key: list[str], what: str
) -> Compiled:
    """``where`` is the suite's and the command's condition, already in ``dialect``."""
    c = Compiled(rule)
    cols = list(table.columns)
    for name in rule.columns_used:
        table.column(name, what)
    col = qi(rule.column) if getattr(rule, "column", None) else ""
    own = expr.sql_condition(rule.where, cols, f"{what}: where", dialect) if rule.where else None
    c.checked = own
    fail: str | None = None
    if isinstance(rule, r.NotNull):
        if rule.column in table.not_null:
            c.skip = "the column is declared NOT NULL"
        fail = f"{col} IS NULL"
    elif isinstance(rule, r.Between):
        low, high = (None if v is None else literal(v, dialect) for v in (rule.min, rule.max))
        fail = _outside(col, low, high, inclusive=rule.inclusive)
    elif isinstance(rule, r.In):
        # NULL is never a failing value; in a NOT IN list it would make every row pass.
        allowed = [literal(v, dialect) for v in rule.values if v is not None]
        fail = f"{col} NOT IN ({', '.join(allowed)})" if allowed else f"{col} IS NOT NULL"
    elif isinstance(rule, r.Regex):
        pattern = rule.pattern or PATTERNS[rule.format or ""]
        fail = _form(col, pattern, dialect, rule.format in ("date", "datetime"))
    elif isinstance(rule, r.Type):
        fail = _form(col, PATTERNS.get(rule.as_, DATE_RE), dialect, rule.as_ == "date")
    elif isinstance(rule, r.Length):
        fail = _outside(f"length({text(col, dialect)})", rule.min, rule.max)
    elif isinstance(rule, r.Expression):
        fail = f"NOT {expr.sql_condition(rule.expression, cols, f'{what}: expression', dialect)}"
    elif isinstance(rule, r.RowCount | r.Freshness):
        pass  # from the scan's count(*) and max(column)
    elif isinstance(rule, r.Unique | r.Duplicates):
        _grouped(c, rule, table, dialect, where, own)
    elif isinstance(rule, r.References):
        _references(c, rule, table, dialect, where, own, key, what)
    elif isinstance(rule, r.Coverage):
        day = f"substr({text(col, dialect)}, 1, 10)"
        cond = _and(where, own, f"{col} IS NOT NULL")
        c.count_sql = f"SELECT DISTINCT {day} FROM {qi(table.name)} WHERE {cond}"
    elif isinstance(rule, r.Sql):
        q = expr.render(expr.query(rule.sql, f"{what}: sql"), dialect)
        c.count_sql = f"SELECT count(*) FROM ({q}) q"
        c.sample_sql = f"SELECT * FROM ({q}) q LIMIT {rule.sample}"
    else:  # pragma: no cover - the rule types are closed
        raise RulesError(f"{what}: rule {rule.kind!r} cannot run here")
    if fail is not None:
        c.fail = _and(own, fail)
        shown = list(dict.fromkeys([*key, *rule.columns_used, *_expr_columns(rule, cols)]))
        select = _columns(shown) if key else "*"
        c.sample_sql = (
            f"SELECT {select} FROM {qi(table.name)} WHERE {_and(where, c.fail)} LIMIT {rule.sample}"
        )
    return c


def _columns(names: list[str]) -> str:
    """The sample's columns: the key and the rule's own. A table without a key shows whole rows,
    the only way to tell which rows they are."""
    return ", ".join("rowid" if k == "rowid" else qi(k) for k in names)


def _expr_columns(rule: Any, cols: list[str]) -> list[str]:
    texts = [getattr(rule, "expression", None)]
    out: list[str] = []
    for t in texts:
        if t:
            from sqlglot import exp

            tree = expr.condition(t, cols, "expression")
            out += [col.name for col in tree.find_all(exp.Column) if col.name in cols]
    return out


def _grouped(
    c: Compiled, rule: Any, table: TableInfo, dialect: str, where: str, own: str | None
) -> None:
    names = (
        [rule.column] if isinstance(rule, r.Unique) and rule.column else list(rule.columns or [])
    )
    if isinstance(rule, r.Duplicates) and not names:
        names = list(table.columns)
    if isinstance(rule, r.Unique) and any(u <= set(names) for u in table.uniques):
        c.skip = "the schema keeps these columns unique"
    group = ", ".join(qi(n) for n in names)
    nulls = [f"{qi(n)} IS NOT NULL" for n in names] if isinstance(rule, r.Unique) else []
    cond = _and(where, own, *nulls)
    body = (
        f"FROM {qi(table.name)}{' WHERE ' + cond if cond else ''} GROUP BY {group} "
        "HAVING count(*) > 1"
    )
    c.count_sql = f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n {body}) d"
    kind = table.columns.get(names[0], "").upper() if len(names) == 1 else ""
    if isinstance(rule, r.Unique) and dialect == "duckdb" and kind in INTEGERS:
        # Integers in a dense range: a bitmap of the values present counts the distinct ones
        # in one pass, far cheaper than hashing every value (see engine.dense_unique).
        c.extra["dense"] = (
            qi(names[0]),
            f"FROM {qi(table.name)}{' WHERE ' + cond if cond else ''}",
        )
    c.sample_sql = (
        f"SELECT {group}, count(*) AS {qi('rows')} {body} ORDER BY count(*) DESC "
        f"LIMIT {rule.sample}"
    )


def _references(
    c: Compiled,
    rule: r.References,
    table: TableInfo,
    dialect: str,
    where: str,
    own: str | None,
    key: list[str],
    what: str,
) -> None:
    col = qi(rule.column)
    parent_name = qi(rule.table)
    to = qi(rule.target_column)
    cond = _and(where, own, f"{col} IS NOT NULL")
    if dialect == "sqlite":
        # SQLite probes once per row: grouping first probes once per distinct value.
        c.count_sql = (
            f"SELECT coalesce(sum(n), 0) FROM (SELECT {col} AS v, count(*) AS n FROM "
            f"{qi(table.name)} WHERE {cond} GROUP BY {col}) c "
            f"WHERE NOT EXISTS (SELECT 1 FROM {parent_name} p WHERE p.{to} = c.v)"
        )
    elif dialect == "duckdb":  # its correlated NOT EXISTS is far slower than ANTI JOIN
        c.count_sql = (
            f"SELECT count(*) FROM (SELECT {col} FROM {qi(table.name)} WHERE {cond}) c "
            f"ANTI JOIN {parent_name} p ON p.{to} = c.{col}"
        )
    else:  # PostgreSQL plans NOT EXISTS as a hash anti-join
        c.count_sql = (
            f"SELECT count(*) FROM {qi(table.name)} AS c WHERE {cond} AND NOT EXISTS "
            f"(SELECT 1 FROM {parent_name} p WHERE p.{to} = c.{col})"
        )
    shown = list(dict.fromkeys([*key, rule.column]))
    select = _columns(shown) if key else "*"
    c.sample_sql = (
        f"SELECT * FROM (SELECT {select} FROM {qi(table.name)} WHERE {cond}) c "
        f"WHERE NOT EXISTS (SELECT 1 FROM {parent_name} p WHERE p.{to} = c.{col}) "
        f"LIMIT {rule.sample}"
    )
