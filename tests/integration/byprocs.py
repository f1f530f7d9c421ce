"""Helpers for the process-level tests: a jobs.py for them, live CLI runs and store reads.

Everything here drives the real ``python -m batchyard`` in subprocesses and reads the store with
plain SQLAlchemy, the way an operator looking at the database would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from batchyard.store.models import Event, Job
from batchyard.store.schema import events, items, jobs

# Item sleeps come from the job's params, unless BY_TEST_SLEEP is set in the runner's environment:
# a test can then make a resume fast without changing the stored params of the job.
JOBS = r'''
import os
import time

import batchyard as by


def _log(path, line):
    """Append one line with one write (O_APPEND), so concurrent writers never interleave."""
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def _sleep(default):
    return float(os.environ.get("BY_TEST_SLEEP", default))


def _hold(until, most=120.0):
    """Keep the item busy until ``until()`` is true (or ``most`` seconds, so that a test that
    goes wrong fails rather than hangs)."""
    deadline = time.monotonic() + most
    while not until() and time.monotonic() < deadline:
        time.sleep(0.005)


@by.job("many")
def many(n: int, sleep: float = 0.0025, log: str = "", gate: str = ""):
    return range(n)


@many.item
def one(i: int, ctx: by.Context):
    _log(ctx.params["log"], str(i))
    gate = ctx.params["gate"]
    if gate and i == ctx.params["n"] - 1:
        # The last item waits while the gate file exists: the job cannot end before the test
        # has done what it does while the job runs.
        _hold(lambda: not os.path.exists(gate))
    time.sleep(_sleep(ctx.params["sleep"]))
    ctx.write("rows", {"i": i}, key="i")
    return i


@by.job("steps")
def steps(count: int = 2, length: int = 500, sleep: float = 0.01, log: str = "", hold: int = -1):
    return range(count)


@steps.item
def walk(i: int, ctx: by.Context):
    log = ctx.params["log"]
    start = 0 if ctx.cursor is None else ctx.cursor + 1
    _log(log, f"start {i} {start}")
    for s in range(start, ctx.params["length"]):
        if s == ctx.params["hold"]:
            _log(log, f"holding {i} {s}")
            _hold(lambda: ctx.should_stop)  # until the job stops: then this step is its last
        _log(log, f"step {i} {s}")
        time.sleep(_sleep(ctx.params["sleep"]))
        ctx.checkpoint(s)
    ctx.write("walked", {"item": i, "length": ctx.params["length"]}, key="item")
    _log(log, f"end {i}")
'''


def write_jobs(project: Path) -> None:
    (project / "jobs.py").write_text(JOBS)


@dataclass
class Proc:
    """A live ``python -m batchyard`` whose output goes to files (never a full pipe)."""

    popen: subprocess.Popen[bytes]
    out: Path
    err: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()
            raise AssertionError(
                f"batchyard (pid {self.pid}) still running after {timeout}s\n"
                f"stderr:\n{self.stderr()}"
            ) from None

    def kill(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.wait()

    def signal(self, sig: int) -> None:
        self.popen.send_signal(sig)

    def describe(self) -> str:
        return f"rc={self.popen.returncode}\nstdout:\n{self.stdout()}\nstderr:\n{self.stderr()}"


_seq = 0
#: Every process spawned by the current test, so a failing test leaves none behind.
SPAWNED: list[Proc] = []


@pytest.fixture(autouse=True)
def reap_spawned() -> Iterator[None]:
    """Autouse in the modules that import it: after each test, SIGKILL and reap whatever the test
    spawned and left running (or unreaped), so a failing test leaves no process behind."""
    yield
    while SPAWNED:
        proc = SPAWNED.pop()
        if proc.popen.returncode is None:
            proc.kill()


def spawn(
    project: Path, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> Proc:
    """Start ``python -m batchyard ARGS`` in ``project`` (or ``cwd``); its output goes to files
    beside the project."""
    global _seq
    _seq += 1
    logs = project.parent / "proc-logs"
    logs.mkdir(exist_ok=True)
    out, err = logs / f"{_seq:03d}.out", logs / f"{_seq:03d}.err"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with out.open("wb") as fo, err.open("wb") as fe:
        popen = subprocess.Popen(
            [sys.executable, "-m", "batchyard", *args],
            cwd=cwd or project,
            env=full_env,
            stdout=fo,
            stderr=fe,
            stdin=subprocess.DEVNULL,
        )
    proc = Proc(popen, out, err)
    SPAWNED.append(proc)
    return proc


def wait_until(
    cond: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    proc: Proc | None = None,
    every: float = 0.005,
) -> None:
    """Poll ``cond`` until true; fail naming ``what`` (and the process's output) on timeout or
    when ``proc`` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return
        if proc is not None and proc.popen.poll() is not None:
            raise AssertionError(f"batchyard exited before {what}\n{proc.describe()}")
        if time.monotonic() > deadline:
            extra = f"\n{proc.describe()}" if proc is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{extra}")
        time.sleep(every)


def lines(path: Path) -> list[str]:
    """The complete lines of a log file (a half-written last line is left out)."""
    if not path.exists():
        return []
    text = path.read_text()
    parts = text.split("\n")
    return parts[:-1]


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


# -- reading the store -----------------------------------------------------------------------------


class StoreReader:
    """Plain SQLAlchemy reads of the store's tables, as of now."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StoreReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def job_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.select(jobs.c.id).order_by(jobs.c.created_at)).scalars())

    def job(self, job_id: str) -> Job:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().one()
        return Job.from_row(row)

    def statuses(self, job_id: str) -> dict[str, str]:
        """item key -> status"""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(items.c.key, items.c.status).where(items.c.job_id == job_id)
            ).all()
        return {r[0]: r[1] for r in rows}

    def items(self, job_id: str) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(items).where(items.c.job_id == job_id)).mappings().all()
        return {r["key"]: dict(r) for r in rows}

    def events(self, job_id: str) -> list[Event]:
        """The job's log, oldest first."""
        with self.engine.connect() as conn:
            rows = (
                conn.execute(
                    sa.select(events).where(events.c.job_id == job_id).order_by(events.c.id)
                )
                .mappings()
                .all()
            )
        return [Event.from_row(r) for r in rows]

    def keys_with(self, job_id: str, status: str) -> set[str]:
        return {k for k, s in self.statuses(job_id).items() if s == status}


def target_keys(url: str, table: str, column: str) -> list[Any]:
    """Every value of ``column`` in ``table`` at ``url`` (duplicates kept)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.exec_driver_sql(f'SELECT "{column}" FROM "{table}"').scalars())
    finally:
        engine.dispose()


def is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False
