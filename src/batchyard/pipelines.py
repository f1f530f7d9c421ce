"""Pipelines: saved job definitions in ``pipelines/NAME.yaml``.

kind: daily-scores          # the job kind to run
description: Scores for the season
env: production             # optional, else the project default
workers: 4                  # optional; so are executor, retries, timeout and stop_on_error
params:
  start: 2024-04-01
  end: 2024-09-30
tags: [nightly]
depends_on: [other-pipeline]  # in a batch or a scheduled run, start after it succeeded
schedule: "0 3 * * *"       # read by the scheduler; or a mapping:
# schedule: {cron: "0 3 * * *", timezone: Europe/Paris, missed: once}
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from batchyard.errors import ConfigError, NotFound, UsageError
from batchyard.project import MAX_WORKERS, config_text, split_executor

FOLDER = "pipelines"

#: What the scheduler does with the times a schedule passed while no scheduler ran.
MISSED_POLICIES = ("skip", "once", "catch_up")


class ScheduleField(BaseModel):
    """``schedule:`` of a pipeline or a monitor file: a cron expression alone (in UTC, missed
    ``once``), or a mapping with ``cron``, ``timezone`` and ``missed``. The cron expression and the
    time zone are checked where the schedule is made (:mod:`batchyard.schedule.spec`)."""

    model_config = ConfigDict(extra="forbid")

    cron: str = Field(description="Five fields, or six with seconds first; or @daily and such.")
    timezone: str = Field("UTC", description="An IANA time zone name, such as Europe/Paris.")
    missed: Literal["skip", "once", "catch_up"] = Field(
        "once", description="The times passed while no scheduler ran: skip, once or catch_up."
    )

    @model_validator(mode="before")
    @classmethod
    def _cron_alone(cls, value: Any) -> Any:
        return {"cron": value} if isinstance(value, str) else value


class _PipelineFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str
    description: str = ""
    env: str | None = None
    workers: int | None = Field(None, ge=1, le=MAX_WORKERS)
    executor: str | None = None
    retries: int | None = Field(None, ge=0)
    timeout: float | None = Field(None, gt=0)
    stop_on_error: bool | None = None
    params: dict[str, Any] = {}
    tags: list[str] = []
    depends_on: list[str] = []
    schedule: ScheduleField | None = None

    @field_validator("executor")
    @classmethod
    def _known_executor(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                split_executor(value)
            except UsageError as exc:
                raise ValueError(str(exc).removeprefix("executor ")) from None
        return value


@dataclass(frozen=True)
class Pipeline:
    name: str
    path: Path
    kind: str
    description: str = ""
    env: str | None = None
    workers: int | None = None
    executor: str | None = None
    retries: int | None = None
    timeout: float | None = None
    stop_on_error: bool | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    #: The cron expression (five fields, or six with seconds first), its time zone, and what to
    #: do with times missed while no scheduler ran (one of :data:`MISSED_POLICIES`).
    schedule: str | None = None
    timezone: str = "UTC"
    missed: str = "once"

    def options(self) -> dict[str, Any]:
        """The pipeline's level of its jobs' run options (see :mod:`batchyard.engine.options`)."""
        return {
            "workers": self.workers,
            "executor": self.executor,
            "retries": self.retries,
            "timeout": self.timeout,
            "stop_on_error": self.stop_on_error,
            "env": self.env,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "kind": self.kind,
            "description": self.description,
            "env": self.env,
            "workers": self.workers,
            "executor": self.executor,
            "retries": self.retries,
            "timeout": self.timeout,
            "stop_on_error": self.stop_on_error,
            "params": self.params,
            "tags": self.tags,
            "depends_on": self.depends_on,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "missed": self.missed,
        }


def _path(root: Path, name: str) -> Path | None:
    for suffix in (".yaml", ".yml"):
        path = root / FOLDER / f"{name}{suffix}"
        if path.is_file():
            return path
    return None


def exists(root: Path, name: str) -> bool:
    return "/" not in name and _path(root, name) is not None


def load(root: Path, name: str) -> Pipeline:
    """Read ``pipelines/NAME.yaml``; errors name the file and line."""
    path = _path(root, name) if "/" not in name else None
    if path is None:
        raise NotFound(f"no pipeline {name!r} in {root / FOLDER}")
    return load_file(path)


def load_file(path: Path) -> Pipeline:
    text = config_text(path)
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with at least 'kind:'")
    try:
        spec = _PipelineFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        dotted = ".".join(str(p) for p in err["loc"])
        line = _line_of(text, *(str(p) for p in err["loc"])) if err["loc"] else None
        where = f"{path}:{line}" if line else str(path)
        message = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{where}: {dotted}: {message}") from exc
    # YAML gives dates as dates; params are stored as JSON, so keep their text form.
    params = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in spec.params.items()}
    return Pipeline(
        name=path.stem,
        path=path,
        kind=spec.kind,
        description=spec.description,
        env=spec.env,
        workers=spec.workers,
        executor=spec.executor,
        retries=spec.retries,
        timeout=spec.timeout,
        stop_on_error=spec.stop_on_error,
        params=params,
        tags=spec.tags,
        depends_on=spec.depends_on,
        schedule=spec.schedule.cron if spec.schedule else None,
        timezone=spec.schedule.timezone if spec.schedule else "UTC",
        missed=spec.schedule.missed if spec.schedule else "once",
    )


def _line_of(text: str, key: str, *inner: str) -> int | None:
    """The line of top-level ``key``, or of the deepest of the ``inner`` keys found under it."""
    lines = text.splitlines()
    top = [n for n, line in enumerate(lines) if line.startswith(f"{key}:")]
    if not top:
        top = [n for n, line in enumerate(lines) if line.lstrip().startswith(f"{key}:")]
    if not top:
        return None
    found = top[0]
    end = next(
        (n for n in range(found + 1, len(lines)) if lines[n][:1] not in ("", " ", "\t", "#", "-")),
        len(lines),
    )
    for name in inner:
        pattern = re.compile(rf"(^|[\s{{,]){re.escape(name)}\s*:")
        hit = next((n for n in range(found, end) if pattern.search(lines[n])), None)
        if hit is None:
            break
        found = hit
    return found + 1


def where(pipeline: Pipeline, *keys: str) -> str:
    """``path:line`` of a field of the pipeline's file (``where(p, "schedule", "cron")``)."""
    try:
        text = pipeline.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return str(pipeline.path)
    line = _line_of(text, *keys) if keys else None
    return f"{pipeline.path}:{line}" if line else str(pipeline.path)


def list_all(root: Path) -> list[Pipeline]:
    folder = root / FOLDER
    if not folder.is_dir():
        return []
    paths = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    return [load_file(p) for p in paths]
