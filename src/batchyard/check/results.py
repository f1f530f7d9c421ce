"""What a validation finds: per rule, per table and overall, with quality scores.

Score of a table (and overall, over every rule of every table)::

    score = 100 * sum(weight(rule) * passed(rule)) / sum(weight(rule))

with weight 3 for ``error`` rules, 2 for ``warning`` and 1 for ``info``; ``passed`` is 1 when the
rule's failing rows are within its threshold, else 0 (a rule that could not run counts as failed).
A table without rules scores 100.
"""

from __future__ import annotations

import base64
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Any

WEIGHTS = {"error": 3, "warning": 2, "info": 1}


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


@dataclass
class RuleResult:
    name: str
    rule: str
    severity: str
    status: Status
    failing: int = 0
    checked: int = 0
    column: str | None = None
    threshold: int | str = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    fix: str | None = None
    message: str | None = None
    observed: Any = None

    @property
    def percent(self) -> float:
        return round(100.0 * self.failing / self.checked, 4) if self.checked else 0.0

    @property
    def passed(self) -> bool:
        return self.status is Status.PASS

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        out["percent"] = self.percent
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleResult:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["status"] = Status(fields["status"])
        return cls(**fields)


def score(results: list[RuleResult]) -> float:
    total = sum(WEIGHTS.get(r.severity, 1) for r in results)
    if not total:
        return 100.0
    ok = sum(WEIGHTS.get(r.severity, 1) for r in results if r.passed)
    return round(100.0 * ok / total, 1)


def tally(results: list[RuleResult]) -> dict[str, int]:
    """How many rules ended in each status (every status present, 0 or more)."""
    out = {s.value: 0 for s in Status}
    for r in results:
        out[r.status.value] += 1
    return out


@dataclass
class TableResult:
    table: str
    suite: str
    rows: int
    rules: list[RuleResult]
    seconds: float = 0.0

    @property
    def score(self) -> float:
        return score(self.rules)

    @property
    def counts(self) -> dict[str, int]:
        return tally(self.rules)

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "suite": self.suite,
            "rows": self.rows,
            "score": self.score,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "rules": [r.to_dict() for r in self.rules],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TableResult:
        return cls(
            data["table"],
            data.get("suite", ""),
            int(data.get("rows") or 0),
            [RuleResult.from_dict(r) for r in data.get("rules", [])],
            float(data.get("seconds") or 0.0),
        )


def failed_at(results: list[RuleResult], fail_on: str) -> list[RuleResult]:
    """The rules that fail a run at ``fail_on`` (error or warning): failing ones at or above it."""
    floor = WEIGHTS[fail_on]
    return [
        r
        for r in results
        if r.status is Status.ERROR
        or (r.status in (Status.FAIL, Status.WARN) and WEIGHTS.get(r.severity, 1) >= floor)
    ]


def plain(value: Any) -> Any:
    """A value from a database as JSON can carry it."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if isinstance(value, Decimal):
        return (
            float(value) if value == value.to_integral_value() or abs(value) < 1e15 else str(value)
        )
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "base64:" + base64.b64encode(bytes(value)).decode()
    if isinstance(value, Enum):
        return value.value
    return str(value)
