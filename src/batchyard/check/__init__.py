"""Validation: rules (YAML or the typed classes here), pushed down to SQL, scored and reported.

from batchyard.check import Suite, NotNull, Between
suite = Suite(name="bets", tables={"bets": [NotNull(column="stake"), Between(column="stake", min=0)]})
"""

from batchyard.check.report import Report
from batchyard.check.results import RuleResult, Status, TableResult
from batchyard.check.rules import (
    Between,
    Coverage,
    Duplicates,
    Expression,
    Freshness,
    In,
    Length,
    NotNull,
    References,
    Regex,
    RowCount,
    Severity,
    Sql,
    Type,
    Unique,
)
from batchyard.check.suite import Suite
from batchyard.errors import RulesError

__all__ = [
    "Between",
    "Coverage",
    "Duplicates",
    "Expression",
    "Freshness",
    "In",
    "Length",
    "NotNull",
    "References",
    "Regex",
    "Report",
    "RowCount",
    "RuleResult",
    "RulesError",
    "Severity",
    "Sql",
    "Status",
    "Suite",
    "TableResult",
    "Type",
    "Unique",
]
