"""The store: jobs, items and events, in SQLite or PostgreSQL."""

from batchyard.store.store import Claimed, JobFilter, Outcome, Store

__all__ = ["Claimed", "JobFilter", "Outcome", "Store"]
