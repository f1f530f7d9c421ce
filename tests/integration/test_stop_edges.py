"""A live ``batchyard`` process stopped from outside at awkward moments: its job deleted under it,
and Ctrl+C while the command is still starting (importing, opening the store). Each ends with one
clear line and its exit code, never a traceback.

Every signal here is sent on observed state (a line the process printed, an item's log line),
never after a guessed delay.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import sqlalchemy as sa
from byprocs import (
    StoreReader,
    lines,
    reap_spawned,  # noqa: F401  (an autouse fixture: no process outlives a test)
    spawn,
    wait_until,
    write_jobs,
)

import batchyard as by
from batchyard.store.schema import events, items
from conftest import cli

pytestmark = pytest.mark.slow


def _job_rows(store_url: str, job_id: str) -> tuple[int, int]:
    """Items and events the store still holds for ``job_id``."""
    engine = sa.create_engine(store_url)
    try:
        with engine.connect() as conn:
            n_items = conn.execute(
                sa.select(sa.func.count()).select_from(items).where(items.c.job_id == job_id)
            ).scalar()
            n_events = conn.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.job_id == job_id)
            ).scalar()
    finally:
        engine.dispose()
    return int(n_items or 0), int(n_events or 0)


def test_a_job_deleted_while_it_runs_stops_its_runner_with_one_message(
    project: Path, store_url: str
) -> None:
    write_jobs(project)
    log = project.parent / "executions.log"
    proc = spawn(
        project, "run", "many", "-p", "n=400", "-p", "sleep=0.05", "-p", f"log={log}", "-w", "2"
    )
    wait_until(lambda: len(lines(log)) >= 4, timeout=60, what="items to run", proc=proc)
    with StoreReader(store_url) as reader:
        (job_id,) = reader.job_ids()
    deleted = cli("jobs", "delete", "--force", job_id, cwd=project)
    assert deleted.returncode == 0, deleted.stderr
    assert deleted.stdout.strip() == f"deleted {job_id}"

    rc = proc.wait(60)
    err = proc.stderr()
    assert rc == 2, proc.describe()
    assert "Traceback" not in err and "sqlalchemy" not in err.lower(), err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == [f"error: job {job_id} was deleted while it ran; its runner stopped"], err
    # The runner wrote nothing for the job after it was deleted (no orphan events or items),
    # and claimed nothing more than the items it had in flight.
    with StoreReader(store_url) as reader:
        assert reader.job_ids() == []
    assert _job_rows(store_url, job_id) == (0, 0)
    assert len(lines(log)) < 400


def _waiting_job(project: Path) -> str:
    """A job whose items hold while the gate file exists: it cannot end before the test lets it,
    however late a Ctrl+C comes (see :func:`_open_gate`)."""
    write_jobs(project)
    gate = project / "gate"
    gate.touch()
    with by.Batchyard(root=project) as app:
        job = app.submit("many", {"n": 20, "sleep": 0.001, "gate": str(gate)}, workers=2)
    return job.id


def _open_gate(project: Path) -> None:
    (project / "gate").unlink(missing_ok=True)


#: Moments of a ``jobs resume`` start-up, each seen as the import that has just completed (the
#: lines ``python -X importtime`` writes to stderr as each import ends).
STARTUP = [
    "typer",  # the CLI's own imports
    "rich.console",
    "batchyard.cli.jobs",  # the command's module, loaded once the command is known
    "sqlalchemy",  # the store and the engine, loaded by the command
    "batchyard.app",  # the last: imports end here
]


def imported(stderr: str, module: str) -> bool:
    """True once ``python -X importtime`` has reported ``module`` imported."""
    return re.search(rf"^import time:.*\|\s+{re.escape(module)}$", stderr, re.M) is not None


@pytest.mark.parametrize("module", STARTUP)
def test_ctrl_c_while_the_command_starts_exits_130_without_a_traceback(
    project: Path, store_url: str, module: str
) -> None:
    job_id = _waiting_job(project)
    proc = spawn(project, "jobs", "resume", job_id, env={"PYTHONPROFILEIMPORTTIME": "1"})
    wait_until(lambda: imported(proc.stderr(), module), timeout=60, what=module, proc=proc)
    proc.signal(signal.SIGINT)
    _open_gate(project)  # a job that had begun pauses once its items in flight end
    rc = proc.wait(60)
    err = proc.stderr()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    said = [line for line in err.splitlines() if not line.startswith("import time:")]
    assert rc == 130, proc.describe()
    # Stopped before the job started ("interrupted"), or, when the signal came as it began,
    # paused by its runner, which prints how to resume.
    assert said == ["interrupted"] or any("Paused. Resume with:" in x for x in said), said
    with StoreReader(store_url) as reader:
        job = reader.job(job_id)
    assert job.status.value in ("pending", "paused"), job.status
    assert job.lease_owner is None or job.status.value == "pending"


def test_ctrl_c_before_the_runner_starts_leaves_the_job_to_resume(
    project: Path, store_url: str
) -> None:
    """The job is left as it was (or paused) and a second resume runs it to its end."""
    job_id = _waiting_job(project)
    proc = spawn(project, "jobs", "resume", job_id, env={"PYTHONPROFILEIMPORTTIME": "1"})
    wait_until(
        lambda: imported(proc.stderr(), "batchyard.app"),
        timeout=60,
        what="imports",
        proc=proc,
    )
    proc.signal(signal.SIGINT)
    _open_gate(project)
    assert proc.wait(60) == 130, proc.describe()
    again = cli("jobs", "resume", job_id, cwd=project)
    assert again.returncode == 0, again.stderr
    with StoreReader(store_url) as reader:
        assert reader.job(job_id).status.value == "completed"


def test_ctrl_c_as_the_command_ends_prints_no_traceback(project: Path, store_url: str) -> None:
    """The job has completed and the command is printing its summary and closing the store."""
    job_id = _waiting_job(project)
    _open_gate(project)
    proc = spawn(project, "jobs", "resume", job_id)
    wait_until(
        lambda: f"job {job_id} completed" in proc.stderr(),
        timeout=60,
        what="the summary line",
        proc=proc,
    )
    proc.signal(signal.SIGINT)
    rc = proc.wait(60)
    err = proc.stderr()
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    # It may have ended before the signal came (0); or Python, in its last moments, had put the
    # default action back: killed by SIGINT (-2, which a shell reports as 130).
    assert rc in (0, 130, -signal.SIGINT), proc.describe()
    if rc == 130:
        assert err.splitlines()[-1] == "interrupted", err
    with StoreReader(store_url) as reader:
        assert reader.job(job_id).status.value == "completed"
