"""``/api/events``: every unfinished job's progress as server-sent events, for a live job list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from batchyard.api.problems import RESPONSES
from batchyard.api.service import Service, service_of
from batchyard.api.sse import stream_active

router = APIRouter(prefix="/api", tags=["jobs"], responses=RESPONSES)


@router.get(
    "/events",
    operation_id="streamAllEvents",
    summary="Live progress of every unfinished job (server-sent events)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def get_events(
    request: Request, service: Annotated[Service, Depends(service_of)]
) -> StreamingResponse:
    """Event `active`: `{jobs}`, the unfinished jobs (pending, running, paused; the newest 200),
    each as `GET /api/jobs/{id}` with its progress under `live`; sent on connecting and whenever
    any of them changes. Event `finished`: a job that left that set, as it ended (or
    `{id, status: "deleted"}`). The stream runs until the client leaves."""
    return StreamingResponse(
        stream_active(service, request),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
