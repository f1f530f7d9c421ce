"""``depends_on`` in a batch: a pipeline starts only after its upstreams succeeded, is skipped
(with the reason, shown by ``jobs show``) when one failed, and cycles are refused naming them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import batchyard as by
from batchyard.store.models import ItemStatus, JobStatus
from conftest import cli

sys.path.insert(0, str(Path(__file__).parent))
from schedhelp import invoke, log_lines, pipeline, write_jobs


def test_a_diamond_runs_in_order(project: Path, app: by.Batchyard, tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    write_jobs(project)
    params = {"log": str(log), "sleep": 0.5}
    pipeline(project, "a", params=params)
    pipeline(project, "b", params=params, depends_on=["a"])
    pipeline(project, "c", params=params, depends_on=["a"])
    pipeline(project, "d", params=params, depends_on=["b", "c"])
    # Given downstream first, on two workers: the plan orders them, the wait keeps the order.
    job = app.run("batch", {"pipelines": ["d", "c", "b", "a"], "parallel": 2})
    assert job.status is JobStatus.COMPLETED, job.error
    items, _ = app.items(job.id)
    assert [i.key for i in items] == ["a", "b", "c", "d"]
    at = {(event, name): t for event, name, _, t in log_lines(log)}
    assert at[("end", "a")] <= at[("start", "b")]
    assert at[("end", "a")] <= at[("start", "c")]
    assert max(at[("end", "b")], at[("end", "c")]) <= at[("start", "d")]
    # b and c had nothing between them: they ran side by side on the two workers.
    assert at[("start", "b")] < at[("end", "c")] and at[("start", "c")] < at[("end", "b")]


def test_a_failing_upstream_skips_its_downstream(
    project: Path, app: by.Batchyard, tmp_path: Path
) -> None:
    write_jobs(project)
    log = tmp_path / "log.txt"
    pipeline(project, "up", params={"fail": True, "log": str(log)})
    pipeline(project, "down", params={"log": str(log)}, depends_on=["up"])
    pipeline(project, "after-down", params={"log": str(log)}, depends_on=["down"])
    pipeline(project, "other", params={"log": str(log)})
    job = app.run("batch", {"pipelines": ["up", "down", "after-down", "other"], "parallel": 3})
    assert job.status is JobStatus.PARTIAL
    items = {i.key: i for i in app.items(job.id)[0]}
    assert items["up"].status is ItemStatus.FAILED
    assert items["other"].status is ItemStatus.DONE
    assert items["down"].status is ItemStatus.SKIPPED
    assert items["after-down"].status is ItemStatus.SKIPPED
    assert "upstream pipeline up failed" in items["down"].result["skipped"]
    assert "upstream pipeline down skipped" in items["after-down"].result["skipped"]
    # The skipped ones never started a job of their own.
    assert {name for _, name, _, _ in log_lines(log)} == {"up", "other"}
    # The reason is shown where people look.
    shown = invoke(project, "jobs", "show", job.id)
    assert shown.exit_code == 0, shown.stderr
    assert "skipped" in shown.stdout and "down: upstream pipeline up failed" in shown.stdout
    listed = invoke(project, "jobs", "list")
    assert "partial" in listed.stdout


def test_an_upstream_outside_the_batch_is_judged_by_its_latest_run(
    project: Path, app: by.Batchyard
) -> None:
    write_jobs(project)
    pipeline(project, "up")
    pipeline(project, "down", depends_on=["up"])
    first = app.run("batch", {"pipelines": ["down"]})
    item = app.items(first.id)[0][0]
    assert item.status is ItemStatus.SKIPPED
    assert "upstream pipeline up has not run yet" in item.result["skipped"]
    assert app.run("up").status is JobStatus.COMPLETED
    second = app.run("batch", {"pipelines": ["down"]})
    assert second.status is JobStatus.COMPLETED
    assert app.items(second.id)[0][0].status is ItemStatus.DONE


@pytest.mark.slow
def test_a_cycle_is_refused_naming_it(project: Path, app: by.Batchyard) -> None:
    write_jobs(project)
    pipeline(project, "a", depends_on=["c"])
    pipeline(project, "b", depends_on=["a"])
    pipeline(project, "c", depends_on=["b"])
    pipeline(project, "ok")
    result = cli("run", "--batch", "ok", "b", cwd=project)
    assert result.returncode == 2, result.stderr
    assert "depends_on makes a cycle: a -> c -> b -> a" in result.stderr
    assert "Traceback" not in result.stderr
    assert app.jobs()[1] == 0  # nothing recorded


@pytest.mark.slow
def test_a_depends_on_naming_no_pipeline_is_refused_naming_the_file(
    project: Path, app: by.Batchyard
) -> None:
    write_jobs(project)
    path = pipeline(project, "a", depends_on=["nope"])
    result = cli("run", "--batch", "a", cwd=project)
    assert result.returncode == 2
    line = path.read_text().splitlines().index("depends_on:") + 1
    assert f"{path}:{line}: depends_on: no pipeline 'nope'" in result.stderr
    assert app.jobs()[1] == 0
