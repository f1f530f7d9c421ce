"""Tab completion of the names commands take: job ids, pipelines, connections and job kinds.

The shell runs ``batchyard`` at every TAB, so each of these reads only what it names: job ids
through the quick reader of a SQLite store (none for other stores), pipelines from the names of
their files, connections from ``batchyard.toml`` alone. Kinds need the project's registry, its
``jobs.py`` included, which is the one slow completion. Each gives nothing rather than fail: a
completion that raises would print a traceback into the user's command line.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from batchyard.project import CONFIG_FILE, locate, project_root
from batchyard.store.joblist import JobFilter
from batchyard.store.reader import StoreReader

#: The most names offered at once.
LIMIT = 50


def _globals(ctx: Any) -> tuple[Path | None, str | None]:
    """``-C`` and ``--store`` as given on the command line being completed."""
    params = ctx.find_root().params
    return params.get("project"), params.get("store")


def job_ids(ctx: Any, incomplete: str) -> list[str]:
    """Ids of the jobs in the store that start with what was typed, newest first."""
    try:
        project, store = _globals(ctx)
        place = locate(project, store=store)
        reader = StoreReader.open(place.store_url) if place else None
        if reader is None:
            return []
        with reader:
            found, _ = reader.list_jobs(JobFilter(search=incomplete or None), limit=LIMIT * 4)
    except Exception:
        return []
    return [j.id for j in found if j.id.startswith(incomplete)][:LIMIT]


def pipelines(ctx: Any, incomplete: str) -> list[str]:
    """Names of the project's pipelines (``pipelines/NAME.yaml``)."""
    try:
        folder = project_root(_globals(ctx)[0]) / "pipelines"
        names = {p.stem for p in folder.glob("*.y*ml") if p.suffix in (".yaml", ".yml")}
    except OSError:
        return []
    return sorted(n for n in names if n.startswith(incomplete))


def connections(ctx: Any, incomplete: str) -> list[str]:
    """Names under ``[connections]`` in ``batchyard.toml``."""
    try:
        path = project_root(_globals(ctx)[0]) / CONFIG_FILE
        section = tomllib.loads(path.read_text(encoding="utf-8")).get("connections", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return []
    names = section if isinstance(section, dict) else {}
    return sorted(n for n in names if n.startswith(incomplete))


def kinds(ctx: Any, incomplete: str) -> list[str]:
    """Names of the job kinds the project can run."""
    try:
        from batchyard.engine.registry import load_registry  # every kind: only on this TAB

        names = [k.name for k in load_registry(project_root(_globals(ctx)[0]))]
    except Exception:
        return []
    return sorted(n for n in names if n.startswith(incomplete))


def targets(ctx: Any, incomplete: str) -> list[str]:
    """What ``batchyard run`` runs: pipelines, then kinds."""
    return pipelines(ctx, incomplete) + [
        k for k in kinds(ctx, incomplete) if k not in pipelines(ctx, incomplete)
    ]
