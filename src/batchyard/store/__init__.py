"""The store: jobs, items and events, in SQLite or PostgreSQL.

``Store`` (SQLAlchemy) is imported on first use, so the CLI's quick reads (``store/reader.py``)
and the records (``store/models.py``) load without it.
"""

from __future__ import annotations

from importlib import import_module

from batchyard.store.joblist import JobFilter

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from batchyard.store.store import Claimed, Outcome, Store

_IN_STORE = frozenset({"Claimed", "Outcome", "Store"})


def __getattr__(name: str) -> Any:
    if name not in _IN_STORE:
        raise AttributeError(f"module 'batchyard.store' has no attribute {name!r}")
    value = getattr(import_module("batchyard.store.store"), name)
    globals()[name] = value
    return value


__all__ = ["Claimed", "JobFilter", "Outcome", "Store"]
