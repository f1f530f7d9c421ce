"""``batch``: run several pipelines as one job whose items are the pipelines.

Each pipeline runs as a child job (``parent_id`` is the batch), so its own items checkpoint as
usual; a resumed batch resumes each unfinished child rather than starting it again.

``depends_on`` is honoured: the plan puts each pipeline after those of the batch it depends on
(a cycle is refused, naming it), and a pipeline starts only once they are done. When one of them
failed or was skipped, the pipeline is skipped, with the reason on its item. An upstream pipeline
outside the batch is judged by its latest run: still running, the pipeline waits for it;
ended other than completed (or never run), the pipeline is skipped.
"""

from __future__ import annotations

import time
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context, StopFlag
from batchyard.engine.kinds import Item
from batchyard.errors import Interrupted, ItemError, ParamError, Skip
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import BatchParams
from batchyard.schedule import depends
from batchyard.store import JobFilter
from batchyard.store.models import ItemStatus, Job, JobStatus
from batchyard.store.schedules import ScheduleBook


def plan(params: BatchParams, settings: Settings) -> list[Item]:
    pipelines = list(params.pipelines)
    if not pipelines:
        raise ParamError("batch: give at least one pipeline")
    graph = depends.graph(settings.root, pipelines)
    wanted = set(pipelines)
    return [
        Item(
            name,
            {
                "pipeline": name,
                "after": [d for d in graph[name] if d in wanted],
                "upstream": [d for d in graph[name] if d not in wanted],
            },
        )
        for name in depends.order(pipelines, graph)
    ]


def _options(params: BatchParams) -> dict[str, Any]:
    return {"workers": params.parallel, "stop_on_error": params.stop_on_error}


def run_pipeline(value: Any, ctx: Context) -> dict[str, Any]:
    spec = value if isinstance(value, dict) else {"pipeline": value}
    name = str(spec["pipeline"])
    app = ctx.app
    child_id = (ctx.cursor or {}).get("job_id")
    if child_id is None:
        reason = _wait_for_upstreams(
            ctx, list(spec.get("after", ())), list(spec.get("upstream", ()))
        )
        if reason:
            ctx.log.warning("pipeline %s skipped: %s", name, reason)
            raise Skip(reason)
        # A runner that stopped between making the child and checkpointing it left the child
        # behind: take that one rather than making a second.
        made = _child(ctx, name) or app.submit(name, parent_id=ctx.job_id, env=ctx.env)
        child_id = made.id
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


def _wait_for_upstreams(ctx: Context, after: list[str], upstream: list[str]) -> str | None:
    """Wait until every upstream pipeline has ended; the reason to skip, or None to go on."""
    delay = 0.02
    while True:
        if ctx.stop_flag.is_set():
            raise Interrupted("the batch is stopping before its upstream pipelines ended")
        waiting = False
        if after:
            items = {i.key: i for i in ctx.store.list_items(ctx.job_id, limit=None)[0]}
            for dep in after:
                item = items.get(dep)
                if item is None or item.status is ItemStatus.DONE:
                    continue
                if item.status in (ItemStatus.PENDING, ItemStatus.RUNNING):
                    waiting = True
                    continue
                why = item.error or ((item.result or {}).get("skipped") if item.result else None)
                return f"upstream pipeline {dep} {item.status.value}" + (f": {why}" if why else "")
        for dep in upstream:
            job = _latest_run(ctx, dep)
            if job is None:
                return (
                    f"upstream pipeline {dep} has not run yet; run them together with "
                    f"`batchyard run --batch {dep} ...`"
                )
            if job.status in (JobStatus.PENDING, JobStatus.RUNNING):
                waiting = True
            elif job.status is not JobStatus.COMPLETED:
                return f"upstream pipeline {dep}: its latest run, job {job.id}, {job.status.value}"
        if not waiting:
            return None
        time.sleep(delay)
        delay = min(delay * 1.5, 0.2)


def _child(ctx: Context, pipeline: str) -> Job | None:
    children, _ = ctx.store.list_jobs(JobFilter(parent_id=ctx.job_id), limit=1000)
    return next((j for j in children if j.metadata.get("pipeline") == pipeline), None)


def _latest_run(ctx: Context, pipeline: str) -> Job | None:
    for job in ScheduleBook(ctx.store).latest_jobs_named(pipeline):
        if job.metadata.get("pipeline") == pipeline and job.id != ctx.job_id:
            return job
    return None


kind = BUILTIN["batch"].implement(plan, options_from_params=_options)
kind.item(run_pipeline)
