"""``backup`` and ``restore``: a consistent, compressed snapshot of a database, and putting it back.

Each is one item: a snapshot is taken at one instant, so an interrupted backup is taken again on
resume (its half-written folder removed), and a restore, which commits all at once, starts again.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from batchyard.config import Settings
from batchyard.engine.context import Context
from batchyard.engine.kinds import Item
from batchyard.errors import ParamError
from batchyard.kinds import BUILTIN
from batchyard.kinds.params import BackupParams, RestoreParams
from batchyard.profile.catalog import open_database
from batchyard.secrets import mask_url
from batchyard.snapshot import backup as bk
from batchyard.snapshot import manifest as manifest
from batchyard.snapshot import restore as rs


def backups_root(settings: Settings, folder: str | None) -> Path:
    """Where backups live: ``--dir``, else the project's ``.batchyard/backups``."""
    if folder:
        return Path(folder).expanduser().absolute()
    return settings.state_dir / "backups"


def plan_backup(params: BackupParams, settings: Settings) -> list[Item]:
    url = settings.resolve(params.source)
    chosen = bk.method_for(url, params.method)
    keep, name = params.keep, params.name
    if keep is not None and keep < 1:
        raise ParamError(f"keep={keep}: keep at least 1 backup")
    if name is not None and bk.safe_name(name) != name:
        raise ParamError(f"name={name!r}: use letters, digits, '.', '_' and '-'")
    open_database(url)[0].dispose()
    return [Item("snapshot", {"method": chosen})]


def take(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    p = ctx.params
    url = ctx.settings.resolve(p["source"])
    root = backups_root(ctx.settings, p.get("dir"))
    name = p.get("name") or bk.default_name(p["source"], url)
    if isinstance(ctx.cursor, dict) and ctx.cursor.get("part"):
        shutil.rmtree(ctx.cursor["part"], ignore_errors=True)  # a snapshot of another moment
    now = bk.now_utc()
    root.mkdir(parents=True, exist_ok=True)
    part = bk.part_folder(bk.folder_for(root, name, now))
    part.mkdir()
    ctx.checkpoint({"part": str(part)})
    method = value["method"]

    def progress(rows: int) -> None:
        ctx.add_rows(read=rows)

    def stop() -> bool:
        return ctx.should_stop

    try:
        schema = None
        if method == "sqlite":
            tables = bk.backup_sqlite(url, part, progress, stop)
        elif method == "pg_dump":
            tables = bk.backup_pg_dump(url, part, progress)
        else:
            tables, schema = bk.backup_copy(url, part, progress, stop)
        manifest: dict[str, Any] = {
            "batchyard_backup": bk.FORMAT_VERSION,
            "name": name,
            "created": now.isoformat(timespec="microseconds"),
            "source": mask_url(url),
            "backend": bk.backend(url),
            "method": method,
            "job_id": ctx.job_id,
            "tables": tables,
        }
        if schema is not None:
            manifest["schema"] = schema
        final = bk.seal(part, manifest)
    except BaseException:
        shutil.rmtree(part, ignore_errors=True)
        raise
    deleted = bk.prune(root, name, int(p["keep"])) if p.get("keep") else []
    size = sum(f.stat().st_size for f in final.rglob("*") if f.is_file())
    ctx.log.info("backup %s: %d table(s), %d bytes", final, len(tables), size)
    if deleted:
        ctx.log.info("deleted %d older backup(s) of %s: %s", len(deleted), name, ", ".join(deleted))
    return {
        "backup": final.name,
        "name": name,
        "path": str(final),
        "method": method,
        "tables": len(tables),
        "rows": sum(int(t["rows"]) for t in tables),
        "bytes": size,
        "deleted": deleted,
    }


def plan_restore(params: RestoreParams, settings: Settings) -> list[Item]:
    folder = manifest.find_backup(params.backup, backups_root(settings, params.dir))
    data = manifest.read_checked(folder)
    url = settings.resolve(params.target)
    rs.check_fits(data, url)
    rs.check_target(url, params.replace)
    rows = sum(int(t.get("rows") or 0) for t in data.get("tables") or [])
    return [Item(folder.name, {"folder": str(folder)}, weight=rows)]


def put_back(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    p = ctx.params
    folder = Path(value["folder"])
    data = manifest.read_checked(folder)
    url = ctx.settings.resolve(p["target"])
    replace = bool(p.get("replace"))
    rs.check_fits(data, url)
    rs.check_target(url, replace)

    def stop() -> bool:
        return ctx.should_stop

    if data["method"] == "sqlite":
        rows = rs.restore_sqlite(folder, data, url, stop)
    elif data["method"] == "pg_dump":
        rows = rs.restore_pg_dump(folder, data, url, replace)
    else:
        rows = rs.restore_copy(folder, data, url, replace, stop)
    # Counted in the restored tables (and equal to the manifest's, or the restore was refused).
    ctx.add_rows(written=sum(rows.values()))
    ctx.log.info("restored %s into %s", folder.name, mask_url(url))
    return {
        "backup": folder.name,
        "target": mask_url(url),
        "tables": len(rows),
        "rows": sum(rows.values()),
    }


backup_kind = BUILTIN["backup"].implement(plan_backup)
backup_kind.item(take)
restore_kind = BUILTIN["restore"].implement(plan_restore)
restore_kind.item(put_back)
