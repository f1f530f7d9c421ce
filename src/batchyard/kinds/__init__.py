"""The built-in job kinds, declared here and registered as plug-ins are: name, params, options and
what each does.

A kind's code is its module (``batchyard.kinds.migrate``...), which ``implement``\\s the declared
kind; it is imported when a job of the kind is planned or run, so listing kinds or checking
params loads none of what the kinds run on (SQLAlchemy, DuckDB, Arrow, httpx).
"""

from __future__ import annotations

from typing import Any

from batchyard.engine.kinds import REGISTRY, JobKind
from batchyard.engine.params import Params
from batchyard.kinds import params as p


def _declare(
    name: str, params: type[Params], module: str, description: str, **options: Any
) -> JobKind:
    kind = JobKind(
        name,
        params=params,
        code=f"batchyard.kinds.{module}",
        description=description,
        builtin=True,
        **options,
    )
    return REGISTRY.add(kind)


#: The built-in kinds by name. Each module takes its own: ``BUILTIN["export"].implement(plan)``.
BUILTIN: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        _declare(
            "backup",
            p.BackupParams,
            "backup",
            "Back up SOURCE into a named folder of compressed files with a checksummed manifest.",
            executor="threads",
        ),
        _declare(
            "restore",
            p.RestoreParams,
            "backup",
            "Restore BACKUP (a folder, or a name: its newest backup) into TARGET, checksums first.",
            executor="threads",
        ),
        _declare(
            "batch",
            p.BatchParams,
            "batch",
            "Run pipelines from pipelines/*.yaml, `parallel` at a time, each after those it "
            "depends on.",
            executor="threads",
            # A pipeline that failed stays failed on a second attempt (its job ended): retries
            # are the pipelines' own. None here also keeps a waiting pipeline from holding a slot
            # that an upstream's retry would need.
            retries=0,
        ),
        _declare(
            "collect",
            p.CollectParams,
            "collect",
            "Collect JSON from an HTTP API per date, key or grid cell into a table or landing "
            "folder.",
            executor="threads",
        ),
        _declare(
            "export",
            p.ExportParams,
            "export",
            "Export tables of SOURCE (or the rows of a query) into CSV, JSON, JSON lines, Parquet "
            "or SQLite files at TO.",
            executor="threads",
        ),
        _declare(
            "generate",
            p.GenerateParams,
            "generate",
            "Generate a synthetic dataset (sports, retail, finance, healthcare) into a database "
            "or files.",
            executor="threads",
        ),
        _declare(
            "import",
            p.ImportParams,
            "load",  # (``import`` is taken)
            "Import FILE (CSV, JSON, JSON lines, Parquet or SQLite; or an export's folder) into "
            "TARGET.",
            executor="threads",
        ),
        _declare(
            "inspect",
            p.InspectParams,
            "inspect",
            "The schema catalogue (tables, columns, types, keys, indexes, foreign keys, rows) of "
            "SOURCES.",
            executor="threads",
        ),
        _declare(
            "migrate",
            p.MigrateParams,
            "migrate",
            "Copy tables from SOURCE to TARGET (connection names, URLs or SQLite files).",
        ),
        _declare(
            "monitor",
            p.MonitorParams,
            "monitor",
            "Check MONITORS (default: every monitor of the project's monitors/ folder).",
            executor="threads",
        ),
        _declare(
            "summary",
            p.SummaryParams,
            "summary",
            "Summarise the tables of TARGET: rows, nulls, distinct values, ranges and top values.",
            executor="threads",
        ),
        _declare(
            "validate",
            p.ValidateParams,
            "validate",
            "Validate TARGET (a database, files or a glob) with the rules file RULES; one item "
            "per table.",
            executor="threads",
        ),
        _declare(
            "verify",
            p.VerifyParams,
            "verify",
            "Compare tables of SOURCE and TARGET: row counts and checksums; diff finds the rows.",
            executor="threads",
        ),
    )
}

__all__ = ["BUILTIN"]
