"""Tab completion of the names commands take: job ids, pipelines, connections, job kinds and
executors.

The shell runs ``batchyard`` at every TAB, so each of these reads only what it names: job ids
through the quick reader of a SQLite store (none for other stores), pipelines from the names of
their files, connections from ``batchyard.toml`` alone. Kinds need the project's registry, its
``jobs.py`` and installed plug-ins included, which takes pydantic and the engine: their names
are noted in the project's ``.batchyard/kinds.json`` the first time, and read from there while
what they come from (``jobs.py``, the installed packages, batchyard itself) is unchanged. Each
gives nothing rather than fail: a completion that raises would print a traceback into the user's
command line.
"""

from __future__ import annotations

import json
import os
import sys
import tomllib
from pathlib import Path
from typing import Any

from batchyard import __version__
from batchyard.project import CONFIG_FILE, EXECUTOR_NAMES, STATE_DIR, locate, project_root
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


def executors(ctx: Any, incomplete: str) -> list[str]:
    """``--executor``: what runs items (a scheduler's address is the user's to type)."""
    return [n for n in EXECUTOR_NAMES if n.startswith(incomplete)]


#: Where the names of a project's kinds are noted, in its state folder.
KINDS_NOTE = "kinds.json"
#: The file that declares the built-in kinds (batchyard's own, for a checkout installed editable).
_BUILTIN = Path(__file__).resolve().parents[1] / "kinds" / "__init__.py"


def kinds(ctx: Any, incomplete: str) -> list[str]:
    """Names of the job kinds the project can run."""
    try:
        root = project_root(_globals(ctx)[0])
        names = _noted_kinds(root)
        if names is None:
            from batchyard.engine.registry import load_registry  # every kind: only when unnoted

            names = [k.name for k in load_registry(root)]
            _note_kinds(root, names)
    except Exception:
        return []
    return sorted(n for n in names if n.startswith(incomplete))


def _sources(root: Path) -> list[Any]:
    """What a project's kinds come from, as it is now: the version, and the time and size of
    ``jobs.py``, of the built-in kinds' declarations and of each folder of installed packages (a
    package installed or removed there changes its time). Those folders are ``sys.path`` but its
    first entry, the command's own folder or the working one."""
    found: list[Any] = [__version__]
    for path in (root / "jobs.py", _BUILTIN, *(Path(p) for p in sys.path[1:] if p)):
        try:
            st = path.stat()
        except OSError:
            found.append([str(path), None])
        else:
            found.append([str(path), st.st_mtime_ns, st.st_size])
    return found


def _noted_kinds(root: Path) -> list[str] | None:
    """The names noted for the project, if what they come from has not changed since."""
    try:
        note = json.loads((root / STATE_DIR / KINDS_NOTE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(note, dict) or note.get("sources") != _sources(root):
        return None
    names = note.get("kinds")
    return [str(n) for n in names] if isinstance(names, list) else None


def _note_kinds(root: Path, names: list[str]) -> None:
    """Note the names in a project's state folder (only a project's: one with batchyard.toml)."""
    if not (root / CONFIG_FILE).is_file():
        return
    folder = root / STATE_DIR
    try:
        folder.mkdir(exist_ok=True)
        part = folder / f".{KINDS_NOTE}.{os.getpid()}"
        part.write_text(json.dumps({"sources": _sources(root), "kinds": names}), encoding="utf-8")
        os.replace(part, folder / KINDS_NOTE)  # (whole, for a TAB in another shell at once)
    except OSError:
        pass


def targets(ctx: Any, incomplete: str) -> list[str]:
    """What ``batchyard run`` runs: pipelines, then kinds."""
    return pipelines(ctx, incomplete) + [
        k for k in kinds(ctx, incomplete) if k not in pipelines(ctx, incomplete)
    ]
