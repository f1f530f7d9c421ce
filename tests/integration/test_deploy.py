"""deploy/: the Dockerfile, the compose file and the Kubernetes manifests say what docs/cluster.md
says, their settings load as batchyard reads them, and the command lines they run work here, as a
cluster of this machine (no container is built: images cannot be pulled here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml

from batchyard.config import load_settings
from batchyard.engine.registry import load_registry
from conftest import REPO
from dasktools import DASK, free_port

DEPLOY = REPO / "deploy"
COMPOSE = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
BATCHYARD_SERVICES = ("scheduler", "worker1", "worker2", "serve")


def compose_value(text: str) -> str:
    """``${VAR:-default}`` and ``${VAR:?message}`` as compose fills them in (VAR unset)."""
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)
    return re.sub(r"\$\{[A-Z_]+:\?[^}]*\}", "a-token-of-sixteen-characters", text)


def test_compose_runs_the_store_the_server_a_scheduler_and_two_workers() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"postgres", *BATCHYARD_SERVICES}
    for name in BATCHYARD_SERVICES:
        service = services[name]
        assert service["build"]["dockerfile"] == "deploy/Dockerfile"
        env = {k: compose_value(str(v)) for k, v in service["environment"].items()}
        settings = load_settings(DEPLOY / "project", store=env["BATCHYARD_STORE"])
        assert settings.store_url.startswith("postgresql://batchyard:")
        assert env["BATCHYARD_DASK"] == "dask://scheduler:8786"
    scheduler = services["scheduler"]["command"]
    assert scheduler[:2] == ["dask", "scheduler"] and "8786" in scheduler
    for name in ("worker1", "worker2"):
        assert services[name]["command"][:3] == ["dask", "worker", "tcp://scheduler:8786"]
    assert services["serve"]["environment"]["BATCHYARD_EXECUTOR"] == "dask"
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim-bookworm$", dockerfile, re.M)
    assert 'pip install ".[dask,postgres]"' in dockerfile
    assert "nums" in load_registry(DEPLOY / "project")


def manifests() -> list[dict[str, Any]]:
    found = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        found += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return found


def test_kubernetes_manifests_for_the_dask_operator() -> None:
    by_kind = {doc["kind"]: doc for doc in manifests()}
    assert set(by_kind) == {"DaskCluster", "DaskAutoscaler", "Job", "Secret"}
    cluster = by_kind["DaskCluster"]
    assert cluster["apiVersion"] == "kubernetes.dask.org/v1"
    name = cluster["metadata"]["name"]
    ports = {p["port"] for p in cluster["spec"]["scheduler"]["service"]["ports"]}
    assert 8786 in ports
    assert by_kind["DaskAutoscaler"]["spec"]["cluster"] == name
    runner = by_kind["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert f"dask://{name}-scheduler:8786" in runner["command"]
    secret = by_kind["Secret"]["metadata"]["name"]
    assert runner["envFrom"][0]["secretRef"]["name"] == secret
    worker = cluster["spec"]["worker"]["spec"]["containers"][0]
    assert worker["envFrom"][0]["secretRef"]["name"] == secret
    assert set(by_kind["Secret"]["stringData"]) == {"BATCHYARD_STORE", "WAREHOUSE_URL"}


@pytest.mark.slow
def test_the_compose_command_lines_run_here(tmp_path: Path) -> None:
    """The scheduler's and the workers' command lines, with this machine's addresses, and the
    example project's job run on them with the settings compose gives the server."""
    port = free_port()
    here = f"127.0.0.1:{port}"
    services = COMPOSE["services"]

    def local(command: list[str]) -> list[str]:
        out = [DASK if part == "dask" else part for part in command]
        out = [
            part.replace("0.0.0.0", "127.0.0.1").replace("tcp://scheduler:8786", f"tcp://{here}")
            for part in out
        ]
        return [str(port) if part == "8786" else part for part in out]

    procs = []
    try:
        for name in ("scheduler", "worker1", "worker2"):
            with open(tmp_path / f"{name}.log", "wb") as log:
                procs.append(
                    subprocess.Popen(
                        local(services[name]["command"]), cwd=tmp_path, stdout=log, stderr=log
                    )
                )
        project = tmp_path / "project"
        shutil.copytree(DEPLOY / "project", project)
        warehouse = f"sqlite:///{tmp_path / 'warehouse.db'}"
        env = {
            **os.environ,
            "BATCHYARD_STORE": f"sqlite:///{tmp_path / 'store.db'}",
            "BATCHYARD_DASK": f"dask://{here}",
            "BATCHYARD_EXECUTOR": services["serve"]["environment"]["BATCHYARD_EXECUTOR"],
            "WAREHOUSE_URL": warehouse,
        }
        run = subprocess.run(
            [sys.executable, "-m", "batchyard", "run", "nums", "-p", "n=30"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stdout + run.stderr
        engine = sa.create_engine(warehouse)
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT n, square FROM squares ORDER BY n").all()
        engine.dispose()
        assert [tuple(r) for r in rows] == [(i, i * i) for i in range(30)]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(20)
