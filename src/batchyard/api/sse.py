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
from batchyard.store.models import Event, Job

#: A comment line this often keeps proxies from closing a quiet stream.
KEEPALIVE_S = 15.0


def frame(event: str, data: Any, event_id: int | None = None) -> str:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return "\n".join(lines) + "\n\n"


async def stream_job(
    service: Service, job_id: str, after: int, request: Request
) -> AsyncIterator[str]:
    """Events for ``job_id`` until it has finished and its last log line is sent."""
    reader = service.reader
    last_status: str | None = None
    last_progress: Any = None
    quiet = 0.0
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
        quiet = 0.0 if sent else quiet + service.options.poll_interval
        if quiet >= KEEPALIVE_S:
            quiet = 0.0
            yield ": keep-alive\n\n"
        if await request.is_disconnected():
            return
        await anyio.sleep(service.options.poll_interval)
