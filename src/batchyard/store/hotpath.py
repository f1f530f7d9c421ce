"""The runner's hot path: commit outcomes and claim the next items in one transaction.

This runs once per loop of the runner, thousands of times a second, so its SQL is written out
once per dialect and sent straight to the driver rather than built as SQLAlchemy expressions.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from batchyard.store.joblist import timestamp

SELECT_PENDING = (
    "SELECT key, position, value, attempts, cursor, weight FROM by_items "
    "WHERE job_id = :j AND status = 'pending' AND position > :after "
    "ORDER BY position LIMIT :n"
)
SELECT_KEY = (
    "SELECT key, position, value, attempts, cursor, weight FROM by_items "
    "WHERE job_id = :j AND key = :k AND status = 'pending'"
)
MARK_RUNNING = (
    "UPDATE by_items SET status = 'running', started_at = :now, attempts = attempts + 1 "
    "WHERE job_id = :j AND key = :k"
)
RECORD_OUTCOME = (
    "UPDATE by_items SET status = :s, result = :r, error = :e, traceback = :tb, "
    "finished_at = :f, duration_s = :d, rows_read = rows_read + :rr, "
    "rows_written = rows_written + :rw, attempts = attempts - :dec, worker = :w "
    "WHERE job_id = :j AND key = :k"
)
COUNT_OUTCOMES = (
    "UPDATE by_jobs SET done = done + :done, failed = failed + :failed, "
    "skipped = skipped + :skipped, cancelled = cancelled + :cancelled, "
    "rows_read = rows_read + :rr, rows_written = rows_written + :rw WHERE id = :j"
)

# An attempt may write only while it is the item's current one. PostgreSQL: FOR SHARE holds the
# row until the writing transaction ends, so the runner cannot record the item's end meanwhile.
CURRENT_ATTEMPT = (
    "SELECT 1 FROM by_items WHERE job_id = :j AND key = :k AND attempts = :a AND status = 'running'"
)
SET_CURSOR = (
    "UPDATE by_items SET cursor = :c WHERE job_id = :j AND key = :k AND attempts = :a "
    "AND status = 'running'"
)

# The same, only while the job's lease is the runner's own: a runner that lost its job to
# another (its lease ran out while it stalled) records nothing more, and learns it here.
COUNT_OUTCOMES_HELD = COUNT_OUTCOMES + " AND lease_owner = :o"

_NAMED = re.compile(r":([a-z_0-9]+)\b")


def driver_sql(sql: str, *, sqlite: bool) -> str:
    """``sql`` with ``:name`` parameters in the driver's own style: sqlite3 takes them as they
    are; psycopg wants ``%(name)s``."""
    return sql if sqlite else _NAMED.sub(r"%(\1)s", sql)


class HotSQL:
    """The hot statements in the driver's own parameter style."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

        def convert(sql: str) -> str:
            return driver_sql(sql, sqlite=self.sqlite)

        self.select_pending = convert(SELECT_PENDING)
        self.select_key = convert(SELECT_KEY)
        self.mark_running = convert(MARK_RUNNING)
        self.record_outcome = convert(RECORD_OUTCOME)
        self.count_outcomes = convert(COUNT_OUTCOMES)
        self.count_outcomes_held = convert(COUNT_OUTCOMES_HELD)
        self.current_attempt = convert(CURRENT_ATTEMPT + ("" if self.sqlite else " FOR SHARE"))
        self.set_cursor = convert(SET_CURSOR)

    def ts(self, value: datetime | None) -> Any:
        """A timestamp as the column stores it (SQLite: the text SQLAlchemy writes)."""
        return None if value is None else timestamp(value, sqlite=self.sqlite)
