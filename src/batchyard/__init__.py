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

from importlib import import_module

# Not `typing.TYPE_CHECKING`: importing typing (and re, which it pulls in) would take longer than
# everything else before the command's Ctrl+C handling is in place. Type checkers know this name.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from batchyard.app import Batchyard
    from batchyard.check.suite import Suite
    from batchyard.collect import http_client
    from batchyard.config import Settings, load_settings
    from batchyard.engine.context import Context
    from batchyard.engine.kinds import Item, JobKind, dates, job
    from batchyard.engine.params import Params
    from batchyard.engine.progress import Snapshot
    from batchyard.engine.retry import Retry
    from batchyard.errors import BatchyardError, Skip
    from batchyard.store import JobFilter, Store
    from batchyard.store.models import ItemStatus, Job, JobStatus

__version__ = "0.1.0"

# Each public name is imported on first use: `import batchyard` stays cheap, and the command
# installs its Ctrl+C handling before the heavy imports (sqlalchemy, pydantic) begin.
_HOMES = {
    "Batchyard": "batchyard.app",
    "Suite": "batchyard.check.suite",
    "http_client": "batchyard.collect",
    "Settings": "batchyard.config",
    "load_settings": "batchyard.config",
    "Context": "batchyard.engine.context",
    "Skip": "batchyard.errors",
    "Item": "batchyard.engine.kinds",
    "JobKind": "batchyard.engine.kinds",
    "dates": "batchyard.engine.kinds",
    "job": "batchyard.engine.kinds",
    "Params": "batchyard.engine.params",
    "ItemStatus": "batchyard.store.models",
    "Job": "batchyard.store.models",
    "JobStatus": "batchyard.store.models",
    "Snapshot": "batchyard.engine.progress",
    "Retry": "batchyard.engine.retry",
    "BatchyardError": "batchyard.errors",
    "JobFilter": "batchyard.store",
    "Store": "batchyard.store",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'batchyard' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


def run(target: str, params: Mapping[str, Any] | None = None, **options: Any) -> Job:
    """Run a job kind or pipeline of the project in the working folder to its end."""
    from batchyard.app import Batchyard  # (on first use, as the names above)

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
    "Params",
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
