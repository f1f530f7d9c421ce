"""``batchyard validate`` and ``batchyard data quality``: exit codes, every report format, --where,
--table, the trend against the previous run, bad input, and the job kind (items are tables)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from check_rulesets import SPORTS
from typer.testing import CliRunner

import batchyard as by
from batchyard.cli import app as cli_app
from batchyard.db import ENGINES

WARN_ONLY = """\
suite: warn-only
tables:
  bets:
    - {rule: between, column: stake, min: 0.01, max: 100000, severity: warning}
    - {rule: not_null, column: bet_id}
"""


@pytest.fixture(scope="module")
def sports(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sports database with planted defects (made once for the module)."""
    root = tmp_path_factory.mktemp("sports")
    with by.Batchyard(root=root) as app:
        job = app.run(
            "generate",
            {
                "dataset": "sports",
                "to": str(root / "sports.db"),
                "scale": "0.01",
                "inject_errors": 0.03,
            },
            install_signals=False,
        )
        assert job.status.value == "completed"
    ENGINES.dispose()
    return root / "sports.db"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "sports.yaml").write_text(SPORTS)
    (tmp_path / "warn.yaml").write_text(WARN_ONLY)
    yield tmp_path
    ENGINES.dispose()


def run(project: Path, *args: str) -> Any:
    return CliRunner().invoke(cli_app, ["-C", str(project), *args], catch_exceptions=False)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_failing_rules_exit_1_and_the_table_shows_them(project: Path, sports: Path) -> None:
    before = digest(sports)
    result = run(project, "validate", str(sports), "--rules", str(project / "sports.yaml"))
    assert result.exit_code == 1, result.output
    assert "not_null(pitcher_id)" in result.output and "fail" in result.output
    assert "score" in result.output and "failing at error" in result.output
    assert digest(sports) == before, "validation changed the data"


def test_fail_on_decides_whether_warnings_fail_the_run(project: Path, sports: Path) -> None:
    rules = str(project / "warn.yaml")
    ok = run(project, "validate", str(sports), "--rules", rules)
    assert ok.exit_code == 0, ok.output
    strict = run(project, "validate", str(sports), "--rules", rules, "--fail-on", "warning")
    assert strict.exit_code == 1, strict.output
    assert "bets.between(stake)" in strict.output


def test_json_report_counts_scores_and_samples(project: Path, sports: Path) -> None:
    result = run(
        project, "validate", str(sports), "--rules", str(project / "sports.yaml"), "-f", "json"
    )
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["suite"] == "sports-defects" and report["version"] == 1
    tables = {t["table"]: t for t in report["tables"]}
    assert set(tables) == {"players", "matches", "bets", "statcast"}
    rules = {r["name"]: r for r in tables["bets"]["rules"]}
    stake = rules["not_null(stake)"]
    assert stake["status"] == "fail" and stake["failing"] > 0
    assert stake["percent"] == round(100 * stake["failing"] / tables["bets"]["rows"], 4)
    assert 0 < len(stake["samples"]) <= 5 and set(stake["samples"][0]) == {"bet_id", "stake"}
    assert stake["fix"]
    assert rules["in(status)"]["status"] == "pass" and rules["in(status)"]["samples"] == []
    # The warning-severity rule fails as "warn"; the score weighs it less than an error.
    assert rules["unique(ticket_ref)"]["status"] == "warn"
    assert 0 <= report["score"] < 100 and report["trend"] is None


def test_where_filters_every_rule(project: Path, sports: Path) -> None:
    conn = sqlite3.connect(sports)
    expected = conn.execute(
        "SELECT count(*) FROM statcast s JOIN matches m USING (match_id) "
        "WHERE m.season = 2024 AND s.pitcher_id IS NULL"
    ).fetchone()[0]
    ids = conn.execute(
        "SELECT min(match_id), max(match_id) FROM matches WHERE season = 2024"
    ).fetchone()
    conn.close()
    where = f"match_id BETWEEN {ids[0]} AND {ids[1]}"
    result = run(
        project, "validate", str(sports), "--rules", str(project / "sports.yaml"),
        "--table", "statcast", "--where", where, "-f", "json",
    )  # fmt: skip
    report = json.loads(result.stdout)
    assert [t["table"] for t in report["tables"]] == ["statcast"]
    rules = {r["name"]: r for r in report["tables"][0]["rules"]}
    assert rules["not_null(pitcher_id)"]["failing"] == expected


def test_markdown_junit_and_html_reports_with_the_trend(project: Path, sports: Path) -> None:
    rules = str(project / "sports.yaml")
    md = run(project, "validate", str(sports), "--rules", rules, "-f", "md")
    assert md.stdout.startswith("# Validation: sports-defects")
    assert "| not_null(pitcher_id) | error | fail |" in md.stdout
    junit = run(project, "validate", str(sports), "--rules", rules, "-o", str(project / "r.xml"))
    root = ET.parse(project / "r.xml").getroot()
    assert root.tag == "testsuites" and int(root.get("failures", "0")) > 0
    names = {s.get("name") for s in root.iter("testsuite")}
    assert names == {"players", "matches", "bets", "statcast"}
    assert junit.exit_code == 1
    html_path = project / "report.html"
    result = run(project, "validate", str(sports), "--rules", rules, "--output", str(html_path))
    assert result.exit_code == 1
    html = html_path.read_text()
    assert not re.search(r"https?://", html), "the report must not load anything"
    assert "<script" not in html and "<link" not in html
    for part in ('id="scores"', 'id="trend"', 'id="rules"', "not_null(pitcher_id)", "samples of"):
        assert part in html, part
    assert "Since the previous run" in html and "<svg" in html


def test_trend_compares_with_the_previous_run_of_the_suite(project: Path, sports: Path) -> None:
    rules = project / "sports.yaml"
    first = json.loads(run(project, "validate", str(sports), "-r", str(rules), "-f", "json").stdout)
    assert first["trend"] is None
    # The next run drops a failing rule: the score rises, and the trend says by how much.
    rules.write_text(SPORTS.replace("    - {rule: not_null, column: pitcher_id}\n", ""))
    second = json.loads(
        run(project, "validate", str(sports), "-r", str(rules), "-f", "json").stdout
    )
    trend = second["trend"]
    assert trend["job"] == first["job"] and trend["score"] == first["score"]
    assert trend["delta"] == round(second["score"] - first["score"], 1) > 0
    statcast = trend["tables"]["statcast"]
    assert statcast["delta"] > 0 and "not_null(pitcher_id)" not in statcast["rules"]
    assert statcast["rules"]["references(batter_id)"]["delta"] == 0
    quality = run(project, "data", "quality", "--json")
    assert quality.exit_code == 0, quality.output
    rows = json.loads(quality.stdout)
    assert [r["suite"] for r in rows] == ["sports-defects"]
    assert rows[0]["job"] == second["job"] and rows[0]["history"] == [
        second["score"],
        first["score"],
    ]
    assert rows[0]["delta"] == trend["delta"]
    table = run(project, "data", "quality")
    assert "sports-defects" in table.output
    other = run(project, "data", "quality", "--suite", "other", "--json")
    assert json.loads(other.stdout) == []


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            "suite: s\ntables:\n  bet:\n    - {rule: not_null, column: stake}\n",
            "has no table 'bet'; did you mean 'bets'?",
        ),
        (
            "suite: s\ntables:\n  bets:\n    - {rule: not_null, column: stak}\n",
            "table 'bets' has no column 'stak'; did you mean 'stake'?",
        ),
        (
            "suite: s\ntables:\n  bets:\n    - {rule: expression, expression: 'stake >'}\n",
            "is not valid SQL at line 1, column",
        ),
        (
            "suite: s\ntables:\n  bets:\n    - {rule: expression, expression: 'stakes > 0'}\n",
            "no column 'stakes'; did you mean 'stake'?",
        ),
        (
            "suite: s\ntables:\n  bets:\n    - {rule: sql, sql: 'DELETE FROM bets'}\n",
            "checks and exports never change data",
        ),
        (
            "suite: s\ntables:\n  bets:\n    - {rule: references, column: match_id, table: match}\n",
            "has no table 'match'; did you mean 'matches'?",
        ),
        (
            "suite: s\ntables:\n  bets:\n    - {rule: nul_null, column: stake}\n",
            "unknown rule type 'nul_null'; did you mean 'not_null'? (valid: not_null",
        ),
    ],
)
def test_bad_input_exits_2_with_one_clear_message_and_writes_nothing(
    project: Path, sports: Path, rules: str, message: str
) -> None:
    (project / "bad.yaml").write_text(rules)
    result = run(project, "validate", str(sports), "--rules", str(project / "bad.yaml"))
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert not (project / ".batchyard").exists(), "bad input left a store behind"


def test_bad_where_and_options(project: Path, sports: Path) -> None:
    rules = str(project / "sports.yaml")
    where = run(project, "validate", str(sports), "-r", rules, "--where", "sesaon = 2024")
    assert where.exit_code == 2 and "no column 'sesaon'" in where.output
    fmt = run(project, "validate", str(sports), "-r", rules, "-f", "pdf")
    assert fmt.exit_code == 2 and "--format 'pdf'" in fmt.output
    table = run(project, "validate", str(sports), "-r", rules, "--table", "bet")
    assert table.exit_code == 2 and "did you mean 'bets'" in table.output


def test_the_report_goes_into_a_new_folder_and_a_folder_is_not_a_file(
    project: Path, sports: Path
) -> None:
    rules = str(project / "sports.yaml")
    for name in ("report.txt", "report.json"):
        out = project / "reports" / name.split(".")[1] / name
        result = run(project, "validate", str(sports), "-r", rules, "-o", str(out))
        assert result.exit_code == 1 and out.read_text().strip(), result.output
    folder = project / "reports"
    result = run(project, "validate", str(sports), "-r", rules, "-o", str(folder))
    assert result.exit_code == 2 and "is a folder" in result.output, result.output
    with by.Batchyard(root=project) as app:
        assert app.jobs()[1] == 2  # the refused run recorded nothing


def test_json_is_the_json_report(project: Path, sports: Path) -> None:
    rules = str(project / "sports.yaml")
    result = run(project, "validate", str(sports), "-r", rules, "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["suite"] == "sports-defects"
    both = run(project, "validate", str(sports), "-r", rules, "--json", "-f", "md")
    assert both.exit_code == 2 and "--json" in both.output


SLOW = (
    "    - rule: sql\n      name: slow\n      sql: WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL "
    "SELECT n + 1 FROM c WHERE n < 300000) SELECT n FROM c WHERE n < 0\n"
)


def test_the_job_kind_runs_tables_as_items_and_resumes(project: Path, sports: Path) -> None:
    import threading
    import time

    from batchyard.engine.context import StopFlag

    tables = ["players", "matches", "bets", "statcast"]
    text = "suite: slow\ntables:\n" + "".join(f"  {t}:\n{SLOW}" for t in tables)
    (project / "slow.yaml").write_text(text)
    with by.Batchyard(root=project) as app:
        params = {"target": str(sports), "rules": str(project / "slow.yaml")}
        job = app.submit("validate", params, workers=1, metadata={"suite": "slow"})
        assert [i.key for i in app.items(job.id, limit=None)[0]] == tables
        stop = StopFlag()
        ended: list[Any] = []
        runner = threading.Thread(
            target=lambda: ended.append(app.execute(job.id, install_signals=False, stop=stop))
        )
        runner.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
            i.status.value == "done" for i in app.items(job.id, limit=None)[0]
        ):
            time.sleep(0.01)
        stop.set()
        runner.join(60)
        assert ended and ended[0].status.value == "paused"
        first = {i.key: i for i in app.items(job.id, limit=None)[0] if i.status.value == "done"}
        assert 1 <= len(first) < len(tables)
        done = app.execute(job.id, install_signals=False)
        assert done.status.value == "completed", done.error
        after = {i.key: i for i in app.items(job.id, limit=None)[0]}
        for key, item in first.items():  # tables done before the pause were not run again
            assert after[key].finished_at == item.finished_at and after[key].attempts == 1
        assert all(i.result["rules"][0]["status"] == "pass" for i in after.values())


def test_a_run_of_the_kind_counts_for_the_trend(project: Path, sports: Path) -> None:
    rules = str(project / "warn.yaml")
    first = run(project, "run", "validate", "-p", f"target={sports}", "-p", f"rules={rules}")
    assert first.exit_code == 0, first.output
    with by.Batchyard(root=project) as app:
        (job,), _ = app.jobs()
    second = json.loads(run(project, "validate", str(sports), "-r", rules, "-f", "json").stdout)
    assert second["trend"]["job"] == job.id and second["trend"]["delta"] == 0


def test_rules_by_name_from_the_projects_rules_folder(project: Path, sports: Path) -> None:
    (project / "rules").mkdir()
    (project / "rules" / "bets.yaml").write_text(WARN_ONLY)
    result = run(project, "validate", str(sports), "--rules", "bets", "-f", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["suite"] == "warn-only"
    missing = run(project, "validate", str(sports), "--rules", "nope")
    assert missing.exit_code == 2 and "cannot read the rules file" in missing.output
