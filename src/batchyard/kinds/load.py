"""``import``: data files into tables of any connection (the module is ``load``: ``import`` is taken).

Items are files: one, or every file a ``manifest.json`` lists (an export's folder). Planning checks
each file against its table; an atomic file (the default under 64 MB) is read whole first, and any
bad row refuses it before anything is written. Other files load in checkpointed batches and
quarantine their bad rows. ``rules`` (``--validate``) quarantines rows failing the suite's
error-severity row rules too (see :mod:`batchyard.files.rowrules`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import NotFound, ParamError, UsageError
from batchyard.files import resolve as rs
from batchyard.files import rowrules
from batchyard.files.formats import check_writable, parse_types
from batchyard.files.manifest import MANIFEST, read_manifest
from batchyard.files.quarantine import write_quarantine
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import ImportParams


def files_of(file: str, table: str | None) -> list[tuple[Path, str | None]]:
    """(file, table) pairs: the file itself, or each file an export's manifest lists."""
    path = Path(file).expanduser().absolute()
    manifest = path / MANIFEST if path.is_dir() else path if path.name == MANIFEST else None
    if manifest is None:
        return [(path, table)]
    if not manifest.is_file():
        raise UsageError(f"{path}: a folder to import needs the {MANIFEST} of an export")
    if table:
        raise ParamError("--table names the table of one file; a manifest names its own")
    return [
        (manifest.parent / e["file"], str(e["table"])) for e in read_manifest(manifest)["tables"]
    ]


def quarantine_path(given: str | None, file: Path, many: bool) -> Path:
    """Where the bad rows of ``file`` go: the ``quarantine`` param, else beside the file."""
    if not given:
        return file.with_name(file.name + ".quarantine.jsonl")
    path = Path(given).expanduser().absolute()
    return path / (file.name + ".quarantine.jsonl") if many or path.is_dir() else path


def plan(params: ImportParams, settings: Settings) -> list[Item]:
    from batchyard.files import load as ld  # (pyarrow and DuckDB: loaded only when used)

    atomic, quarantine, rules = params.atomic, params.quarantine, params.rules
    url = settings.resolve(params.target)
    dialect = rs.backend(url)
    given = parse_types(params.types)
    pairs = files_of(params.file, params.table)
    items = []
    for path, name in pairs:
        whole = atomic if atomic is not None else _size(path) < ld.ATOMIC_BYTES
        bad_rows_to = quarantine_path(quarantine, path, len(pairs) > 1)
        if quarantine or not whole:
            # A bad row found after batches were committed must have somewhere to go.
            if quarantine:
                check_writable(bad_rows_to, "--quarantine")
            else:
                fix = "give --quarantine a place you can write to"
                check_writable(bad_rows_to, "the quarantine file beside the data,", fix)
        spec = rs.resolve(
            path,
            url,
            name,
            fmt=params.format if len(pairs) == 1 else None,
            types=given,
            key=tuple(params.key),
            mode=params.mode,
            from_table=params.from_table,
            strict=params.strict_types,
        )
        if rules:
            rowrules.for_table(rules, spec.table, dialect)  # a bad suite stops here
        if whole:
            out = ld.check(spec, dialect)
            if out.bad:
                _quarantine_refused(bad_rows_to, out.bad)
                raise UsageError(ld.refusal(spec, out.bad))
        value = rs.spec_to_value(spec) | {"atomic": whole}
        items.append(Item(f"{path.name}:{spec.table.name}", value, weight=path.stat().st_size))
    return items


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # (resolve says what is wrong with it)


def _quarantine_refused(path: Path, bad: list[Any]) -> None:
    """The bad rows of a refused file, where it can be written (the refusal says the rest)."""
    with contextlib.suppress(OSError):
        write_quarantine(path, bad)


def first_job(ctx: Context) -> str:
    """The job a retry chain started from: checkpoints are kept under its id, so a retry of a
    failed import resumes after the batches the failed job committed instead of loading them
    again."""
    job = ctx.store.get_job(ctx.job_id)
    seen = {job.id}
    while job.retry_of and job.retry_of not in seen:
        try:
            job = ctx.store.get_job(job.retry_of)
        except NotFound:
            break
        seen.add(job.id)
    return job.id


def run(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    from batchyard.files import load as ld  # (pyarrow and DuckDB: loaded only when used)

    p = ctx.params
    url = ctx.settings.resolve(p["target"])
    spec = rs.spec_from_value(value)
    many = len(files_of(p["file"], p["table"])) > 1
    suite = p["rules"]
    rules = rowrules.for_table(suite, spec.table, rs.backend(url)) if suite else None
    out = ld.load(
        spec,
        url,
        f"import:{first_job(ctx)}:{ctx.item_key}",
        atomic=bool(value.get("atomic")),
        progress=lambda n: ctx.add_rows(read=n, written=n),
        should_stop=lambda: ctx.should_stop,
        rules=rules,
    )
    result: dict[str, Any] = {"file": str(spec.path), "table": spec.table.name, "rows": out.rows}
    if spec.inferred:
        result["inferred"] = [c.to_dict() for c in spec.inferred]
        result["strict_types"] = spec.strict
    result["bad"] = len(out.bad)
    if out.bad:
        path = quarantine_path(p["quarantine"], spec.path, many)
        write_quarantine(path, sorted(out.bad, key=lambda b: (b.line or 0, b.record or 0)))
        result["quarantine"] = str(path)
        ctx.log.warning("%d bad row(s) of %s quarantined in %s", len(out.bad), spec.path.name, path)
    return result


kind = BUILTIN["import"].implement(plan)
kind.item(run)
