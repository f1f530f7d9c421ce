"""Which path copies a chunk: one per pair of databases (:mod:`batchyard.move.copy` describes
them; SQLite → PostgreSQL is :mod:`batchyard.move.loader`)."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from batchyard.move.copy import (
    Chunk,
    Plan,
    postgres_to_postgres,
    postgres_to_sqlite,
    sqlite_to_sqlite,
)
from batchyard.move.loader import load as sqlite_to_postgres

Copier = Callable[[str, str, Plan, Chunk, Callable[[int], None]], int]

COPIERS: dict[tuple[str, str], Copier] = {
    ("sqlite", "sqlite"): sqlite_to_sqlite,
    ("sqlite", "postgresql"): sqlite_to_postgres,
    ("postgresql", "postgresql"): postgres_to_postgres,
    ("postgresql", "sqlite"): postgres_to_sqlite,
}


def copy_chunk(
    src_url: str,
    dst_url: str,
    plan: Plan,
    chunk: Chunk,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Copy ``chunk`` exactly once; return the rows this call committed."""
    pair = (sa.make_url(src_url).get_backend_name(), sa.make_url(dst_url).get_backend_name())
    return COPIERS[pair](src_url, dst_url, plan, chunk, progress)
