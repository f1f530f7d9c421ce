"""Reading jobs, their items, log and progress: the read side of ``Batchyard``.

It reads through any store that has the Store's read methods (``store.reads.Reads``): the
Store itself, or the quick read-only reader the CLI's looking commands use, so those commands
show what the Python API and the REST API show.
"""

from __future__ import annotations

from collections.abc import Sequence

from batchyard.engine.progress import Snapshot
from batchyard.store.joblist import JobFilter
from batchyard.store.models import Event, Item, Job
from batchyard.store.reads import Reads


class JobView:
    """Jobs (found by id or a unique prefix), pages of jobs and items, log lines, progress."""

    def __init__(self, store: Reads) -> None:
        self.store = store

    def job(self, job_id: str) -> Job:
        return self.store.find_job(job_id)

    def jobs(
        self,
        filt: JobFilter = JobFilter(),
        *,
        limit: int = 50,
        offset: int = 0,
        order: str = "-created_at",
    ) -> tuple[list[Job], int]:
        return self.store.list_jobs(filt, limit=limit, offset=offset, order=order)

    def items(
        self, job_id: str, *, status: Sequence[str] = (), limit: int | None = 100, offset: int = 0
    ) -> tuple[list[Item], int]:
        job = self.store.find_job(job_id)
        return self.store.list_items(job.id, status=status, limit=limit, offset=offset)

    def log(self, job_id: str, *, after: int = 0, limit: int = 1000) -> list[Event]:
        return self.store.events(self.store.find_job(job_id).id, after=after, limit=limit)

    def progress(self, job_id: str) -> Snapshot:
        return Snapshot.from_job(self.store.find_job(job_id))
