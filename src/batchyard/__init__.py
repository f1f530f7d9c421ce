"""batchyard: resumable batch data jobs with item-level checkpoints.

import batchyard as by

@by.job("daily-scores", retries=3)
def daily_scores(start: date, end: date):
    return by.dates(start, end)

@daily_scores.item
def collect(day: date, ctx: by.Context) -> None:
    ctx.write("scores", fetch(day), key=["day", "team"])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from batchyard.app import Batchyard
from batchyard.check.suite import Suite
from batchyard.collect import http_client
from batchyard.config import Settings, load_settings
from batchyard.engine.context import Context, Skip
from batchyard.engine.kinds import Item, JobKind, dates, job
from batchyard.engine.models import ItemStatus, Job, JobStatus
from batchyard.engine.progress import Snapshot
from batchyard.engine.retry import Retry
from batchyard.errors import BatchyardError
from batchyard.store import JobFilter, Store

__version__ = "0.1.0"


def run(target: str, params: Mapping[str, Any] | None = None, **options: Any) -> Job:
    """Run a job kind or pipeline of the project in the working folder to its end."""
    with Batchyard() as app:
        return app.run(target, params, **options)


__all__ = [
    "Batchyard",
    "BatchyardError",
    "Context",
    "Item",
    "ItemStatus",
    "Job",
    "JobFilter",
    "JobKind",
    "JobStatus",
    "Retry",
    "Settings",
    "Skip",
    "Snapshot",
    "Store",
    "Suite",
    "__version__",
    "dates",
    "http_client",
    "job",
    "load_settings",
    "run",
]
