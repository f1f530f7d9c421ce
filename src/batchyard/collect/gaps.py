"""Gaps: the planned items (dates, keys) with no rows in the target table."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from batchyard.db import ENGINES, reason
from batchyard.errors import ParamError


def present(url: str, table: str) -> set[str]:
    """The item keys that have at least one row in ``table`` (none if it does not exist)."""
    engine = ENGINES.get(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(table):
                return set()
            columns = {c["name"] for c in sa.inspect(conn).get_columns(table)}
            if "_item_key" not in columns:
                raise ParamError(
                    f"table {table!r} has no _item_key column, so which items it holds is "
                    "unknown; collect into a table of its own"
                )
            quote = engine.dialect.identifier_preparer.quote
            rows = conn.exec_driver_sql(f"SELECT DISTINCT _item_key FROM {quote(table)}").all()
    except sa.exc.SQLAlchemyError as exc:
        raise ParamError(f"cannot read table {table!r}: {reason(exc)}") from exc
    return {str(r[0]) for r in rows if r[0] is not None}


def missing(keys: Iterable[str], url: str, table: str) -> list[str]:
    """``keys`` without rows in ``table``, in their planned order."""
    have = present(url, table)
    return [k for k in keys if k not in have]
