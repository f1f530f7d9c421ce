"""A timed-out attempt keeps running on its thread (threads cannot be stopped), but its writes and
checkpoints through ``ctx`` are refused: the attempt is fenced by its attempt number, checked in
the same transaction as the write. On both stores, writing to the store's own database (the check
in the write's transaction) and to another database (the item held in the store meanwhile)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.db import ENGINES
from batchyard.errors import AttemptFenced

JOBS = """
import threading

import batchyard as by

RELEASE = threading.Event()   # set by the test once the timeout was recorded
FINISHED = threading.Event()  # set by the first attempt once it tried to write
SEEN = {}


@by.job("hangs")
def hangs(to: str):
    return [0]


@hangs.item
def hang(i: int, ctx: by.Context):
    if ctx.attempt > 1:
        ctx.write("out", {"i": i, "attempt": ctx.attempt}, key="i", connection=ctx.params["to"])
        return ctx.attempt
    RELEASE.wait()
    for what, act in (
        ("checkpoint", lambda: ctx.checkpoint({"at": "late"})),
        ("write", lambda: ctx.write("out", {"i": i, "attempt": 1}, key="i", connection=ctx.params["to"])),
    ):
        try:
            act()
            SEEN[what] = "went through"
        except Exception as exc:
            SEEN[what] = exc
    FINISHED.set()
"""


@pytest.fixture
def hangs(tmp_path: Path, store_url: str) -> Iterator[tuple[by.Batchyard, dict[str, Any]]]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "fencing"\n\n[store]\nurl = "{store_url}"\n', encoding="utf-8"
    )
    (root / "jobs.py").write_text(JOBS, encoding="utf-8")
    with by.Batchyard(root=root) as app:
        shared = app.kind("hangs").item_fn.__globals__  # type: ignore[union-attr]
        try:
            yield app, shared
        finally:
            shared["RELEASE"].set()  # never leave a thread behind, whatever happened
            shared["FINISHED"].wait(30)
    ENGINES.dispose()


def rows(url: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("out"):
                return []
            return [tuple(r) for r in conn.exec_driver_sql("SELECT i, attempt FROM out")]
    finally:
        engine.dispose()


@pytest.mark.parametrize("target", ["store", "other"])
@pytest.mark.parametrize("retries", [0, pytest.param(2, marks=pytest.mark.slow)])
def test_a_timed_out_attempt_cannot_write(
    hangs: tuple[by.Batchyard, dict[str, Any]],
    store_url: str,
    tmp_path: Path,
    target: str,
    retries: int,
) -> None:
    app, shared = hangs
    url = store_url if target == "store" else f"sqlite:///{tmp_path / 'other.db'}"
    messages: list[str] = []
    # The run returns once the timeout is recorded; the first attempt is still blocked then.
    job = app.run(
        "hangs",
        {"to": url},
        timeout=1.0,
        retries=retries,
        on_message=messages.append,
        install_signals=False,
    )
    assert not shared["FINISHED"].is_set()
    item = app.items(job.id)[0][0]
    if retries:
        # A newer attempt took the item over and wrote; the first one is superseded.
        assert job.status is by.JobStatus.COMPLETED
        assert item.attempts >= 2 and rows(url) == [(0, item.attempts)]
    else:
        assert job.status is by.JobStatus.FAILED
        assert "ItemTimeout" in (item.error or "")
        assert rows(url) == []
    warning = "item 0 timed out and is still running"
    assert any(warning in m for m in messages)
    assert any(warning in e.message and e.level == "warning" for e in app.log(job.id))

    shared["RELEASE"].set()
    assert shared["FINISHED"].wait(30)
    for what in ("checkpoint", "write"):
        assert isinstance(shared["SEEN"][what], AttemptFenced), shared["SEEN"][what]
        assert "attempt 1" in str(shared["SEEN"][what])
    after = app.items(job.id)[0][0]
    assert (after.status, after.cursor, after.attempts) == (item.status, None, item.attempts)
    assert rows(url) == ([(0, item.attempts)] if retries else [])
