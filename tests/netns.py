"""Hosts for multi-host tests on one machine: Linux network namespaces the test makes itself.

Each :class:`Hosts` host is a network namespace with one address on a private /24 joined by a
bridge in the test's own namespace (which gets the subnet's ``.254``, so the test reaches every
host; the hosts reach one another and the test). Nothing leaves the machine: the subnet exists only
on the bridge. Needs root (``ip netns``); :func:`can_make_hosts` says whether this machine allows it.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from pgserver import _bindir


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def can_make_hosts() -> str | None:
    """None when network namespaces can be made here; else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    name = f"byprobe{os.getpid()}"
    made = _ip("netns", "add", name, check=False)
    if made.returncode != 0:
        return f"ip netns add is refused here: {made.stderr.strip()}"
    _ip("netns", "del", name, check=False)
    return None


class Hosts:
    """``names`` hosts, each a namespace at ``10.213.N.k``; ``address(name)`` and ``run_in``."""

    def __init__(self, *names: str) -> None:
        self.tag = f"{os.getpid() % 10000}{random.randint(0, 99)}"
        self.subnet = random.randint(1, 250)
        self.bridge = f"bybr{self.tag}"[:15]
        self.ns = {name: f"by{self.tag}{name}"[:30] for name in names}
        self.addresses = {name: f"10.213.{self.subnet}.{i + 1}" for i, name in enumerate(names)}
        self.here = f"10.213.{self.subnet}.254"

    def start(self) -> Hosts:
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.here}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, (name, ns) in enumerate(self.ns.items()):
            outside, inside = f"byv{self.tag}{i}o"[:15], f"byv{self.tag}{i}i"[:15]
            _ip("netns", "add", ns)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", ns)
            _ip("link", "set", outside, "master", self.bridge)
            _ip("link", "set", outside, "up")
            _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
            _ip(
                "netns",
                "exec",
                ns,
                "ip",
                "addr",
                "add",
                f"{self.addresses[name]}/24",
                "dev",
                inside,
            )
            _ip("netns", "exec", ns, "ip", "link", "set", inside, "up")
        return self

    def stop(self) -> None:
        for ns in self.ns.values():
            _ip("netns", "del", ns, check=False)  # (its veth ends go with it)
        _ip("link", "del", self.bridge, check=False)

    def __enter__(self) -> Hosts:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PostgresOnHost:
    """A throwaway PostgreSQL server inside a host's namespace, listening on its address only."""

    def __init__(self, netns: str, host: str, port: int = 5432) -> None:
        self.netns, self.host, self.port = netns, host, port
        self.bindir = _bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="batchyard-pgns-"))
        self.data = self.dir / "data"

    def _cmd(self, *args: str) -> list[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return ["ip", "netns", "exec", self.netns, *cmd]

    def start(self) -> str:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            self._cmd(
                "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync"
            ),
            check=True,
            capture_output=True,
        )
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write("host all all 10.213.0.0/16 trust\n")
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses={self.host} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
        )
        subprocess.run(
            self._cmd(
                "pg_ctl",
                "-D",
                str(self.data),
                "-l",
                str(self.dir / "log"),
                "-o",
                opts,
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
        )
        for _ in range(100):
            ready = subprocess.run(
                self._cmd("pg_isready", "-h", self.host, "-p", str(self.port)), capture_output=True
            )
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True,
        )
        shutil.rmtree(self.dir, ignore_errors=True)
