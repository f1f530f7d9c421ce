"""The scheduler: pipelines (and later any job kind with params) run on cron schedules.

- ``cron.py``: cron expressions in a time zone (croniter);
- ``spec.py``: a schedule (its target, cron and missed-run policy), read from pipelines;
- ``depends.py``: ``depends_on``: the order pipelines run in, and cycles refused;
- ``scheduler.py``: the loop: one active scheduler (a lease in the store), runs recorded before
  they start, so none is lost or doubled across restarts and crashes.
"""

from batchyard.schedule.cron import Cron
from batchyard.schedule.spec import Missed, Schedule, Target

__all__ = ["Cron", "Missed", "Schedule", "Target"]
