"""Several hosts on one machine: network namespaces made by the test, a Dask scheduler and a
PostgreSQL server on one, a worker on each of two others, each reachable only at its own address.

A custom job of 10,000 items that write rows, and the sports dataset copied PostgreSQL to
PostgreSQL, end identical to the same jobs run here on threads (compared row by row, apart from
batchyard), with a worker killed mid-run, and with the runner killed and the job resumed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_dask import expected, make_project, squares

import batchyard as by
from batchyard.db import ENGINES
from conftest import cli
from dasktools import DaskCluster
from netns import Hosts, PostgresOnHost, can_make_hosts
from waits import when

pytest.importorskip("distributed")
pytestmark = pytest.mark.slow

WHY_NOT = can_make_hosts()


class Net:
    def __init__(self, hosts: Hosts, cluster: DaskCluster, pg_admin: str) -> None:
        self.hosts, self.cluster, self.pg_admin = hosts, cluster, pg_admin
        self.admin = sa.create_engine(pg_admin, isolation_level="AUTOCOMMIT")

    def database(self, name: str) -> str:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
        url = sa.make_url(self.pg_admin).set(database=name)
        return url.render_as_string(hide_password=False)

    @property
    def scheduler(self) -> str:
        return f"dask://{self.hosts.addresses['sched']}:{self.cluster.port}"


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Net]:
    if WHY_NOT:
        pytest.skip(f"cannot make network namespaces here: {WHY_NOT}")
    with Hosts("sched", "w1", "w2") as hosts:
        pg = PostgresOnHost(hosts.ns["sched"], hosts.addresses["sched"])
        admin = pg.start()
        cluster = DaskCluster(
            tmp_path_factory.mktemp("hosts"),
            host=hosts.addresses["sched"],
            port=8786,
            scheduler_netns=hosts.ns["sched"],
            worker_netns=[hosts.ns["w1"], hosts.ns["w2"]],
            worker_hosts=[hosts.addresses["w1"], hosts.addresses["w2"]],
        )
        try:
            cluster.start()
            net = Net(hosts, cluster, admin)
            yield net
            net.admin.dispose()
        finally:
            ENGINES.dispose()
            cluster.stop()
            pg.stop()


def test_a_custom_job_across_hosts_with_a_worker_killed(net: Net, tmp_path: Path) -> None:
    n, hold = 10_000, 4_000
    store, here, there = net.database("store1"), net.database("here1"), net.database("there1")
    with by.Batchyard(root=make_project(tmp_path / "here", store, here)) as app:
        local = app.run("squares", {"n": n}, workers=4, install_signals=False)
        assert (local.status.value, local.done) == ("completed", n)
    root = make_project(tmp_path / "there", store, there)
    gate = root / "gate"
    gate.mkdir()

    def kill_the_holder() -> None:
        held = next(gate.glob("held.*"))
        os.kill(int(held.read_text()), signal.SIGKILL)
        (gate / "release").touch()

    watcher = when(lambda: any(gate.glob("held.*")), kill_the_holder, timeout=240)
    with by.Batchyard(root=root) as app:
        job = app.run(
            "squares",
            {"n": n, "gate": str(gate), "hold": hold},
            executor=net.scheduler,
            install_signals=False,
        )
        items, _ = app.store.list_items(job.id, limit=None)
    assert watcher.fired()
    assert (job.status.value, job.done, job.failed) == ("completed", n, 0)
    assert squares(there) == squares(here) == expected(n)
    w1, w2 = net.hosts.addresses["w1"], net.hosts.addresses["w2"]
    assert {(i.worker or "").split("//")[1].split(":")[0] for i in items} == {w1, w2}
    net.cluster.wait_for_workers(2)
    ENGINES.dispose()


def rows(url: str, table: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            cols = [c["name"] for c in sa.inspect(conn).get_columns(table)]
            order = ", ".join(f'"{c}"' for c in cols)
            return [
                tuple(r) for r in conn.exec_driver_sql(f'SELECT * FROM "{table}" ORDER BY {order}')
            ]
    finally:
        engine.dispose()


def _chunks_done(store: str) -> int:
    engine = sa.create_engine(store)
    try:
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM by_items i JOIN by_jobs j ON j.id = i.job_id "
                    "WHERE j.kind = 'migrate' AND i.status = 'done'"
                ).scalar()
                or 0
            )
    except sa.exc.DBAPIError:
        return 0
    finally:
        engine.dispose()


def test_sports_migrated_across_hosts_with_a_worker_and_the_runner_killed(
    net: Net, tmp_path: Path
) -> None:
    store, source = net.database("store2"), net.database("sports")
    here, there = net.database("here2"), net.database("there2")
    root = make_project(tmp_path / "p", store, source)
    # The data and the copy made here, recorded in a store of their own.
    with by.Batchyard(root=make_project(tmp_path / "here", net.database("store2h"), source)) as app:
        made = app.run(
            "generate", {"dataset": "sports", "scale": "0.01", "to": source}, install_signals=False
        )
        assert made.status.value == "completed", made.error
        local = app.run("migrate", {"source": source, "target": here}, install_signals=False)
        assert local.status.value == "completed", local.error
    pids = net.cluster.worker_pids()
    args = ["migrate", source, there, "--chunk-rows", "1500", "--executor", net.scheduler]
    runner = subprocess.Popen(
        [sys.executable, "-m", "batchyard", *args],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    worker = when(
        lambda: _chunks_done(store) >= 2, lambda: os.kill(min(pids.values()), signal.SIGKILL)
    )
    killed = when(lambda: _chunks_done(store) >= 5, lambda: runner.send_signal(signal.SIGKILL))
    assert worker.fired(120) and killed.fired(120)
    runner.wait(30)
    with by.Batchyard(root=root) as app:
        job = next(j for j in app.jobs()[0] if j.kind == "migrate" and j.status.value == "running")
        assert job.done < job.total
    resumed = cli("jobs", "resume", job.id, cwd=root, timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    engine = sa.create_engine(source)
    tables = sa.inspect(engine).get_table_names()
    engine.dispose()
    assert {"players", "matches", "bets", "odds", "statcast"} <= set(tables)
    for table in ("players", "matches", "bets", "odds", "statcast"):
        copied = rows(there, table)
        assert copied == rows(here, table) == rows(source, table), table
    net.cluster.wait_for_workers(2)
    ENGINES.dispose()


def test_a_custom_job_across_hosts_with_the_runner_killed(net: Net, tmp_path: Path) -> None:
    n = 2_000
    store, here, there = net.database("store6"), net.database("here6"), net.database("there6")
    with by.Batchyard(root=make_project(tmp_path / "here", store, here)) as app:
        assert app.run("squares", {"n": n}, workers=4, install_signals=False).done == n
    root = make_project(tmp_path / "there", store, there)
    gate = root / "gate"
    gate.mkdir()
    args = ["run", "squares", "-p", f"n={n}", "-p", f"gate={gate}", "-p", "hold=1500"]
    runner = subprocess.Popen(
        [sys.executable, "-m", "batchyard", *args, "--executor", net.scheduler],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed = when(lambda: any(gate.glob("held.*")), lambda: runner.send_signal(signal.SIGKILL))
    assert killed.fired(120)
    runner.wait(30)
    (gate / "release").touch()
    with by.Batchyard(root=root) as app:
        job = next(j for j in app.jobs()[0] if j.status.value == "running")
    resumed = cli("jobs", "resume", job.id, cwd=root, timeout=240)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert squares(there) == squares(here) == expected(n)
    ENGINES.dispose()


def test_sqlite_store_with_workers_elsewhere(net: Net, tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p", f"sqlite:///{tmp_path / 'store.db'}", f"sqlite:///{tmp_path / 'w.db'}"
    )
    run = cli("run", "squares", "-p", "n=3", "--executor", net.scheduler, cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    text = " ".join(run.stderr.split())
    assert "the store is a SQLite file on this machine" in text
    assert net.hosts.addresses["w1"] in text and net.hosts.addresses["w2"] in text
    assert "PostgreSQL store" in text
    assert (
        not (tmp_path / "store.db").exists()
        or "squares" not in cli("jobs", "list", cwd=root).stdout
    )


def test_a_target_only_this_machine_reaches(net: Net, tmp_path: Path, pg_database: str) -> None:
    """The target is on this machine's loopback: the workers elsewhere fail their items, fast."""
    root = make_project(tmp_path / "p", net.database("store4"), pg_database)
    with by.Batchyard(root=root) as app:
        job = app.run("squares", {"n": 4}, executor=net.scheduler, install_signals=False)
        items, _ = app.store.list_items(job.id)
    assert (job.status.value, job.failed) == ("failed", 4)
    assert all("127.0.0.1" in (i.error or "") for i in items), [i.error for i in items]
    ENGINES.dispose()


def test_a_target_that_does_not_answer_fails_within_the_connect_timeout(
    net: Net, tmp_path: Path
) -> None:
    """No host answers at the target's address: the items fail after the connect timeout rather
    than hang for the system's minutes."""
    nobody = f"10.213.{net.hosts.subnet}.99"
    root = make_project(
        tmp_path / "p", net.database("store5"), f"postgresql+psycopg://postgres@{nobody}:5432/x"
    )
    started = time.monotonic()
    with by.Batchyard(root=root) as app:
        job = app.run("squares", {"n": 2}, executor=net.scheduler, install_signals=False)
        items, _ = app.store.list_items(job.id)
    assert (job.status.value, job.failed) == ("failed", 2)
    assert all(nobody in (i.error or "") for i in items), [i.error for i in items]
    assert time.monotonic() - started < 60
    ENGINES.dispose()
