"""A validation report: every table's results, the overall score, the trend since the last run
and the history of the suite's runs.

``Report.to_dict()`` is the JSON report (its fields are documented in docs/validate.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchyard.check.results import RuleResult, TableResult, failed_at, score, tally

REPORT_VERSION = 1


def delta(value: float | int | None, *, good_when_up: bool = True) -> str:
    """A change since the run before, as shown: ``▲2.5``, ``▼1``, ``±0``."""
    if value is None:
        return ""
    if value == 0:
        return "±0"
    arrow = "▲" if value > 0 else "▼"
    return f"{arrow}{abs(value):g}"


@dataclass
class Report:
    suite: str
    target: str
    tables: list[TableResult]
    job: str | None = None
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    trend: dict[str, Any] | None = None
    errors: list[dict[str, str]] = field(default_factory=list)
    #: The suite's runs on this target up to this one, oldest first (``history.scores``).
    history: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rules(self) -> list[RuleResult]:
        return [r for t in self.tables for r in t.rules]

    @property
    def score(self) -> float:
        return score(self.rules)

    @property
    def counts(self) -> dict[str, int]:
        return tally(self.rules)

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)

    def failed(self, fail_on: str = "error") -> list[tuple[str, RuleResult]]:
        """``(table, rule)`` for each rule that fails the run at ``fail_on``."""
        return [(t.table, r) for t in self.tables for r in failed_at(t.rules, fail_on)]

    def passed(self, fail_on: str = "error") -> bool:
        return not self.errors and not self.failed(fail_on)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "suite": self.suite,
            "target": self.target,
            "job": self.job,
            "created_at": self.created_at,
            "score": self.score,
            "rows": self.rows,
            "counts": self.counts,
            "tables": [t.to_dict() for t in self.tables],
            "trend": self.trend,
            "errors": self.errors,
            "history": self.history,
        }
