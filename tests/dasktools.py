"""A real Dask cluster for the tests: ``dask scheduler`` and ``dask worker`` processes.

On 127.0.0.1 by default. Given ``netns``, each process runs inside a Linux network namespace the
test made (``ip netns exec``), reachable only at that namespace's address.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _in(netns: str | None, cmd: list[str]) -> list[str]:
    return ["ip", "netns", "exec", netns, *cmd] if netns else cmd


class DaskCluster:
    """A scheduler and ``workers`` single-threaded workers (each under a nanny, which starts
    a new worker process when one dies, as in a real deployment)."""

    def __init__(
        self,
        folder: Path,
        *,
        workers: int = 2,
        host: str = "127.0.0.1",
        scheduler_netns: str | None = None,
        worker_netns: Sequence[str | None] = (),
        worker_hosts: Sequence[str] = (),
        env: dict[str, str] | None = None,
        port: int | None = None,
    ) -> None:
        self.folder = folder
        self.host = host
        self.port = port or free_port()
        self.address = f"tcp://{host}:{self.port}"
        self.scheduler_netns = scheduler_netns
        self.worker_netns = list(worker_netns) or [None] * workers
        self.worker_hosts = list(worker_hosts) or [host] * workers
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.procs: list[subprocess.Popen[bytes]] = []

    def _spawn(self, name: str, cmd: list[str], netns: str | None) -> subprocess.Popen[bytes]:
        with open(self.folder / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                _in(netns, cmd),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def start(self, timeout: float = 60) -> DaskCluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._spawn(
            "scheduler",
            [DASK, "scheduler", "--host", self.host, "--port", str(self.port), "--no-dashboard"],
            self.scheduler_netns,
        )
        for n, (netns, host) in enumerate(zip(self.worker_netns, self.worker_hosts, strict=True)):
            self.start_worker(n, netns, host)
        self.wait_for_workers(len(self.worker_netns), timeout)
        return self

    def start_worker(self, n: int, netns: str | None = None, host: str | None = None) -> None:
        self._spawn(
            f"worker{n}",
            [
                DASK,
                "worker",
                self.address,
                "--nthreads",
                "1",
                "--nworkers",
                "1",
                "--no-dashboard",
                "--host",
                host or self.host,
                "--name",
                f"w{n}",
                "--local-directory",
                str(self.folder / f"w{n}"),
                "--death-timeout",
                "60",
            ],
            netns,
        )

    def workers(self) -> dict[str, dict[str, object]]:
        from distributed import Client

        with Client(self.address, timeout=10) as client:
            return dict(client.scheduler_info(n_workers=-1)["workers"])

    def worker_pids(self) -> dict[str, int]:
        """Each worker's address and the pid of its worker process."""
        from distributed import Client

        with Client(self.address, timeout=10) as client:
            return dict(client.run(os.getpid))

    def idle(self) -> bool:
        """True when no worker holds a task (finished, or never started)."""
        from distributed import Client

        with Client(self.address, timeout=10) as client:
            return not any(client.processing().values())

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=timeout) as client:
            client.wait_for_workers(n, timeout=timeout)

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def __enter__(self) -> DaskCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
