"""What ``Batchyard.validate`` needs around a ``validate`` job: its params, made from a suite and a
target that were checked against each other first, and the report of the job once it ran."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from batchyard.check import history
from batchyard.check.engine import check_plan
from batchyard.check.report import Report
from batchyard.check.sources import open_source
from batchyard.check.suite import Suite
from batchyard.config import Settings
from batchyard.db.files import is_file_target
from batchyard.secrets import mask_url
from batchyard.store import Store
from batchyard.store.models import Job


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
    if given.is_file() or given.is_absolute():  # a folder of that name is no rules file
        return given.resolve()
    for candidate in (
        root / "rules" / given,
        *(root / "rules" / f"{given}{x}" for x in (".yaml", ".yml")),
    ):
        if candidate.is_file():
            return candidate
    return given.resolve()


def validate_params(
    settings: Settings,
    target: str,
    rules: str | Path | Suite,
    *,
    tables: Sequence[str] = (),
    where: str | None = None,
    fail_on: str = "error",
) -> tuple[dict[str, Any], Suite]:
    """The params of a ``validate`` job of ``rules`` on ``target``, and the suite.

    The rules are checked against the target first, so bad input stops here, before a job is
    recorded. A suite given as an object is saved to a file, which the job (and a resume) reads.
    """
    if isinstance(rules, Suite):
        suite, path = rules, None
    else:
        path = find_rules(settings.root, rules)
        suite = Suite.load(path)
    placed = place(target, settings.connections)
    source = open_source(placed, settings)
    try:
        check_plan(source, suite.only(tables) if tables else suite, where)
    finally:
        source.close()
    if path is None:
        path = _saved(settings.state_dir / "rules", suite)
    params: dict[str, Any] = {
        "target": placed,
        "rules": str(path),
        "tables": list(tables),
        "where": where,
        "fail_on": fail_on,
    }
    return params, suite


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


def report_for(store: Store, job: Job) -> Report:
    """The report of a finished (or paused) validate job, with the trend since the run before."""
    tables = history.tables_of(store, job)
    items, _ = store.list_items(job.id, limit=None)
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
        history=history.scores(store, job),
    )
