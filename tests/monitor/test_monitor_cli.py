"""``batchyard monitor`` end to end on a SQLite project: every metric type against values the test
computes itself, history, the report's formats, and bad input refused before anything is written."""

from __future__ import annotations

import json
import sqlite3
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "cli"))
from cli_helpers import as_json, invoke, ok

from batchyard.db import ENGINES

WAREHOUSE = """
CREATE TABLE bets (id INTEGER PRIMARY KEY, match_id INTEGER, stake REAL, odds REAL, placed_at TEXT);
"""

RULES = """\
suite: bets
tables:
  bets:
    - {rule: not_null, column: stake}
    - {rule: between, column: odds, min: 1.01, max: 1000}
"""

MONITOR = """\
description: The bets table and the landing folder
metrics:
  - name: bets
    type: row_count
    connection: warehouse
    table: bets
    thresholds:
      - {below: 10, level: fail}
  - name: recent
    type: row_count
    connection: warehouse
    table: bets
    where: "id > 50"
  - name: nulls
    type: null_rate
    connection: warehouse
    table: bets
    columns: [stake, odds]
    thresholds:
      - {above: 5, level: warn, value: null_pct}
  - name: dupes
    type: duplicates
    connection: warehouse
    table: bets
    key: [match_id]
  - name: big
    type: sql
    connection: warehouse
    query: "SELECT count(*) FROM bets WHERE stake > 50"
    better: down
  - name: placed
    type: freshness
    connection: warehouse
    table: bets
    column: placed_at
  - name: quality
    type: suite_score
    target: warehouse
    rules: bets
  - name: files
    type: file_count
    path: landing
    glob: "*.json"
    thresholds:
      - {compare: change_pct, below: -50, level: fail}
  - name: jobs
    type: job_health
    kinds: [monitor]
"""


@pytest.fixture
def project(tmp_path: Path) -> Any:
    root = tmp_path / "proj"
    (root / "monitors").mkdir(parents=True)
    (root / "rules").mkdir()
    (root / "landing").mkdir()
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "mon"\n\n[connections]\nwarehouse = "sqlite:///{root / "wh.db"}"\n'
    )
    with sqlite3.connect(root / "wh.db") as con:
        con.executescript(WAREHOUSE)
        for i in range(1, 101):
            stake = None if i % 10 == 0 else float(i)
            odds = None if i % 25 == 0 else (0.5 if i == 7 else 1.5)
            placed = (datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=i)).isoformat()
            con.execute("INSERT INTO bets VALUES (?, ?, ?, ?, ?)", (i, i // 3, stake, odds, placed))
    con.close()
    for i in range(12):
        (root / "landing" / f"f{i}.json").write_text("{}")
    (root / "rules" / "bets.yaml").write_text(RULES)
    (root / "monitors" / "warehouse.yaml").write_text(MONITOR)
    yield root
    ENGINES.dispose()


def _latest(project: Path) -> dict[str, Any]:
    shown = as_json(ok(project, "monitor", "show", "warehouse", "--json"))
    return {(o["metric"], json.dumps(o["labels"], sort_keys=True)): o for o in shown["latest"]}


def test_every_metric_type(project: Path) -> None:
    result = ok(project, "monitor", "run", "--json")
    run = as_json(result)
    assert run["status"] == "completed"
    got = {(o["metric"], json.dumps(o["labels"], sort_keys=True)): o for o in run["observations"]}

    def value(metric: str, **labels: str) -> Any:
        return got[(metric, json.dumps(labels, sort_keys=True))]["value"]

    assert value("bets.rows") == 100
    assert value("recent.rows") == 50
    assert value("nulls.null_pct", column="stake") == 10.0
    assert value("nulls.null_pct", column="odds") == 4.0
    # match_id = i // 3 for i in 1..100: groups of 3 except the first (1, 2) and the last (99, 100)
    groups: dict[int, int] = {}
    for i in range(1, 101):
        groups[i // 3] = groups.get(i // 3, 0) + 1
    assert value("dupes.duplicates") == sum(n - 1 for n in groups.values())
    assert value("big.value") == sum(1 for i in range(51, 101) if i % 10)
    newest = datetime(2024, 6, 1, tzinfo=UTC) + timedelta(minutes=100)
    placed = got[("placed.age_s", "{}")]
    observed = datetime.fromisoformat(placed["observed_at"])
    assert placed["value"] == pytest.approx((observed - newest).total_seconds(), abs=0.01)
    # not_null on stake fails (10 nulls), between on odds fails (i == 7): two error rules of two
    assert value("quality.score") == 0.0
    assert value("files.files") == 12
    assert value("files.bytes") == 24
    # the first monitor job is still running while it measures itself: nothing has ended yet
    assert not any(m.startswith("jobs.") for m, _ in got)

    assert got[("nulls.null_pct", '{"column": "stake"}')]["status"] == "warn"
    assert got[("bets.rows", "{}")]["status"] == "ok"


def test_change_threshold_and_job_health(project: Path) -> None:
    ok(project, "monitor", "run")
    for i in range(8):
        (project / "landing" / f"f{i}.json").unlink()
    result = ok(project, "monitor", "run", code=1)  # 12 files -> 4: a 67% drop fails
    assert "fail: change % below -50 vs previous" in result.stdout
    latest = _latest(project)
    assert latest[("files.files", "{}")]["status"] == "fail"
    health = {k: v for k, v in latest.items() if k[0].startswith("jobs.")}
    labels = '{"env": "dev", "kind": "monitor"}'
    assert health[("jobs.success_rate", labels)]["value"] == 1.0
    assert health[("jobs.failures", labels)]["value"] == 0
    assert health[("jobs.last_success_age_s", labels)]["value"] >= 0

    history = as_json(ok(project, "monitor", "history", "warehouse", "-m", "files.files", "--json"))
    assert [o["value"] for o in history] == [12, 4]


def test_report_formats(project: Path, tmp_path: Path) -> None:
    ok(project, "monitor", "run")
    report = as_json(ok(project, "monitor", "report", "--format", "json"))
    assert report["health"]["status"] == "warn"  # the warning on stake's nulls
    assert report["health"]["series"] == len(report["metrics"])
    assert report["recent_checks"][0]["status"] == "completed"
    assert any("nulls.null_pct" in r for r in report["recommendations"])
    md = ok(project, "monitor", "report", "-f", "md").stdout
    for heading in (
        "Overall health",
        "Active alerts by severity",
        "Recent checks",
        "Metrics",
        "Anomalies",
        "Recommendations",
    ):
        assert f"## {heading}" in md
    text = ok(project, "monitor", "report", "-f", "text").stdout
    assert "Health: WARN" in text
    out = tmp_path / "out" / "report.html"
    ok(project, "monitor", "report", "-o", str(out))
    html = out.read_text()
    assert html.count('<svg class="chart"') == len(report["metrics"])
    assert "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html


def test_list_and_show(project: Path) -> None:
    listed = as_json(ok(project, "monitor", "list", "--json"))
    assert [m["name"] for m in listed] == ["warehouse"]
    assert listed[0]["status"] is None
    ok(project, "monitor", "run")
    assert as_json(ok(project, "monitor", "list", "--json"))[0]["status"] == "warn"
    shown = ok(project, "monitor", "show", "warehouse").stdout
    assert "threshold warn: above 5 on null_pct" in shown
    missing = invoke(project, "monitor", "show", "nope")
    assert missing.exit_code == 2 and "no monitor 'nope' (monitors: warehouse)" in missing.stderr


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "    type: row_count\n",
            "    type: row_cont\n",
            "metrics[0] (bets).type: unknown metric type 'row_cont'; did you mean 'row_count'?",
        ),
        (
            "      - {above: 5, level: warn, value: null_pct}\n",
            "      - {above: 100, level: warn, value: null_pct}\n",
            "metrics[2] (nulls): thresholds[0]: warn: above 100 can never hold: null_pct is never above 100",
        ),
        (
            "      - {below: 10, level: fail}\n",
            "      - {below: 10, level: fail}\n      - {below: 20, level: warn}\n      - {outside: [5, 1]}\n",
            "metrics[0] (bets).thresholds[2]: outside: [5, 1] can never hold",
        ),
        (
            "      - {below: 10, level: fail}\n",
            "      - {below: 10, level: warn}\n      - {below: 20, level: fail}\n",
            "warn: below 10 can never hold: fail: below 20 trips first",
        ),
        (
            "    key: [match_id]\n",
            "    key: [match]\n",
            "metrics[3] (dupes).key: bets: table 'bets' has no column 'match'",
        ),
        ("    path: landing\n", "    path: no-such-folder\n", "metrics[7] (files).path: "),
        (
            "    table: bets\n    thresholds",
            "    table: wagers\n    thresholds",
            "metrics[0] (bets).table: table: ",
        ),
        (
            "    rules: bets\n",
            "    rules: bets\n    colour: red\n",
            "metrics[6] (quality).colour: unknown field",
        ),
    ],
)
def test_bad_input_exits_2_naming_the_field(
    project: Path, old: str, new: str, expected: str
) -> None:
    path = project / "monitors" / "warehouse.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    result = invoke(project, "monitor", "run")
    assert result.exit_code == 2, result.stdout + result.stderr
    assert "warehouse.yaml" in result.stderr and expected in result.stderr, result.stderr
    store = project / ".batchyard" / "store.db"
    if store.exists():
        with sqlite3.connect(store) as con:
            assert con.execute("SELECT count(*) FROM by_jobs").fetchone() == (0,)
            assert con.execute("SELECT count(*) FROM by_observations").fetchone() == (0,)
        con.close()
