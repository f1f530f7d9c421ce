"""Server-sent events for one job: ``status``, ``progress`` and ``log``, read from the store.

Runners in this server and in other processes (a ``batchyard run`` in a terminal) record progress
in the same store, so one poll of the store every ``poll_interval`` serves every job alike.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import Request

from batchyard.api.models import EventOut, JobOut, ProgressOut
from batchyard.api.service import Service
from batchyard.errors import NotFound
from batchyard.store import JobFilter
from batchyard.store.models import Event, Job

#: A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0


def frame(event: str, data: Any, event_id: int | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


class _Pace:
    """A stream's polls: the interval between them, and a keep-alive comment after
    ``KEEPALIVE_S`` without a frame."""

    def __init__(self, service: Service, request: Request) -> None:
        self.interval = service.options.poll_interval
        self.request = request
        self.quiet = 0.0

    def keepalive(self, sent: bool) -> str | None:
        """The comment to send after a poll that sent nothing for long enough, else None."""
        self.quiet = 0.0 if sent else self.quiet + self.interval
        if self.quiet < KEEPALIVE_S:
            return None
        self.quiet = 0.0
        return ": keep-alive\n\n"

    async def wait(self) -> bool:
        """Sleep until the next poll; False (at once) when the client has gone."""
        if await self.request.is_disconnected():
            return False
        await anyio.sleep(self.interval)
        return True


async def stream_job(
    service: Service, job_id: str, after: int, request: Request
) -> AsyncIterator[str]:
    """Events for ``job_id`` until it has finished and its last log line is sent."""
    reader = service.reader
    last_status: str | None = None
    last_progress: Any = None
    pace = _Pace(service, request)
    yield "retry: 1000\n\n"

    def look(cursor: int) -> tuple[Job, list[Event]]:
        return reader.read_store().get_job(job_id), reader.log(job_id, after=cursor, limit=500)

    while True:
        try:
            job, events = await anyio.to_thread.run_sync(look, after)
        except NotFound:
            yield frame("status", {"job_id": job_id, "status": "deleted"})
            return
        sent = False
        if job.status.value != last_status:
            last_status = job.status.value
            yield frame("status", JobOut.of(job).model_dump(mode="json"))
            sent = True
        progress = ProgressOut.of(job).model_dump(mode="json")
        key = {k: v for k, v in progress.items() if k != "recorded_at"}
        if key != last_progress:
            last_progress = key
            yield frame("progress", progress)
            sent = True
        for event in events:
            yield frame("log", EventOut.of(event).model_dump(mode="json"), event.id)
            after = event.id
            sent = True
        if job.status.finished and len(events) < 500:
            yield frame("end", {"job_id": job.id, "status": job.status.value})
            return
        if beat := pace.keepalive(sent):
            yield beat
        if not await pace.wait():
            return


#: The unfinished jobs one ``/api/events`` stream follows at most (the newest).
ACTIVE_LIMIT = 200
ACTIVE = ("pending", "running", "paused")


async def stream_active(service: Service, request: Request) -> AsyncIterator[str]:
    """The unfinished jobs with their progress (``active``) whenever any of them changes, and each
    job that leaves that set once (``finished``: the job as it ended, or ``deleted``)."""
    reader = service.reader
    last: Any = None
    known: set[str] = set()
    pace = _Pace(service, request)
    yield "retry: 1000\n\n"

    def look() -> list[Job]:
        jobs, _ = reader.jobs(JobFilter(status=ACTIVE), limit=ACTIVE_LIMIT)
        return jobs

    def ended(job_id: str) -> dict[str, Any]:
        try:
            return JobOut.of(reader.read_store().get_job(job_id)).model_dump(mode="json")
        except NotFound:
            return {"id": job_id, "status": "deleted"}

    while True:
        jobs = await anyio.to_thread.run_sync(look)
        sent = False
        for job_id in sorted(known - {j.id for j in jobs}):
            yield frame("finished", await anyio.to_thread.run_sync(ended, job_id))
            sent = True
        known = {j.id for j in jobs}
        live = []
        for job in jobs:
            data = JobOut.of(job).model_dump(mode="json")
            data["live"] = ProgressOut.of(job).model_dump(mode="json")
            live.append(data)
        key = [
            {k: v for k, v in j.items() if k not in ("updated_at", "heartbeat_at", "live")}
            | {"live": {k: v for k, v in j["live"].items() if k != "recorded_at"}}
            for j in live
        ]
        if key != last:
            last = key
            yield frame("active", {"jobs": live})
            sent = True
        if beat := pace.keepalive(sent):
            yield beat
        if not await pace.wait():
            return
