"""Loading a project's job kinds: built-in ones, installed ones (entry points) and ``jobs.py``.

The runner's process and every worker process load them the same way, so a class defined in
``jobs.py`` (an exception named in ``Retry(on=...)``, a param or item type) means the same thing in
both: the module gets a name derived from the file's path, the same in every process.

A Dask worker on another machine has no copy of the project: the runner sends it the text of
``jobs.py`` (:class:`ProjectCode`), which the worker runs under the same module name.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
import types
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from batchyard.engine import kinds as kinds_module
from batchyard.engine.kinds import Registry
from batchyard.errors import ConfigError

JOBS_FILE = "jobs.py"
ENTRY_POINT_GROUP = "batchyard.jobs"
#: The built-in kinds register themselves when this package is imported, as plug-ins do.
BUILTIN_KINDS = "batchyard.kinds"

_registries: dict[tuple[Path, float, int], Registry] = {}
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    # __import__ rather than importlib.import_module: the import statement's own path, which
    # ``python -X importtime`` reports (and the start-up tests read).
    __import__(BUILTIN_KINDS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            ep.load()
        except Exception as exc:
            raise ConfigError(f"entry point {ep.name} = {ep.value}: cannot load: {exc}") from exc
    _builtins_loaded = True


def load_registry(root: Path) -> Registry:
    """The kinds of the project at ``root``: built-in, installed (entry points) and ``jobs.py``."""
    _load_builtins()
    path = root / JOBS_FILE
    mtime = path.stat().st_mtime if path.is_file() else 0.0
    # Kinds registered in this process since (by code outside jobs.py) make a new registry.
    key = (root, mtime, kinds_module.REGISTRY.version)
    cached = _registries.get(key)
    if cached is not None:
        return cached
    registry = Registry()
    for kind in kinds_module.REGISTRY:
        registry.add(kind)
    if path.is_file():
        _exec_jobs_file(path, registry)
    _registries[key] = registry
    return registry


@dataclass(frozen=True)
class ProjectCode:
    """A project's ``jobs.py`` as the runner's machine has it: what a worker elsewhere runs."""

    #: Where the file is on the runner's machine (for messages and tracebacks).
    path: str
    #: The module name its classes pickle under (the same as the runner's).
    module: str
    #: Its text, or None when the project has no ``jobs.py``.
    source: str | None

    @classmethod
    def of(cls, root: Path) -> ProjectCode:
        path = root / JOBS_FILE
        source = path.read_text(encoding="utf-8") if path.is_file() else None
        return cls(str(path), jobs_module_name(path), source)


_shipped: dict[tuple[ProjectCode, int], Registry] = {}


def load_shipped(code: ProjectCode) -> Registry:
    """The kinds of a project whose ``jobs.py`` came as text: built-in, installed and its own."""
    _load_builtins()
    key = (code, kinds_module.REGISTRY.version)
    cached = _shipped.get(key)
    if cached is not None:
        return cached
    registry = Registry()
    for kind in kinds_module.REGISTRY:
        registry.add(kind)
    if code.source is not None:
        module = types.ModuleType(code.module)
        module.__file__ = code.path
        sys.modules[code.module] = module
        token = kinds_module.ACTIVE.set(registry)
        try:
            exec(compile(code.source, code.path, "exec"), module.__dict__)
        except SyntaxError as exc:
            raise ConfigError(f"{code.path}:{exc.lineno}:{exc.offset}: {exc.msg}") from exc
        except Exception as exc:
            raise ConfigError(_where(Path(code.path), exc)) from exc
        finally:
            kinds_module.ACTIVE.reset(token)
    _shipped[key] = registry
    return registry


def _where(path: Path, exc: Exception) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
    where = f"{path}:{frames[-1].lineno}" if frames else str(path)
    return f"{where}: {type(exc).__name__}: {exc}"


def jobs_module_name(path: Path) -> str:
    """The module name of the ``jobs.py`` at ``path``: the same in every process."""
    return "batchyard_jobs_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:10]


def _exec_jobs_file(path: Path, registry: Registry) -> None:
    name = jobs_module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    token = kinds_module.ACTIVE.set(registry)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise ConfigError(f"{path}:{exc.lineno}:{exc.offset}: {exc.msg}") from exc
    except Exception as exc:
        raise ConfigError(_where(path, exc)) from exc
    finally:
        kinds_module.ACTIVE.reset(token)
