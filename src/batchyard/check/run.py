"""``Batchyard.validate``: submit a ``validate`` job for a suite, run it, and build its report."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from batchyard.check import history
from batchyard.check.engine import check_plan
from batchyard.check.report import Report
from batchyard.check.sources import open_source
from batchyard.check.suite import Suite
from batchyard.config import mask_url
from batchyard.db.files import is_file_target
from batchyard.engine.progress import Snapshot
from batchyard.store.models import Job

if TYPE_CHECKING:
    from batchyard.app import Batchyard


def place(target: str, connections: dict[str, str]) -> str:
    """Files, globs and SQLite paths made absolute, so a resume from elsewhere finds them."""
    if "://" in target or target in connections:
        return target
    if is_file_target(target) or Path(target).exists():
        return os.path.abspath(target) if glob.has_magic(target) else str(Path(target).resolve())
    return target


def find_rules(root: Path, rules: str | Path) -> Path:
    """The rules file: the path given, else ``rules/NAME.yaml`` (or ``.yml``) of the project."""
    given = Path(rules)
    if given.exists() or given.is_absolute():
        return given.resolve()
    for candidate in (
        root / "rules" / given,
        *(root / "rules" / f"{given}{x}" for x in (".yaml", ".yml")),
    ):
        if candidate.is_file():
            return candidate
    return given.resolve()


def validate(
    app: Batchyard,
    target: str,
    rules: str | Path | Suite,
    *,
    tables: Sequence[str] = (),
    where: str | None = None,
    fail_on: str = "error",
    workers: int | None = None,
    on_progress: Callable[[Snapshot], None] | None = None,
    on_message: Callable[[str], None] | None = None,
    install_signals: bool = True,
) -> Report:
    if isinstance(rules, Suite):
        suite, path = rules, None
    else:
        path = find_rules(app.settings.root, rules)
        suite = Suite.load(path)
    placed = place(target, app.settings.connections)
    # The rules are checked against the target before the job is recorded: bad input leaves
    # nothing behind.
    source = open_source(placed, app.settings)
    try:
        check_plan(source, suite.only(tables) if tables else suite, where)
    finally:
        source.close()
    if path is None:  # the job reads its rules from a file, as a resumed job will
        path = _saved(app.settings.root / ".batchyard" / "rules", suite)
    params: dict[str, Any] = {
        "target": placed,
        "rules": str(path),
        "tables": list(tables),
        "where": where,
        "fail_on": fail_on,
    }
    job = app.submit("validate", params, workers=workers, metadata={"suite": suite.name})
    job = app.execute(
        job.id, on_progress=on_progress, on_message=on_message, install_signals=install_signals
    )
    return report_for(app, job)


def _saved(folder: Path, suite: Suite) -> Path:
    """The suite written to a file of its own: named by its content, so a later suite of the
    same name never replaces the rules an earlier job was planned from."""
    text = suite.to_yaml()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", suite.name).strip("._")[:80] or "suite"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}-{digest}.yaml"
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path


def report_for(app: Batchyard, job: Job) -> Report:
    """The report of a finished (or paused) validate job, with the trend since the run before."""
    store = app.store
    tables = history.tables_of(store, job)
    items, _ = app.items(job.id, limit=None)
    errors = [{"table": i.key, "error": i.error} for i in items if i.error]
    before = history.previous(store, job)
    old = history.tables_of(store, before) if before else None
    target = str(job.params.get("target", ""))
    return Report(
        suite=history.suite_of(store, job) or "",
        target=mask_url(target) if "://" in target else target,
        tables=tables,
        job=job.id,
        created_at=job.created_at.isoformat(timespec="seconds") if job.created_at else "",
        trend=history.trend(tables, old, before),
        errors=errors,
    )
