"""``summary``: what each table of a database holds, one item per table (see profile/summary.py).

A table's summary is its item's result, so a resumed summary redoes only the tables not yet done.
"""

from __future__ import annotations

from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ParamError
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import SummaryParams
from batchyard.move.migrate import connect
from batchyard.move.reflect import Table, reflect
from batchyard.profile import EXACT_BELOW, SAMPLE_ROWS, TOP
from batchyard.profile import summary as sm
from batchyard.profile.catalog import open_database


def tables_of(url: str, tables: list[str]) -> list[Table]:
    engine, _ = open_database(url)
    try:
        return reflect(engine, tables=tables)
    finally:
        engine.dispose()


def plan(params: SummaryParams, settings: Settings) -> list[Item]:
    if params.sample_rows < 1 or params.top < 0 or params.exact_below < 0:
        raise ParamError("sample_rows must be at least 1, top and exact_below at least 0")
    found = tables_of(settings.resolve(params.target), params.tables)
    return [Item(t.name, {"table": t.name}, weight=max(t.rows, 1)) for t in found]


def summarise(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    p = ctx.params
    url = ctx.settings.resolve(p["target"])
    engine = connect(url, "source")
    try:
        (table,) = reflect(engine, tables=[value["table"]])
        with engine.connect() as conn:
            result = sm.summarise_table(
                conn,
                table,
                exact_below=int(p.get("exact_below", EXACT_BELOW)),
                sample_rows=int(p.get("sample_rows") or SAMPLE_ROWS),
                top=int(p.get("top", TOP)),
            )
    finally:
        engine.dispose()
    ctx.add_rows(read=result["rows"])
    return result


kind = BUILTIN["summary"].implement(plan)
kind.item(summarise)
