"""The items of a collect job: dates of a range, keys (inline, from a file or a query), and a
grid of params (season x team), alone or crossed. Each item's value is its template variables."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from batchyard.config import Settings
from batchyard.db import Database, reason
from batchyard.engine.kinds import Item, dates
from batchyard.errors import ParamError, UsageError

DATE_VARS = ("date", "year", "month", "day")


def variables(*, has_dates: bool, has_keys: bool, grid: Mapping[str, Sequence[Any]]) -> set[str]:
    """The template variables items of this shape provide (``item`` is the item key)."""
    found = {"item"}
    if has_dates:
        found.update(DATE_VARS)
    if has_keys:
        found.add("key")
    found.update(grid)
    return found


def read_keys_file(path: str) -> list[str]:
    """One key a line; blank lines and lines starting with # are left out."""
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ParamError(f"keys_file {path}: cannot read: {exc}") from exc
    keys = [line.strip() for line in text.splitlines()]
    found = [k for k in keys if k and not k.startswith("#")]
    if not found:
        raise ParamError(f"keys_file {path}: holds no keys (one key a line; # starts a comment)")
    return found


def query_keys(settings: Settings, query: str, connection: str | None) -> list[str]:
    """The first column of every row of ``query`` on a connection (the default one if None),
    read in a read-only transaction: a keys query can read the database, never change it."""
    url = settings.resolve(connection) if connection else settings.connection_url(None)
    try:
        database = Database.of(url)
    except UsageError as exc:
        raise ParamError(str(exc)) from exc
    engine = database.engine(readonly=True, pool_size=1, error=ParamError)
    try:
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(query).all()
    except sa.exc.SQLAlchemyError as exc:
        raise ParamError(f"keys_query {query!r}: {reason(exc)}") from exc
    finally:
        engine.dispose()
    return [str(r[0]) for r in rows if r and r[0] is not None]


def plan(
    *,
    start: date | None,
    end: date | None,
    every: str,
    keys: Sequence[str],
    grid: Mapping[str, Sequence[Any]],
) -> list[Item]:
    """One item per date (or key), crossed with every combination of the grid."""
    if (start is None) != (end is None):
        raise ParamError("give both start and end for a date range (or neither)")
    if start is not None and keys:
        raise ParamError("give a date range or keys, not both (a grid may go with either)")
    for name, values in grid.items():
        if not name.isidentifier():
            raise ParamError(f"grid {name!r}: a grid name must be a plain name such as season")
        if name in ("item", "key", *DATE_VARS):
            raise ParamError(f"grid {name!r}: that name is taken; call it something else")
        if not values:
            raise ParamError(f"grid {name!r} has no values")
    base: list[tuple[str, dict[str, Any]]] = []
    if start is not None and end is not None:
        base = [(d.isoformat(), {"date": d.isoformat()}) for d in dates(start, end, every)]
    elif keys:
        seen: set[str] = set()
        for k in keys:
            if k in seen:
                raise ParamError(f"key {k!r} is listed twice")
            seen.add(k)
            base.append((k, {"key": k}))
    combos = [dict(zip(grid, values, strict=True)) for values in itertools.product(*grid.values())]
    if not base and not grid:
        raise ParamError(
            "say what to collect: --start/--end, keys, a keys file or query, or a grid"
        )
    if not base:
        base = [("", {})]
    if not combos:
        combos = [{}]
    items: list[Item] = []
    for key, value in base:
        for combo in combos:
            parts = [key] if key else []
            parts += [f"{n}={v}" for n, v in combo.items()]
            items.append(Item("/".join(parts), {**value, **combo}))
    return items


def item_variables(key: str, value: Mapping[str, Any]) -> dict[str, Any]:
    """The template variables of one item: a date becomes a date (so ``{date:%Y%m%d}`` works)."""
    out: dict[str, Any] = {"item": key, **value}
    if "date" in value:
        day = date.fromisoformat(str(value["date"]))
        out.update(date=day, year=day.year, month=day.month, day=day.day)
    return out
