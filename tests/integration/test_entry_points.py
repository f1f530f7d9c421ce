"""Kinds from an installed package's ``batchyard.jobs`` entry point are found like jobs.py ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import cli


@pytest.mark.slow
def test_installed_package_kind(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "seasonkinds.py").write_text(
        "import batchyard as by\n\n"
        "@by.job('season-teams')\n"
        "def season_teams(season: int):\n"
        "    '''Every team of a season.'''\n"
        "    return [f'{season}-{t}' for t in ('ARI', 'ATL', 'BAL')]\n\n"
        "@season_teams.item\n"
        "def team(key: str, ctx: by.Context):\n"
        "    ctx.write('teams', {'key': key}, key='key')\n"
    )
    dist = site / "seasonkinds-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: seasonkinds\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[batchyard.jobs]\nseason = seasonkinds\n")
    project = tmp_path / "p"
    project.mkdir()
    env = {"PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}

    kinds = cli("kinds", "--json", cwd=project, env=env)
    assert kinds.returncode == 0, kinds.stderr
    assert '"season-teams"' in kinds.stdout and "Every team of a season." in kinds.stdout

    run = cli("run", "season-teams", "-p", "season=2024", cwd=project, env=env)
    assert run.returncode == 0, run.stderr
    assert "3 done, 0 failed" in run.stderr
    assert (project / "data.db").exists()
