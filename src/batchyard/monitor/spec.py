"""Monitors as declared: ``monitors/NAME.yaml`` (or Python), checked by Pydantic models.

description: Scraped game files
schedule: "0 * * * *"   # the scheduler checks it hourly; or {cron, timezone, missed}
metrics:
  - name: games
    type: file_count
    path: s3://landing/games/{date:%Y/%m/%d}/
    glob: "*.json"
    thresholds:
      - {below: 100, level: fail}
    anomaly: {sensitivity: 4, seasonality: daily}

Each metric type measures one or more *values* (``file_count``: ``files`` and ``bytes``); each
value is a series named ``NAME.VALUE``. Thresholds and anomaly detection apply to the metric's main
value unless ``value:`` (``values:``) names another. Errors name ``file:line``, the metric and the field.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    model_validator,
)

from batchyard.check.suite import find_node
from batchyard.errors import ConfigError, NotFound
from batchyard.pipelines import ScheduleField
from batchyard.project import config_text

FOLDER = "monitors"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: Any) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d``, ``2w`` (or seconds as a number)."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=float(value))
    match = _DURATION.fullmatch(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration: write it like 30m, 24h, 7d or 2w")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def format_duration(value: timedelta) -> str:
    seconds = value.total_seconds()
    for unit in ("w", "d", "h", "m"):
        if seconds >= _UNITS[unit] and seconds % _UNITS[unit] == 0:
            return f"{int(seconds // _UNITS[unit])}{unit}"
    return f"{seconds:g}s"


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Threshold(_Model):
    """When a value warns or fails: above, below or outside a bound, compared as the value itself
    or as its change (absolute or percent) against a baseline."""

    level: Literal["warn", "fail"] = "fail"
    value: str | None = Field(None, description="The value it applies to (default: the main one).")
    above: float | None = None
    below: float | None = None
    outside: tuple[float, float] | None = Field(
        None, description="[low, high]: the value must stay within."
    )
    compare: Literal["value", "change", "change_pct"] = Field(
        "value", description="The value itself, or its change (absolute or %) from the baseline."
    )
    baseline: Literal["previous", "24h", "7d"] = Field(
        "previous", description="For changes: the previous value, or the median of a window."
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        given = [n for n in ("above", "below", "outside") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("a threshold takes exactly one of above, below or outside")
        if self.outside is not None and not self.outside[0] < self.outside[1]:
            raise ValueError(
                f"outside: [{self.outside[0]:g}, {self.outside[1]:g}] can never hold: "
                "give [low, high] with low < high"
            )
        if self.compare == "change_pct" and self.below is not None and self.below <= -100:
            raise ValueError(
                f"below: {self.below:g}: a value cannot fall by more than 100%, so this "
                "threshold can never trip"
            )
        return self

    def describe(self) -> str:
        what = {"value": "", "change": "change ", "change_pct": "change % "}[self.compare]
        if self.above is not None:
            bound = f"above {self.above:g}"
        elif self.below is not None:
            bound = f"below {self.below:g}"
        else:
            assert self.outside is not None
            bound = f"outside [{self.outside[0]:g}, {self.outside[1]:g}]"
        against = f" vs {self.baseline}" if self.compare != "value" else ""
        return f"{self.level}: {what}{bound}{against}"


SENSITIVITY = {"low": 5.0, "medium": 4.0, "high": 3.0}


class AnomalySpec(_Model):
    """Anomaly detection over a trailing window: robust (median and MAD), seasonal if asked."""

    values: list[str] | None = Field(None, description="Values to watch (default: the main one).")
    sensitivity: float = Field(
        4.0,
        gt=0,
        description="How many robust standard deviations from the expected value make an "
        "anomaly (smaller flags more); or low (5), medium (4), high (3).",
    )
    min_history: int = Field(
        24, ge=3, description="Observations needed before a value is judged at all."
    )
    window: Duration = Field(
        timedelta(days=35), description="How far back the baseline looks (default 35d)."
    )
    seasonality: Literal["none", "daily", "weekly", "auto"] = Field(
        "auto",
        description="Compare with the same hour of earlier days (daily) or the same hour and "
        "weekday of earlier weeks (weekly); auto picks what the history allows.",
    )
    adapt_after: int = Field(
        24,
        ge=2,
        description="After this many anomalies in a row on the same side, the new level is "
        "taken as normal.",
    )

    @model_validator(mode="before")
    @classmethod
    def _named_sensitivity(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("sensitivity"), str):
            word = data["sensitivity"]
            if word not in SENSITIVITY:
                raise ValueError(
                    f"sensitivity {word!r}: use a number, or one of {', '.join(SENSITIVITY)}"
                )
            data = {**data, "sensitivity": SENSITIVITY[word]}
        return data


class Value(BaseModel):
    """One value a metric type measures: which way is better, and the range it can take."""

    name: str
    better: Literal["up", "down"]
    low: float | None = 0.0
    high: float | None = None
    unit: str = ""


def _v(name: str, better: Literal["up", "down"], **kw: Any) -> Value:
    return Value(name=name, better=better, **kw)


#: What each metric type measures; the first value is its main one.
VALUES: dict[str, list[Value]] = {
    "file_count": [_v("files", "up"), _v("bytes", "up", unit="B")],
    "json_validity": [
        _v("valid_pct", "up", high=100.0, unit="%"),
        _v("invalid", "down"),
        _v("empty", "down"),
        _v("checked", "up"),
    ],
    "freshness": [_v("age_s", "down", low=None, unit="s")],
    "null_rate": [_v("null_pct", "down", high=100.0, unit="%")],
    "row_count": [_v("rows", "up")],
    "duplicates": [_v("duplicates", "down")],
    "sql": [_v("value", "up", low=None)],
    "suite_score": [_v("score", "up", high=100.0)],
    "job_health": [
        _v("success_rate", "up", high=1.0),
        _v("failures", "down"),
        _v("last_success_age_s", "down", unit="s"),
        _v("p50_s", "down", unit="s"),
        _v("p95_s", "down", unit="s"),
        _v("rows_per_s", "up"),
    ],
}


class _Metric(_Model):
    name: str | None = Field(
        None, pattern=_NAME, description="Names the metric's series (default: its type)."
    )
    description: str = ""
    thresholds: list[Threshold] = []
    anomaly: AnomalySpec | bool | None = Field(
        None, description="true, or the detector's settings; leave out for none."
    )

    @property
    def label(self) -> str:
        return self.name or str(getattr(self, "type", "metric"))

    def values(self) -> list[Value]:
        found = VALUES[str(getattr(self, "type", ""))]
        better = getattr(self, "better", None)
        return [v.model_copy(update={"better": better}) for v in found] if better else found

    def value_named(self, name: str | None) -> Value:
        return next(v for v in self.values() if name in (None, v.name))

    @model_validator(mode="after")
    def _thresholds_can_hold(self) -> _Metric:
        names = [v.name for v in self.values()]
        spec = self.anomaly_spec()
        for i, t in enumerate(self.thresholds):
            if t.value is not None and t.value not in names:
                raise ValueError(
                    f"thresholds[{i}].value: {self.label} has no value {t.value!r} (it has: "
                    f"{', '.join(names)})"
                )
            problem = _never(t, self.value_named(t.value))
            if problem:
                raise ValueError(f"thresholds[{i}]: {t.describe()} can never hold: {problem}")
        for a, b in ((a, b) for a in self.thresholds for b in self.thresholds):
            same = (a.value, a.compare, a.baseline) == (b.value, b.compare, b.baseline)
            if same and a.level == "warn" and b.level == "fail" and _shadows(b, a):
                raise ValueError(
                    f"thresholds: {a.describe()} can never hold: {b.describe()} trips first; "
                    "a warning bound must be looser than the failing one"
                )
        for name in (spec.values or []) if spec else []:
            if name not in names:
                raise ValueError(
                    f"anomaly.values: {self.label} has no value {name!r} (it has: {', '.join(names)})"
                )
        return self

    def anomaly_spec(self) -> AnomalySpec | None:
        if self.anomaly is True:
            return AnomalySpec()
        return self.anomaly if isinstance(self.anomaly, AnomalySpec) else None


class _Files(_Metric):
    path: str = Field(
        description="A folder, or an fsspec URL (s3://, gs://, file://); may hold a partition "
        "template such as {date:%Y/%m/%d}."
    )
    glob: str = Field("*", description="Which file names count (a glob, matched on the name).")
    recursive: bool = True
    date: str = Field(
        "today",
        description="The date a {date:...} template is filled with: today, yesterday, -Nd or "
        "YYYY-MM-DD (UTC).",
    )
    storage_options: dict[str, Any] = Field(
        {}, description="fsspec options (endpoint_url, anon...); ${VAR} reads the environment."
    )


class FileCount(_Files):
    """How many files there are, and their total bytes."""

    type: Literal["file_count"] = "file_count"


class JsonValidity(_Files):
    """How many files (a seeded sample, or all) are valid JSON or JSON Lines."""

    type: Literal["json_validity"] = "json_validity"
    glob: str = "*.json"
    sample: int | None = Field(None, ge=1, description="Check N files picked at random (seeded).")
    seed: int = 0
    lines: bool | None = Field(
        None, description="JSON Lines (one document a line); default: by .jsonl/.ndjson suffix."
    )
    show: int = Field(20, ge=0, le=1000, description="How many invalid files to name.")


class _Table(_Metric):
    connection: str = Field(
        "default", description="A connection of batchyard.toml, a URL or a database file."
    )
    table: str
    where: str | None = Field(None, description="A SQL condition: only these rows count.")


class Freshness(_Metric):
    """Age in seconds of the newest file, or of the newest value of a timestamp column."""

    type: Literal["freshness"] = "freshness"
    path: str | None = None
    glob: str = "*"
    recursive: bool = True
    date: str = "today"
    storage_options: dict[str, Any] = {}
    connection: str = "default"
    table: str | None = None
    column: str | None = None
    where: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Freshness:
        if (self.path is None) == (self.table is None):
            raise ValueError("freshness takes either path (files) or table and column")
        if self.table is not None and not self.column:
            raise ValueError("freshness of a table needs column (its timestamp column)")
        return self


class NullRate(_Table):
    """The percent of rows where each column is null."""

    type: Literal["null_rate"] = "null_rate"
    columns: list[str] = Field(min_length=1)


class RowCount(_Table):
    """How many rows the table has (matching ``where``)."""

    type: Literal["row_count"] = "row_count"


class Duplicates(_Table):
    """Rows beyond the first for each value of the key columns."""

    type: Literal["duplicates"] = "duplicates"
    key: list[str] = Field(min_length=1)


class Sql(_Metric):
    """A number a query returns (first column of the first row)."""

    type: Literal["sql"] = "sql"
    connection: str = "default"
    query: str = Field(min_length=1)
    better: Literal["up", "down"] = Field(
        "up", description="Whether a higher value is better (for trends)."
    )


class SuiteScore(_Metric):
    """The quality score (0-100) of a validation suite on a target."""

    type: Literal["suite_score"] = "suite_score"
    target: str
    rules: str
    tables: list[str] = []


class JobHealth(_Metric):
    """How a job kind is doing per env: success rate, failures, last success, durations, rows/s."""

    type: Literal["job_health"] = "job_health"
    kinds: list[str] = Field([], description="Job kinds or pipeline names (default: all).")
    envs: list[str] = []
    window: Duration = Field(timedelta(days=1), description="The window the figures cover.")


MetricSpec = Annotated[
    FileCount
    | JsonValidity
    | Freshness
    | NullRate
    | RowCount
    | Duplicates
    | Sql
    | SuiteScore
    | JobHealth,
    Field(discriminator="type"),
]
METRIC_TYPES = (
    "file_count",
    "json_validity",
    "freshness",
    "null_rate",
    "row_count",
    "duplicates",
    "sql",
    "suite_score",
    "job_health",
)


class Monitor(_Model):
    """A named set of metrics, measured together each time the monitor runs."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    schedule: ScheduleField | None = Field(
        None,
        description="When the scheduler runs it: a cron expression, or {cron, timezone, missed} "
        "(as a pipeline's).",
    )
    metrics: list[MetricSpec] = Field(min_length=1)
    path: str | None = Field(None, description="The file it was read from.", exclude=True)

    @model_validator(mode="after")
    def _unique_names(self) -> Monitor:
        seen: set[str] = set()
        for metric in self.metrics:
            if metric.label in seen:
                raise ValueError(
                    f"two metrics are named {metric.label!r}; give one a name: of its own"
                )
            seen.add(metric.label)
        return self

    def thresholds_of(self, series: str) -> list[Threshold]:
        """The thresholds on a series' value itself (``NAME.VALUE``), not on its change: the
        bounds a chart of the series can draw."""
        label, _, value = series.rpartition(".")
        for metric in self.metrics:
            if metric.label == label:
                main = metric.values()[0].name
                return [
                    t
                    for t in metric.thresholds
                    if (t.value or main) == value and t.compare == "value"
                ]
        return []

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {
            "name": self.name
        }

    @staticmethod
    def json_schema() -> dict[str, Any]:
        schema = Monitor.model_json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["title"] = "batchyard monitor"
        return schema


def _never(t: Threshold, value: Value) -> str | None:
    """Why threshold ``t`` can never trip on ``value`` (its range), or None."""
    if t.compare != "value":
        return None
    low, high = value.low, value.high
    if t.below is not None and low is not None and t.below <= low:
        return f"{value.name} is never below {low:g}"
    if t.above is not None and high is not None and t.above >= high:
        return f"{value.name} is never above {high:g}"
    if (
        t.outside is not None
        and low is not None
        and high is not None
        and t.outside[0] <= low
        and t.outside[1] >= high
    ):
        return f"{value.name} is always within [{low:g}, {high:g}]"
    return None


def _shadows(fail: Threshold, warn: Threshold) -> bool:
    """True when every value that trips ``warn`` trips ``fail`` too."""
    if warn.below is not None and fail.below is not None:
        return fail.below >= warn.below
    if warn.above is not None and fail.above is not None:
        return fail.above <= warn.above
    return False


# -- reading files ---------------------------------------------------------------------------------


def folder(root: Path) -> Path:
    return root / FOLDER


def list_files(root: Path) -> list[Path]:
    where = folder(root)
    if not where.is_dir():
        return []
    return sorted([*where.glob("*.yaml"), *where.glob("*.yml")])


def load_file(path: Path) -> Monitor:
    """Read one monitor file; errors name ``file:line``, the metric and the field."""
    return from_yaml(config_text(path), path.stem, str(path))


def from_yaml(text: str, name: str, source: str = "<monitor>") -> Monitor:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.SafeLoader(text).construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict) or node is None:
        raise ConfigError(f"{source}: a monitor file is a mapping with `metrics:` (a list)")
    if "name" in data and data["name"] != name:
        raise ConfigError(f"{source}: name: a monitor is named by its file ({name!r})")
    try:
        return Monitor.model_validate({**data, "name": name, "path": source})
    except ValidationError as exc:
        raise ConfigError(explain(exc, node, source)) from None


def explain(exc: ValidationError, root: yaml.Node | None, source: str) -> str:
    """One line for the first error: where (file:line), which metric and field, and why."""
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if not (isinstance(p, str) and p in METRIC_TYPES)]
    named = re.match(r"(?:Value error, )?(thresholds)\[(\d+)\]", str(err["msg"]))
    line_loc = [*loc, named.group(1), int(named.group(2))] if named else loc
    node, _ = (
        find_node(root, line_loc, key=err["type"] == "extra_forbidden", skip_missing=False)
        if root
        else (None, [])
    )
    where = f"{source}:{node.start_mark.line + 1}" if node is not None else source
    place = _place(loc, root)
    kind = err["type"]
    if kind == "union_tag_invalid":
        tag = str((err.get("ctx") or {}).get("tag", ""))
        close = difflib.get_close_matches(tag, METRIC_TYPES, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (
            f"{where}: {place}.type: unknown metric type {tag!r}{hint} "
            f"(valid: {', '.join(METRIC_TYPES)})"
        )
    if kind == "union_tag_not_found":
        return f"{where}: {place}: a metric needs `type:`, one of {', '.join(METRIC_TYPES)}"
    if kind == "extra_forbidden":
        return f"{where}: {place}: unknown field"
    if kind == "missing":
        return f"{where}: {place}: missing"
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{where}: {place}: {msg}"


def where(monitor: Monitor, *loc: str | int) -> str:
    """``path:line`` of a field of the monitor's file (``where(m, "schedule", "cron")``); a monitor
    declared in Python is named as such."""
    if monitor.path is None:
        return f"monitor {monitor.name} (declared in Python)"
    try:
        root = yaml.compose(Path(monitor.path).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return monitor.path
    if root is None:
        return monitor.path
    node, _ = find_node(root, loc, skip_missing=False)
    return f"{monitor.path}:{node.start_mark.line + 1}"


def _place(loc: Sequence[Any], root: yaml.Node | None) -> str:
    """``metrics[2] (games).thresholds[0].below``: list positions, and the metric's name."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
            if i == 1 and loc[0] == "metrics" and root is not None:
                node, _ = find_node(root, ["metrics", part, "name"], skip_missing=False)
                named = getattr(node, "value", None)
                if isinstance(named, str) and node is not root:
                    out += f" ({named})"
        else:
            out += ("." if out else "") + str(part)
    return out or "the file"


# -- the project's monitors -------------------------------------------------------------------------

#: Monitors declared in Python (a project's jobs.py): ``batchyard.monitor.add(Monitor(...))``.
DECLARED: dict[str, Monitor] = {}


def add(monitor: Monitor) -> Monitor:
    """Declare a monitor in Python; it sits beside those of ``monitors/*.yaml``."""
    DECLARED[monitor.name] = monitor
    return monitor


def load_all(root: Path) -> list[Monitor]:
    """The project's monitors: ``monitors/*.yaml`` and those declared in Python, by name."""
    found = {m.name: m for m in DECLARED.values()}
    for path in list_files(root):
        monitor = load_file(path)
        if monitor.name in found and found[monitor.name].path != str(path):
            raise ConfigError(f"{path}: a monitor named {monitor.name!r} is declared twice")
        found[monitor.name] = monitor
    return [found[k] for k in sorted(found)]


def pick(root: Path, names: Sequence[str]) -> list[Monitor]:
    """The monitors named (all of them if none are); an unknown name is :class:`NotFound`.
    Only the files named are read, so one broken monitor does not stop the others."""
    if not names:
        return load_all(root)
    files = {p.stem: p for p in list_files(root)}
    out = []
    for name in names:
        if name in files:
            out.append(load_file(files[name]))
        elif name in DECLARED:
            out.append(DECLARED[name])
        else:
            listed = ", ".join(sorted({*files, *DECLARED})) or f"none: add one in {folder(root)}"
            raise NotFound(f"no monitor {name!r} (monitors: {listed})")
    return out
