"""Jobs on a real Dask cluster (``dask scheduler`` and ``dask worker`` processes on 127.0.0.1):
the same rows as on one machine, checkpoints from the workers, which worker ran each item, and
the faults: a worker or the runner killed mid-item, a scheduler that does not answer, a worker
without the job's code, a target the workers cannot reach, pause and cancel."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import batchyard as by
from batchyard.db import ENGINES
from conftest import cli
from dasktools import DaskCluster, free_port
from waits import when

pytest.importorskip("distributed")

# Each test starts a Dask scheduler and workers: seconds apiece, for the whole suite only.
pytestmark = pytest.mark.slow

JOBS = """
import os
import time
from pathlib import Path

import batchyard as by


@by.job("squares")
def squares(n: int = 100, gate: str = "", hold: int = -1, slow: float = 0.0):
    return [str(i) for i in range(n)]


@squares.item
def square(key: str, ctx: by.Context) -> dict:
    i = int(key)
    p = ctx.params
    resumed_from = ctx.cursor
    folder = Path(p.gate) if p.gate else None
    if folder is not None:
        with open(folder / "runs.log", "a") as fh:
            fh.write(f"{key} {os.getpid()}\\n")
    ctx.checkpoint({"started": i})
    if folder is not None and i == p.hold:
        # Held until the test lets it go: it kills this process (or the runner) meanwhile.
        (folder / f"held.{os.getpid()}").write_text(str(os.getpid()))
        while not (folder / "release").exists():
            time.sleep(0.01)
    if p.slow:
        time.sleep(p.slow)
    ctx.write("squares", {"k": i, "sq": i * i}, key="k")
    return {"k": i, "pid": os.getpid(), "resumed_from": resumed_from}
"""


def make_project(root: Path, store: str, target: str, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "batchyard.toml").write_text(
        f'[project]\nname = "cluster"\n\n[store]\nurl = "{store}"\n\n'
        f'[defaults]\nconnection = "warehouse"\n\n[connections]\nwarehouse = "{target}"\n\n'
        f"[executor]\nconnect_timeout = 5\n{extra}",
        encoding="utf-8",
    )
    (root / "jobs.py").write_text(JOBS, encoding="utf-8")
    return root


def squares(url: str) -> list[tuple[int, int]]:
    """The target's rows, read apart from batchyard; duplicates would show as repeated keys."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql("SELECT k, sq FROM squares ORDER BY k")]
    finally:
        engine.dispose()


def expected(n: int) -> list[tuple[int, int]]:
    return [(i, i * i) for i in range(n)]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DaskCluster]:
    with DaskCluster(tmp_path_factory.mktemp("dask"), workers=2) as running:
        yield running


@pytest.fixture
def pg_project(tmp_path: Path, pg_database: str) -> Path:
    return make_project(tmp_path / "project", pg_database, pg_database)


def job_of(app: by.Batchyard) -> Any:
    jobs, _ = app.store.list_jobs(limit=1)
    return jobs[0]


def test_a_job_on_a_scheduler_writes_what_threads_write(
    cluster: DaskCluster, pg_project: Path, pg_database: str
) -> None:
    with by.Batchyard(root=pg_project) as app:
        job = app.run(
            "squares",
            {"n": 300},
            executor=f"dask://127.0.0.1:{cluster.port}",
            install_signals=False,
        )
        assert (job.status.value, job.done, job.failed) == ("completed", 300, 0)
        assert job.options["executor"] == "dask" and job.options["address"] == cluster.address
        items, _ = app.store.list_items(job.id, limit=None)
    assert squares(pg_database) == expected(300)
    workers = set(cluster.workers())
    assert {i.worker for i in items} <= workers
    # Checkpoints made on the workers reached the store.
    assert all(i.cursor == {"started": int(i.key)} for i in items)
    ENGINES.dispose()


def test_sqlite_store_with_workers_on_this_machine(cluster: DaskCluster, tmp_path: Path) -> None:
    """Workers on this machine open the runner's SQLite store as processes do."""
    root = make_project(
        tmp_path / "p", f"sqlite:///{tmp_path / 'store.db'}", f"sqlite:///{tmp_path / 'w.db'}"
    )
    run = cli(
        "run", "squares", "-p", "n=40", "--executor", f"dask://127.0.0.1:{cluster.port}", cwd=root
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert squares(f"sqlite:///{tmp_path / 'w.db'}") == expected(40)


def test_scheduler_that_does_not_answer(tmp_path: Path) -> None:
    root = make_project(
        tmp_path / "p",
        f"sqlite:///{tmp_path / 'store.db'}",
        f"sqlite:///{tmp_path / 'w.db'}",
        extra="",
    )
    port = free_port()
    started = time.monotonic()
    run = cli("run", "squares", "-p", "n=3", "--executor", f"dask://127.0.0.1:{port}", cwd=root)
    assert run.returncode == 2, run.stdout + run.stderr
    assert f"the Dask scheduler at tcp://127.0.0.1:{port} does not answer" in run.stderr
    assert "dask scheduler" in run.stderr
    assert time.monotonic() - started < 30
    # Found before the job was recorded: nothing to resume or clean up.
    listed = cli("jobs", "list", "--json", cwd=root)
    assert json.loads(listed.stdout)["total"] == 0


def test_a_worker_without_the_jobs_code(cluster: DaskCluster, tmp_path: Path) -> None:
    """jobs.py imports a module only the runner's machine has: exit 2 before any item runs."""
    helpers = tmp_path / "only-here"
    helpers.mkdir()
    (helpers / "by_test_helper.py").write_text("FACTOR = 3\n")
    root = make_project(
        tmp_path / "p", f"sqlite:///{tmp_path / 'store.db'}", f"sqlite:///{tmp_path / 'w.db'}"
    )
    (root / "jobs.py").write_text("import by_test_helper\n" + JOBS)
    run = cli(
        "run",
        "squares",
        "-p",
        "n=5",
        "--executor",
        f"dask://127.0.0.1:{cluster.port}",
        cwd=root,
        env={"PYTHONPATH": str(helpers)},
    )
    assert run.returncode == 2, run.stdout + run.stderr
    text = " ".join(run.stderr.split())
    assert "Dask worker tcp://127.0.0.1:" in text and "cannot run job squares_" in text
    assert "No module named 'by_test_helper'" in text
    assert "install what it imports on every worker" in text
    assert not (tmp_path / "w.db").exists()  # no item ran


def test_a_target_the_workers_cannot_reach_fails_its_items(
    cluster: DaskCluster, tmp_path: Path, pg_database: str
) -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    root = make_project(tmp_path / "p", pg_database, closed)
    started = time.monotonic()
    with by.Batchyard(root=root) as app:
        job = app.run(
            "squares", {"n": 4}, executor=f"dask://127.0.0.1:{cluster.port}", install_signals=False
        )
        items, _ = app.store.list_items(job.id)
    assert (job.status.value, job.failed) == ("failed", 4)
    assert all("127.0.0.1" in (i.error or "") for i in items), [i.error for i in items]
    assert time.monotonic() - started < 30
    ENGINES.dispose()


def test_a_worker_killed_mid_item(cluster: DaskCluster, pg_project: Path, pg_database: str) -> None:
    gate = pg_project / "gate"
    gate.mkdir()
    n, hold = 60, 17

    def kill_the_holder() -> None:
        held = next(gate.glob("held.*"))
        os.kill(int(held.read_text()), signal.SIGKILL)
        (gate / "release").touch()

    watcher = when(lambda: any(gate.glob("held.*")), kill_the_holder)
    with by.Batchyard(root=pg_project) as app:
        job = app.run(
            "squares",
            {"n": n, "gate": str(gate), "hold": hold},
            executor=f"dask://127.0.0.1:{cluster.port}",
            install_signals=False,
        )
    assert watcher.fired()
    assert (job.status.value, job.done) == ("completed", n)
    assert squares(pg_database) == expected(n)
    runs = [line.split() for line in (gate / "runs.log").read_text().splitlines()]
    held = [pid for key, pid in runs if key == str(hold)]
    assert len(held) == 2 and held[0] != held[1]  # once on the killed worker, once elsewhere
    with by.Batchyard(root=pg_project) as app:
        (item,) = [i for i in app.store.list_items(job.id, limit=None)[0] if i.key == str(hold)]
    # The second run started from the checkpoint the first one made before its worker died.
    assert item.result["resumed_from"] == {"started": hold}
    assert item.attempts == 1
    cluster.wait_for_workers(2)  # (its nanny started a new worker)
    ENGINES.dispose()


def _done(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(
                conn.exec_driver_sql("SELECT count(*) FROM by_items WHERE status = 'done'").scalar()
                or 0
            )
    except sa.exc.DBAPIError:
        return 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("again", ["threads", "dask"])
def test_runner_killed_then_resumed(
    cluster: DaskCluster, pg_project: Path, pg_database: str, again: str
) -> None:
    """SIGKILL the runner while workers hold items; a resume (threads, or the cluster again)
    ends with every row exactly once, the orphaned item's late writes fenced or identical."""
    gate = pg_project / "gate"
    gate.mkdir()
    n = 200
    runner = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batchyard",
            "run",
            "squares",
            "-p",
            f"n={n}",
            "-p",
            f"gate={gate}",
            "-p",
            "hold=150",
            "-p",
            "slow=0.002",
            "--executor",
            f"dask://127.0.0.1:{cluster.port}",
        ],
        cwd=pg_project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed = when(
        lambda: any(gate.glob("held.*")) and _done(pg_database) >= 20,
        lambda: runner.send_signal(signal.SIGKILL),
    )
    assert killed.fired(60)
    runner.wait(30)
    with by.Batchyard(root=pg_project) as app:
        job = job_of(app)
        assert job.status.value == "running" and job.done < n
    (gate / "release").touch()
    executor = "threads" if again == "threads" else f"dask://127.0.0.1:{cluster.port}"
    resumed = cli("jobs", "resume", job.id, "--executor", executor, cwd=pg_project)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with by.Batchyard(root=pg_project) as app:
        job = app.job(job.id)
        assert (job.status.value, job.done, job.failed) == ("completed", n, 0)
        assert job.options["executor"] == ("threads" if again == "threads" else "dask")
    assert squares(pg_database) == expected(n)
    ENGINES.dispose()


@pytest.mark.parametrize("control", ["pause", "cancel"])
def test_pause_and_cancel(
    cluster: DaskCluster, pg_project: Path, pg_database: str, control: str
) -> None:
    n = 400
    with by.Batchyard(root=pg_project) as app:
        job = app.submit(
            "squares", {"n": n, "slow": 0.01}, executor=f"dask://127.0.0.1:{cluster.port}"
        )
        seen: list[Any] = []
        ended: list[by.Job] = []

        def steer() -> None:
            seen.append(app.progress(job.id))  # what `jobs progress` and the API show
            (app.pause if control == "pause" else app.cancel)(job.id)

        watcher = when(lambda: app.job(job.id).done >= 30, steer)
        thread = threading.Thread(
            target=lambda: ended.append(app.execute(job.id, install_signals=False))
        )
        thread.start()
        thread.join(120)
        assert watcher.fired()
        stopped = ended[0]
        counts = app.store.item_counts(job.id)
        assert "running" not in counts
        assert seen[0].done >= 1 and seen[0].total == n
        if control == "cancel":
            assert stopped.status.value == "cancelled"
            assert counts.get("cancelled", 0) > 0
            done_keys = {int(i.key) for i in app.store.iter_items(job.id, status=["done"])}
            assert {k for k, _ in squares(pg_database)} == done_keys
            return
        assert stopped.status.value == "paused" and stopped.done < n
        again = app.execute(job.id, install_signals=False)
        assert (again.status.value, again.done) == ("completed", n)
    assert squares(pg_database) == expected(n)
    ENGINES.dispose()


@pytest.fixture
def pg_source(pg_admin: sa.Engine, pg_admin_url: str) -> Iterator[str]:
    """A second database: the source of a migration (the target is ``pg_database``)."""
    name = f"by_src_{os.urandom(6).hex()}"
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE template0')
    url = sa.make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE games (id INTEGER PRIMARY KEY, home TEXT, odds DOUBLE PRECISION)"
        )
        conn.exec_driver_sql(
            "INSERT INTO games SELECT i * 2, 'team ' || (i %% 30), (i %% 997) / 7.0 "
            "FROM generate_series(1, 30000) AS i"
        )
        conn.exec_driver_sql("CREATE TABLE notes (line TEXT, n INTEGER)")  # no key: ctid ranges
        conn.exec_driver_sql(
            "INSERT INTO notes SELECT 'note ' || (i %% 7), i FROM generate_series(1, 4000) AS i"
        )
    engine.dispose()
    yield url
    ENGINES.dispose()
    with pg_admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def table(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        engine.dispose()


def test_migrate_splits_tables_over_the_workers(
    cluster: DaskCluster, tmp_path: Path, pg_database: str, pg_source: str
) -> None:
    """PostgreSQL to PostgreSQL: key ranges of a table run on different workers, each chunk
    committed with its checkpoint in the target; a worker killed mid-run changes nothing."""
    root = make_project(tmp_path / "p", pg_database, pg_database)
    pids = cluster.worker_pids()
    with by.Batchyard(root=root) as app:
        job = app.submit(
            "migrate",
            {"source": pg_source, "target": pg_database, "chunk_rows": 2500, "verify": True},
            executor=f"dask://127.0.0.1:{cluster.port}",
        )
        assert job.total >= 12

        def kill_one() -> None:
            os.kill(sorted(pids.values())[0], signal.SIGKILL)

        killer = when(lambda: app.job(job.id).done >= 3, kill_one)
        ended = app.execute(job.id, install_signals=False)
        assert killer.fired()
        items, _ = app.store.list_items(job.id, limit=None)
        assert ended.status is by.JobStatus.COMPLETED, ended.error
        progress = app.progress(job.id)
    assert len({i.worker for i in items}) >= 2  # the chunks ran on more than one worker
    assert {p["name"] for p in progress.parts} == {"games", "notes"}  # per-table progress
    for sql in ("SELECT * FROM games ORDER BY id", "SELECT * FROM notes ORDER BY n"):
        assert table(pg_database, sql) == table(pg_source, sql)
    cluster.wait_for_workers(2)
    ENGINES.dispose()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def test_a_killed_runner_takes_the_cluster_it_started_with_it(tmp_path: Path) -> None:
    """--executor dask (a cluster of this machine): SIGKILL the runner while a worker holds an
    item; that worker ends too (nothing keeps writing), and a resume finishes the job exactly."""
    root = make_project(
        tmp_path / "p", f"sqlite:///{tmp_path / 'store.db'}", f"sqlite:///{tmp_path / 'w.db'}"
    )
    gate = root / "gate"
    gate.mkdir()
    args = ["run", "squares", "-p", "n=30", "-p", f"gate={gate}", "-p", "hold=7"]
    runner = subprocess.Popen(
        [sys.executable, "-m", "batchyard", *args, "--executor", "dask", "--workers", "2"],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    killed = when(lambda: any(gate.glob("held.*")), lambda: runner.send_signal(signal.SIGKILL))
    assert killed.fired(90)
    runner.wait(30)
    worker = int(next(gate.glob("held.*")).read_text())
    assert when(lambda: not alive(worker), lambda: None, timeout=30).fired(40)
    (gate / "release").touch()
    resumed = cli("jobs", "resume", "squares", "--executor", "threads", cwd=root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert squares(f"sqlite:///{tmp_path / 'w.db'}") == expected(30)


def running(store: Path) -> bool:
    """A job of the SQLite store at ``store`` is running (its runner has taken it)."""
    import sqlite3

    if not store.exists():
        return False
    conn = sqlite3.connect(store, timeout=5)
    try:
        return conn.execute("SELECT 1 FROM by_jobs WHERE status = 'running'").fetchone() is not None
    except sqlite3.Error:  # (the store is being made)
        return False
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("executor", "moment"),
    [("dask", "mid-item"), ("dask", "starting"), ("processes", "mid-item")],
)
def test_ctrl_c_in_a_terminal_pauses_and_the_workers_finish_their_items(
    tmp_path: Path, executor: str, moment: str
) -> None:
    """Ctrl+C in a terminal reaches its whole process group: the runner and the worker processes
    of the cluster it started (or of its process pool). The workers leave it to the runner: the
    item they hold finishes, nothing fails, and a resume finishes the job exactly."""
    root = make_project(
        tmp_path / "p", f"sqlite:///{tmp_path / 'store.db'}", f"sqlite:///{tmp_path / 'w.db'}"
    )
    gate = root / "gate"
    gate.mkdir()
    err = tmp_path / "stderr.txt"
    args = ["run", "squares", "-p", "n=30", "-p", f"gate={gate}", "-p", "hold=3"]
    with err.open("w") as stderr:
        runner = subprocess.Popen(
            [sys.executable, "-m", "batchyard", *args, "--executor", executor, "-w", "2"],
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # a terminal's process group, of its own
        )
        try:

            def ready() -> bool:
                if moment == "starting":  # its runner started, its workers starting
                    return running(tmp_path / "store.db")
                return any(gate.glob("held.*"))

            ctrl_c = when(ready, lambda: os.killpg(runner.pid, signal.SIGINT), timeout=90)
            assert ctrl_c.fired(100)
            # The held item lets go once the runner has taken the Ctrl+C.
            stopping = when(lambda: "stopping" in err.read_text(), lambda: None)
            assert stopping.fired(60), err.read_text()
            (gate / "release").touch()
            assert runner.wait(90) == 130, err.read_text()
        finally:
            if runner.poll() is None:
                os.killpg(runner.pid, signal.SIGKILL)
    with by.Batchyard(root=root) as app:
        job = job_of(app)
        assert job.status.value == "paused" and job.failed == 0, err.read_text()
        if moment == "mid-item":
            held = {i.key: i for i in app.store.iter_items(job.id)}["3"]
            assert held.status.value == "done" and held.attempts == 1
    resumed = cli("jobs", "resume", job.id, cwd=root)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with by.Batchyard(root=root) as app:
        assert (app.job(job.id).done, app.job(job.id).failed) == (30, 0)
    assert squares(f"sqlite:///{tmp_path / 'w.db'}") == expected(30)


def test_an_item_past_its_timeout_is_failed_and_its_late_write_refused(
    cluster: DaskCluster, pg_project: Path, pg_database: str
) -> None:
    gate = pg_project / "gate"
    gate.mkdir()
    with by.Batchyard(root=pg_project) as app:
        job = app.run(
            "squares",
            {"n": 8, "gate": str(gate), "hold": 3},
            executor=f"dask://127.0.0.1:{cluster.port}",
            timeout=2.0,
            install_signals=False,
        )
        assert (job.status.value, job.done, job.failed) == ("partial", 7, 1)
        (item,) = app.store.list_items(job.id, status=["failed"])[0]
        assert item.key == "3" and "ItemTimeout" in (item.error or "")
        # Let the held attempt go on: its write comes too late and is refused.
        (gate / "release").touch()
        assert when(lambda: cluster.idle(), lambda: None, timeout=30).fired(40)
    assert [k for k, _ in squares(pg_database)] == [0, 1, 2, 4, 5, 6, 7]
    ENGINES.dispose()


def test_the_api_runs_a_job_on_the_cluster(cluster: DaskCluster, tmp_path: Path) -> None:
    """POST /api/jobs with a scheduler's address: the server's runner uses the cluster, and the
    items the API returns say which worker ran them."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "api"))
    from apihelp import Client, finished
    from apihelp import make_project as make_api_project

    from batchyard.api import ServeOptions, create_app

    server = create_app(root=make_api_project(tmp_path / "api"), options=ServeOptions(max_jobs=1))
    try:
        client = Client(server)
        address = f"dask://127.0.0.1:{cluster.port}"
        body = {"kind": "slow", "params": {"n": 6, "sleep": 0.01}, "executor": address}
        response = client.post("/api/jobs", json=body)
        assert response.status_code == 201, response.text
        job = response.json()
        done = client.wait_job(job["id"], finished, timeout=90)
        assert (done["status"], done["done"]) == ("completed", 6)
        assert (done["options"]["executor"], done["options"]["address"]) == (
            "dask",
            cluster.address,
        )
        items = client.get(f"/api/jobs/{job['id']}/items").json()["items"]
        assert {i["worker"] for i in items} <= set(cluster.workers())
        refused = client.post("/api/jobs", json={**body, "executor": "dask://nowhere"})
        assert refused.status_code in (400, 422) and "executor" in refused.text
    finally:
        server.state.service.close()
        ENGINES.dispose()
