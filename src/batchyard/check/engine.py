"""Run a suite's rules on one table: one aggregate scan, then the set queries, then samples.

Samples are fetched only for rules that failed, with LIMIT and only the columns that tell why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

from batchyard.check import expr
from batchyard.check import rules as r
from batchyard.check.compile import Compiled, compile_rule
from batchyard.check.results import RuleResult, Status, TableResult, plain
from batchyard.check.sources import COUNT, FAIL, MAX, Agg, Source, TableInfo
from batchyard.check.suite import Suite
from batchyard.db import quote_identifier as qi
from batchyard.errors import RulesError, UsageError


def conditions(suite: Suite, where: str | None) -> list[str]:
    return [w for w in (suite.where, where) if w]


def plan_table(
    source: Source, suite: Suite, table: str, rules: Sequence[Any], where: Sequence[str]
) -> tuple[TableInfo, str, list[Compiled]]:
    """Check the table's rules against its columns and compile them; bad input raises here."""
    info = source.table(table, f"suite {suite.name!r}")
    cols = list(info.columns)
    clauses = [expr.sql_condition(w, cols, f"{table}: where", source.dialect) for w in where]
    where_sql = " AND ".join(clauses)
    key = list(info.primary_key) or (["rowid"] if info.rowid else [])
    compiled = []
    labels: dict[str, int] = {}
    for i, rule in enumerate(rules):
        label = rule.label()
        labels[label] = labels.get(label, 0) + 1
        what = f"{table} rule {i + 1} ({label})"
        if isinstance(rule, r.References):
            parent = source.table(rule.table, what)
            parent.column(rule.target_column, f"{what}: to")
        compiled.append(compile_rule(rule, info, source.dialect, where_sql, key, what))
    twice = [k for k, n in labels.items() if n > 1]
    if twice:
        raise RulesError(f"{table}: two rules are named {twice[0]!r}; give one a name")
    return info, where_sql, compiled


def check_plan(source: Source, suite: Suite, where: str | None) -> None:
    """Every table and rule of the suite fits the source (raises :class:`RulesError` if not)."""
    clauses = conditions(suite, where)
    for table, rules in suite.tables.items():
        plan_table(source, suite, table, rules, clauses)


def check_table(
    source: Source,
    suite: Suite,
    table: str,
    where: str | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> TableResult:
    started = time.perf_counter()
    rules = suite.tables[table]
    info, where_sql, compiled = plan_table(source, suite, table, rules, conditions(suite, where))
    aggs: list[Agg] = [(COUNT, None)]
    slots: dict[int, int] = {}
    for i, c in enumerate(compiled):
        if c.skip:
            continue
        if c.fail:
            slots[i] = len(aggs)
            aggs.append((FAIL, c.fail))
            if c.checked:
                aggs.append((COUNT, c.checked))
        if isinstance(c.rule, r.Freshness):
            slots[i] = len(aggs)
            aggs.append((MAX, qi(c.rule.column)))
    queries = [i for i, c in enumerate(compiled) if c.count_sql and not c.skip]

    def run_queries() -> dict[int, Any]:
        out: dict[int, Any] = {}
        for i in queries:
            try:
                out[i] = (
                    dense_unique(source, compiled[i])
                    or source.fetch(compiled[i].count_sql or "")[1]
                )
            except UsageError as exc:
                out[i] = exc
        return out

    with ThreadPoolExecutor(2, thread_name_prefix="batchyard-rules") as pool:
        scanned = pool.submit(source.aggregate, info, aggs, where_sql)
        grouped = pool.submit(run_queries) if queries else None
        found = grouped.result() if grouped else {}
        try:
            row = scanned.result()
        except UsageError:
            row = _one_by_one(source, info, aggs, where_sql, slots, found)
    rows = int(row[0] or 0)
    if progress:
        progress(rows)
    results = []
    for i, c in enumerate(compiled):
        res = _result(c, rows, row, slots.get(i), found.get(i))
        failed = res.status in (Status.FAIL, Status.WARN)
        if failed and c.rule.sample and c.sample_sql and not res.samples:
            try:
                names, sample = source.fetch(c.sample_sql)
                res.samples = [{n: plain(v) for n, v in zip(names, s, strict=True)} for s in sample]
            except UsageError as exc:
                res.message = f"samples: {exc}"
        results.append(res)
    return TableResult(table, suite.name, rows, results, time.perf_counter() - started)


def _one_by_one(
    source: Source,
    info: TableInfo,
    aggs: list[Agg],
    where: str,
    slots: dict[int, int],
    found: dict[int, Any],
) -> list[Any]:
    """The scan again, an aggregate at a time, so the rule whose SQL the engine refuses gets the
    error and the others their counts."""
    row: list[Any] = [source.aggregate(info, [aggs[0]], where)[0]] + [None] * (len(aggs) - 1)
    rule_of = {slot: i for i, slot in slots.items()}
    for k in range(1, len(aggs)):
        try:
            row[k] = source.aggregate(info, [aggs[k]], where)[0]
        except UsageError as exc:
            owner = rule_of.get(k, rule_of.get(k - 1))
            if owner is not None:
                found[owner] = exc
    return row


def dense_unique(source: Source, c: Compiled) -> list[tuple[Any, ...]] | None:
    """Surplus rows of a unique integer column from a bitmap of its range, when it is dense."""
    if "dense" not in c.extra:
        return None
    col, body = c.extra["dense"]
    lo, hi, n = source.fetch(f"SELECT min({col}), max({col}), count({col}) {body}")[1][0]
    if lo is None:
        return [(0,)]
    span = int(hi) - int(lo) + 1
    if span > max(8 * int(n), 1 << 20) or span > 1 << 28:
        return None
    sql = f"SELECT count({col}) - bit_count(bitstring_agg({col}, {int(lo)}, {int(hi)})) {body}"
    return source.fetch(sql)[1]


def _result(c: Compiled, rows: int, row: list[Any], slot: int | None, found: Any) -> RuleResult:
    rule = c.rule
    res = RuleResult(
        name=rule.label(),
        rule=rule.kind,
        severity=rule.severity.value,
        status=Status.PASS,
        column=getattr(rule, "column", None) or None,
        threshold=rule.threshold,
        checked=rows,
    )
    if c.skip:
        res.message = f"guaranteed: {c.skip}"
        return res
    if isinstance(found, Exception):
        res.status, res.message = Status.ERROR, str(found)
        return res
    if isinstance(rule, r.RowCount):
        res.observed, res.checked = rows, 1
        low = rule.min is not None and rows < rule.min
        res.failing = int(low or (rule.max is not None and rows > rule.max))
    elif isinstance(rule, r.Freshness):
        newest = row[slot] if slot is not None else None
        res.observed, res.checked = plain(newest), 1
        age = _age(newest)
        res.failing = int(age is None or age > rule.max_age_seconds)
        if age is not None:
            res.message = f"newest {plain(newest)}, {timedelta(seconds=int(age))} old"
    elif isinstance(rule, r.Coverage):
        res.failing, res.checked, missing = _coverage(rule, found or [])
        res.samples = [{"missing": m} for m in missing[: rule.sample]]
    elif slot is not None:
        res.failing = int(row[slot] or 0)
        if c.checked:
            res.checked = int(row[slot + 1] or 0)
    else:
        res.failing = int((found or [[0]])[0][0] or 0)
    if not rule.allows(res.failing, res.checked):
        res.status = Status.FAIL if rule.severity.value == "error" else Status.WARN
        res.fix = rule.suggested_fix()
    return res


def _age(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (datetime.now(UTC) - moment).total_seconds()


def _coverage(rule: r.Coverage, rows: list[tuple[Any, ...]]) -> tuple[int, int, list[str]]:
    days = set()
    for (value,) in rows:
        try:
            days.add(date.fromisoformat(str(value)[:10]))
        except ValueError:
            continue
    if not days and (rule.start is None or rule.end is None):
        return 0, 0, []
    start = rule.start or min(days)
    end = rule.end or max(days)
    step = 7 if rule.every == "week" else 1
    missing, periods = [], 0
    current = start
    while current <= end:
        periods += 1
        span = {current + timedelta(days=k) for k in range(step)}
        if not span & days:
            missing.append(current.isoformat())
        current += timedelta(days=step)
    return len(missing), periods, missing
