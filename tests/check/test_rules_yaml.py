"""Rules: the Python API round-trips through YAML, the published JSON Schema is current, and bad
rules are refused with the file, line and column, or the table and column, and a suggestion."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from check_rulesets import RULESETS

from batchyard.check import (
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
    RulesError,
    Sql,
    Suite,
    Type,
    Unique,
)
from batchyard.check.expr import regex_to_glob
from batchyard.check.rules import RULE_NAMES
from conftest import REPO


def every_rule() -> Suite:
    return Suite(
        name="all",
        description="one of each",
        where="season >= 2020",
        tables={
            "bets": [
                NotNull(column="stake", severity="warning", threshold="0.5%", sample=3),
                Unique(columns=["ticket_ref", "match_id"], fix="dedupe"),
                Between(column="stake", min=0.01, max=100_000, inclusive=False),
                In(column="status", values=["won", "lost", 3, None]),
                Regex(column="email", format="email"),
                Regex(column="code", pattern=r"^[A-Z]{2}\d+$", where="code <> ''"),
                Length(column="code", min=2, max=12),
                Type.model_validate({"column": "amount", "as": "number"}),
                References(column="match_id", table="matches", to="id"),
                Expression(expression="status <> 'won' OR payout > 0", name="payout"),
                RowCount(min=1, max=10, severity="info"),
                Freshness(column="placed_at", max_age="36h"),
                Coverage(column="day", start=date(2024, 4, 1), end=date(2024, 9, 30), every="week"),
                Duplicates(columns=None, threshold=10),
                Sql(sql="SELECT * FROM bets WHERE stake > payout"),
            ]
        },
    )


def test_every_rule_type_round_trips_through_yaml_without_loss() -> None:
    suite = every_rule()
    assert {r.kind for r in suite.tables["bets"]} == set(RULE_NAMES)
    text = suite.to_yaml()
    again = Suite.from_yaml(text)
    assert again == suite
    assert again.to_yaml() == text
    assert "rule: not_null" in text and "as: number" in text and "threshold: 0.5%" in text


@pytest.mark.parametrize("name", sorted(RULESETS))
def test_rules_files_load_and_dump_the_same(name: str) -> None:
    suite = Suite.from_yaml(RULESETS[name])
    assert Suite.from_yaml(suite.to_yaml()) == suite


def test_the_published_json_schema_is_current() -> None:
    expected = json.dumps(Suite.json_schema(), indent=2, ensure_ascii=False) + "\n"
    for path in (
        REPO / "src" / "batchyard" / "check" / "rules.schema.json",
        REPO / "docs" / "rules.schema.json",
    ):
        assert path.read_text(encoding="utf-8") == expected, f"regenerate {path}"
    schema = json.loads(expected)
    assert set(schema["required"]) == {"suite", "tables"}
    assert set(RULE_NAMES) <= set(json.dumps(schema["$defs"]).replace('"', " ").split())


def test_thresholds_take_counts_and_percents() -> None:
    assert NotNull(column="a", threshold=3).allows(3, 10)
    assert not NotNull(column="a", threshold=3).allows(4, 10)
    assert NotNull(column="a", threshold="10%").allows(1, 10)
    assert not NotNull(column="a", threshold="10%").allows(2, 10)
    assert not NotNull(column="a").allows(1, 1000)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("suite: s\ntables: [\n", "r.yaml:3:1: not valid YAML"),
        (
            "suite: s\ntables:\n  t:\n    - {rule: nul_null, column: a}\n",
            "r.yaml:4:7: unknown rule type 'nul_null'; did you mean 'not_null'? (valid: not_null, "
            "unique, between",
        ),
        (
            "suite: s\ntables:\n  t:\n    - {rule: between, column: a, mn: 3}\n",
            "did you mean 'min'",
        ),
        ("suite: s\ntables:\n  t:\n    - {rule: between, column: a}\n", "min, max or both"),
        ("suite: s\ntables:\n  t:\n    - {column: a}\n", "a rule needs `rule:`, one of not_null"),
        ("suite: s\ntables:\n  t:\n    - {rule: regex, column: a, pattern: '(('}\n", "r.yaml:4:7"),
        ("suite: s\ntables:\n  t:\n    - {rule: type, column: a}\n", "missing 'as'"),
        ("tables: {}\n", "missing 'suite'"),
        (
            "suite: s\ntables:\n  t:\n    - rule: not_null\n      column: a\n      threshold: lots\n",
            "r.yaml:6:18: tables.t.0.threshold: threshold 'lots'",
        ),
    ],
)
def test_bad_rules_name_the_file_line_and_column(text: str, message: str) -> None:
    with pytest.raises(RulesError) as caught:
        Suite.from_yaml(text, "r.yaml")
    assert message in str(caught.value)


def test_unreadable_rules_file(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read the rules file"):
        Suite.load(tmp_path / "nope.yaml")


def test_simple_regexes_become_globs() -> None:
    assert regex_to_glob(r"^\d{4}-\d{2}-\d{2}$") == "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
    assert regex_to_glob(r"^[A-Z]{2}\.x$") == "[A-Z][A-Z].x"
    assert regex_to_glob(r"^\d+$") is None
    assert regex_to_glob(r"\d{4}") is None


def test_every_rule_type_suggests_a_fix_of_its_own() -> None:
    fixes = {rule.kind: rule.suggested_fix() for rule in every_rule().tables["bets"]}
    assert fixes["unique"] == "dedupe"  # given in the rule
    assert "ticket_ref" not in fixes["not_null"] and "stake" in fixes["not_null"]
    assert "a valid number" in fixes["type"] and "matches" in fixes["references"]
    assert all(fix and "{" not in fix for fix in fixes.values()), fixes
