"""The score's history, drawn: the HTML report's line chart per suite and per table (inline SVG,
with the failing rules' counts as bars), and `data quality`'s sparkline in the terminal."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from history_runs import DEFECTS, run_history
from typer.testing import CliRunner

from batchyard.check.chart import Run, history_chart
from batchyard.cli import app as cli_app
from batchyard.cli.charts import BLOCKS, sparkline

SVG = ""  # inline SVG in HTML needs no namespace


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run_history(tmp_path_factory.mktemp("history") / "club")


def _charts(html: str) -> dict[str, ET.Element]:
    """Each history chart of the page, by id, parsed as the SVG it is."""
    found = re.findall(r'(<svg class="history-chart".*?</svg>)', html, re.S)
    charts = {}
    for text in found:
        svg = ET.fromstring(text)
        charts[svg.get("id", "")] = svg
    return charts


def test_the_json_report_holds_the_suites_history(history: dict[str, Any]) -> None:
    runs = history["history"]
    assert len(runs) == len(DEFECTS)
    assert runs[-1]["job"] == history["job"] and runs[-1]["score"] == history["score"]
    # Every run fixed something: the score rose and fewer rules failed each time.
    assert [r["failing"] for r in runs] == [4, 3, 2, 1, 0]
    scores = [r["score"] for r in runs]
    assert scores == sorted(scores) and scores[-1] == 100.0 and scores[0] < scores[1]
    assert [r["tables"]["teams"]["failing"] for r in runs] == [1, 1, 1, 0, 0]
    assert [r["tables"]["members"]["failing"] for r in runs] == [3, 2, 1, 1, 0]


def test_the_html_report_draws_the_history_per_suite_and_per_table(
    history: dict[str, Any],
) -> None:
    html = Path(history["html"]).read_text()
    assert not re.search(r"""(?:src|href)=["']?https?:""", html), "nothing to fetch"
    assert "<script" not in html and "<link" not in html
    charts = _charts(html)
    assert set(charts) == {"history-suite", "history-table-1", "history-table-2"}

    suite = charts["history-suite"]
    assert suite.get("data-runs") == str(len(DEFECTS))
    points = suite.findall(f"{SVG}circle")
    assert [float(p.get("data-score", "")) for p in points] == [
        r["score"] for r in history["history"]
    ]
    assert [int(p.get("data-failing", "")) for p in points] == [4, 3, 2, 1, 0]
    # The score's line goes through every point, left to right, higher as the score rises.
    line = suite.find(f"{SVG}polyline")
    assert line is not None
    xy = [tuple(map(float, pair.split(","))) for pair in line.get("points", "").split()]
    assert len(xy) == len(DEFECTS)
    assert [x for x, _ in xy] == sorted(x for x, _ in xy)
    assert [y for _, y in xy] == sorted((y for _, y in xy), reverse=True)  # SVG y grows down
    # A bar per run that had failing rules, taller for more.
    bars = suite.findall(f"{SVG}rect")
    heights = [float(b.get("height", "")) for b in bars]
    assert len(bars) == 4 and heights == sorted(heights, reverse=True)
    tips = [b.findtext(f"{SVG}title") or "" for b in bars]
    assert tips[0].endswith("4 failing rule(s)") and history["history"][0]["job"] in tips[0]

    # Per table: members (table 1) and teams (table 2), each with its own figures.
    teams = charts["history-table-2"]
    assert [int(p.get("data-failing", "")) for p in teams.findall(f"{SVG}circle")] == [
        1,
        1,
        1,
        0,
        0,
    ]
    assert "Score of table teams" in (teams.get("aria-label") or "")


def test_a_first_run_draws_its_one_point() -> None:
    svg = ET.fromstring(str(history_chart([Run("j1", None, 80.0, 2)], label="Score of s")))
    assert svg.get("data-runs") == "1"
    assert len(svg.findall(f"{SVG}circle")) == 1 and svg.find(f"{SVG}polyline") is None
    # Text from the data is escaped: a suite's name cannot inject markup.
    odd = str(history_chart([Run("<j>", "x", 1.0, 1)], label='"><script>'))
    assert "<script>" not in odd and "&lt;j&gt;" in odd


def test_data_quality_draws_the_trend_as_a_sparkline(history: dict[str, Any]) -> None:
    root = Path(history["html"]).parent
    result = CliRunner().invoke(cli_app, ["-C", str(root), "data", "quality"])
    assert result.exit_code == 0, result.output
    scores = [r["score"] for r in history["history"]]
    line = next(line for line in result.output.splitlines() if "club" in line)
    drawn = "".join(ch for ch in line if ch in BLOCKS)
    assert drawn == sparkline(scores), line
    assert drawn[0] == BLOCKS[0] and drawn[-1] == BLOCKS[-1]  # from the lowest to the highest
    assert f"{scores[0]:g} → {scores[-1]:g}" in line
    # --json keeps the figures (newest first), for scripts.
    rows = json.loads(
        CliRunner().invoke(cli_app, ["-C", str(root), "data", "quality", "--json"]).stdout
    )
    assert rows[0]["history"] == scores[::-1]


def test_sparklines_scale_to_the_series_but_not_below_ten_points() -> None:
    assert sparkline([]) == ""
    assert sparkline([50, 50, 50]) == BLOCKS[-1] * 3
    assert sparkline([0, 50, 100]) == BLOCKS[0] + BLOCKS[4] + BLOCKS[-1]
    # 99.5 → 100 is no fall from the top: a small change stays a small step.
    assert sparkline([99.5, 100.0]) == BLOCKS[-1] * 2
    assert sparkline([90.0, 100.0]) == BLOCKS[0] + BLOCKS[-1]
