"""``validate``: run a rules suite on a database or files. Items are tables, run in parallel.

Each item's result is the table's :class:`~batchyard.check.results.TableResult` as a dict; the job's
metadata names the suite, so later runs can show the trend. Rules that fail do not fail the job:
it completes, and its metadata's ``result`` says whether every rule at or above ``fail_on``
passed (``passed``), how many did not (``failed``) and which (``failing``, the first ten).
"""

from __future__ import annotations

from typing import Any

from batchyard.check.engine import check_plan, check_table
from batchyard.check.results import TableResult, failed_at
from batchyard.check.run import find_rules
from batchyard.check.sources import open_source
from batchyard.check.suite import Suite, rule_to_dict
from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ParamError
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import ValidateParams

FAIL_ON = ("error", "warning")

#: How many failing rules a job's recorded result names.
SHOWN = 10


def load(rules: str, tables: list[str], settings: Settings) -> Suite:
    suite = Suite.load(find_rules(settings.root, rules))
    return suite.only(tables) if tables else suite


def plan(params: ValidateParams, settings: Settings) -> list[Item]:
    if params.fail_on not in FAIL_ON:
        raise ParamError(f"fail_on={params.fail_on!r}: use error or warning")
    suite = load(params.rules, params.tables, settings)
    source = open_source(params.target, settings)
    try:
        check_plan(source, suite, params.where)
    finally:
        source.close()
    return [
        Item(
            name,
            {
                "table": name,
                "suite": suite.name,
                "where": suite.where,
                "rules": [rule_to_dict(x) for x in table_rules],
            },
        )
        for name, table_rules in suite.tables.items()
    ]


def check(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    p = ctx.params
    suite = Suite.model_validate(
        {
            "suite": value["suite"],
            "where": value.get("where"),
            "tables": {value["table"]: value["rules"]},
        }
    )
    source = open_source(p["target"], ctx.settings)
    try:
        result = check_table(
            source, suite, value["table"], p.get("where"), progress=lambda n: ctx.add_rows(read=n)
        )
    finally:
        source.close()
    failing = [x for x in result.rules if not x.passed]
    if failing:
        ctx.log.info(
            "%s: score %.1f; %d rule(s) not passing: %s",
            result.table,
            result.score,
            len(failing),
            ", ".join(x.name for x in failing[:5]),
        )
    return result.to_dict()


def finish(ctx: Context) -> None:
    """Record the run's verdict in the job's metadata (``result``). Failing rules are the data's
    failure, not the job's: the job completes, and its result says whether the data passed."""
    fail_on = str(ctx.params.get("fail_on") or "error")
    items, _ = ctx.store.list_items(ctx.job_id, limit=None)
    bad = []
    for item in items:
        if isinstance(item.result, dict):
            table = TableResult.from_dict(item.result)
            bad += [f"{table.table}.{x.name}" for x in failed_at(table.rules, fail_on)]
    result = {"passed": not bad, "fail_on": fail_on, "failed": len(bad), "failing": bad[:SHOWN]}
    job = ctx.store.get_job(ctx.job_id)
    ctx.store.update_job(ctx.job_id, metadata={**job.metadata, "result": result})
    if bad:
        # Into the job's log only: the command that ran the job reports the verdict itself.
        ctx.store.log(ctx.job_id, failing_message(result), level="warning")
    else:
        ctx.log.info("all rules of %d table(s) pass at %s", len(items), fail_on)


def failing_message(result: dict[str, Any]) -> str:
    """``N rule(s) failed at LEVEL: a, b, ... and M more`` for a validate job's ``result``."""
    names = list(result.get("failing") or [])
    count = int(result.get("failed") or 0)
    more = f" and {count - len(names)} more" if count > len(names) else ""
    return f"{count} rule(s) failed at {result.get('fail_on')}: {', '.join(names)}{more}"


kind = BUILTIN["validate"].implement(plan)
kind.item(check)
kind.finish(finish)
