"""``inspect``: the schema catalogue of one or many databases, one item per source.

Each item's result is its source's catalogue (see profile/catalog.py); with ``output``, the job's
finish writes every catalogue into that file as JSON (``{"catalogues": [...]}``) or Markdown.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ParamError
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import InspectParams
from batchyard.profile.catalog import catalogue, open_database, to_markdown
from batchyard.secrets import mask_url

FORMATS = ("json", "md")


def format_for(fmt: str | None, output: str | None) -> str:
    """The format asked for, else the one the output's suffix says, else JSON."""
    chosen = (fmt or "").lower() or (
        "md" if output and Path(output).suffix.lower() in (".md", ".markdown") else "json"
    )
    if chosen not in FORMATS:
        raise ParamError(f"format={fmt!r}: use json or md")
    return chosen


def item_keys(sources: list[str]) -> list[str]:
    """A key per source: the source as shown (password masked), numbered if shown twice."""
    keys: list[str] = []
    for source in sources:
        key = mask_url(source)
        if key in keys:
            key = f"{key} #{len(keys) + 1}"
        keys.append(key)
    return keys


def check_tables(url: str, tables: list[str]) -> None:
    """The source opens, and holds every table named."""
    engine, found = open_database(url)
    engine.dispose()
    names = set(found)
    missing = [t for t in tables if t not in names]
    if missing:
        raise ParamError(
            f"table {missing[0]!r} does not exist in {mask_url(url)} (it has: "
            f"{', '.join(sorted(names)) or 'no tables'})"
        )


def plan(params: InspectParams, settings: Settings) -> list[Item]:
    if not params.sources:
        raise ParamError("sources: name at least one database to inspect")
    format_for(params.format, params.output)
    for source in params.sources:
        check_tables(settings.resolve(source), params.tables)
    return [Item(key, {"index": n}) for n, key in enumerate(item_keys(params.sources))]


def read(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    p = ctx.params
    source = p["sources"][int(value["index"])]
    found = catalogue(ctx.settings.resolve(source), list(p.get("tables") or []))
    found["name"] = mask_url(source)
    ctx.add_rows(read=len(found["tables"]))
    return found


def render(catalogues: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "md":
        return to_markdown(catalogues)
    return json.dumps({"catalogues": catalogues}, indent=2, ensure_ascii=False, default=str) + "\n"


def finish(ctx: Context) -> None:
    p = ctx.params
    if not p.get("output"):
        return
    items, _ = ctx.store.list_items(ctx.job_id, limit=None)
    order = {k: n for n, k in enumerate(item_keys(list(p["sources"])))}
    found = sorted(
        (i for i in items if isinstance(i.result, dict)), key=lambda i: order.get(i.key, 0)
    )
    path = Path(p["output"]).expanduser().absolute()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(render([i.result for i in found], format_for(p.get("format"), p["output"])))
    os.replace(tmp, path)
    ctx.log.info("wrote the catalogue of %d source(s) to %s", len(found), path)


kind = BUILTIN["inspect"].implement(plan)
kind.item(read)
kind.finish(finish)
