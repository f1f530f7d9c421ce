"""The built-in job kinds. Each module registers its kind the same way a project's jobs.py does."""

from batchyard.kinds import (
    backup,
    batch,
    collect,
    export,
    generate,
    inspect,
    load,
    migrate,
    monitor,
    summary,
    validate,
    verify,
)

__all__ = [
    "backup",
    "batch",
    "collect",
    "export",
    "generate",
    "inspect",
    "load",
    "migrate",
    "monitor",
    "summary",
    "validate",
    "verify",
]
