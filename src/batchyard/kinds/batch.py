"""``batch``: run several pipelines as one job whose items are the pipelines.

Each pipeline runs as a child job (``parent_id`` is the batch), so its own items checkpoint as
usual; a resumed batch resumes each unfinished child rather than starting it again.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from batchyard.engine.context import Context, StopFlag
from batchyard.engine.kinds import REGISTRY, JobKind
from batchyard.engine.params import Params
from batchyard.errors import Interrupted, ItemError, ParamError
from batchyard.store.models import JobStatus


class BatchParams(Params):
    """Which pipelines, how many at once, and whether the first failure stops the rest."""

    pipelines: list[str]
    parallel: Annotated[int, Field(ge=1, le=64)] = 1
    stop_on_error: bool = False


def plan(params: BatchParams) -> list[str]:
    """Run pipelines from pipelines/*.yaml, `parallel` at a time."""
    if not params.pipelines:
        raise ParamError("batch: give at least one pipeline")
    return list(params.pipelines)


def _options(params: BatchParams) -> dict[str, Any]:
    return {"workers": params.parallel, "stop_on_error": params.stop_on_error}


def run_pipeline(name: str, ctx: Context) -> dict[str, Any]:
    app = ctx.app
    child_id = (ctx.cursor or {}).get("job_id")
    if child_id is None:
        child = app.submit(name, parent_id=ctx.job_id, env=ctx.env)
        child_id = child.id
        ctx.checkpoint({"job_id": child_id})
    child = app.store.get_job(child_id)
    if not child.status.finished:
        ctx.log.info("pipeline %s runs as job %s", name, child_id)
        child = app.execute(child_id, install_signals=False, stop=StopFlag(parent=ctx.stop_flag))
    if child.status is JobStatus.PAUSED:
        raise Interrupted(f"pipeline {name}: job {child.id} paused")
    if child.status is not JobStatus.COMPLETED:
        detail = f": {child.error}" if child.error else ""
        raise ItemError(f"pipeline {name}: job {child.id} ended {child.status.value}{detail}")
    return {
        "job_id": child.id,
        "status": child.status.value,
        "done": child.done,
        "rows_written": child.rows_written,
    }


kind = REGISTRY.add(
    JobKind("batch", plan, builtin=True, executor="threads", options_from_params=_options)
)
kind.item(run_pipeline)
