"""Helpers for the monitor tests: a landing area of game JSON (some invalid, some empty), written
to a local folder or to a real S3-compatible server (moto) on 127.0.0.1, and the counts each
metric should give, computed here from what was written."""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

DAY = "2024/06/01"


@dataclass
class Landing:
    """What was written: every file's key, bytes and verdict."""

    files: dict[str, bytes] = field(default_factory=dict)

    def under(self, prefix: str, suffix: str = ".json") -> dict[str, bytes]:
        return {k: v for k, v in self.files.items() if k.startswith(prefix) and k.endswith(suffix)}


def verdict(data: bytes) -> str:
    """Independent of the code under test: the standard library, strict about NaN."""
    if not data.strip():
        return "empty"
    try:
        json.loads(data, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError:
        return "invalid"
    return "valid"


def make_landing(n: int = 1000, seed: int = 7) -> Landing:
    """``n`` objects: most under games/2024/06/01/ (some in a nested folder), a few on another
    day, a few .txt files; about 4% invalid JSON and 2% empty."""
    rnd = random.Random(seed)
    landing = Landing()
    for i in range(n):
        day = DAY if i % 20 else "2024/05/31"
        sub = "late/" if i % 7 == 0 else ""
        suffix = ".txt" if i % 50 == 3 else ".json"
        key = f"games/{day}/{sub}game_{i:04d}{suffix}"
        roll = rnd.random()
        if roll < 0.02:
            data = b"" if i % 2 else b"  \n"
        elif roll < 0.06:
            data = rnd.choice([b'{"game": 1, ', b"{'single': 'quotes'}", b'{"x": NaN}', b"[1, 2,]"])
        else:
            doc = {
                "game": i,
                "plays": [{"t": t, "pts": rnd.randint(0, 3)} for t in range(rnd.randint(1, 40))],
            }
            data = json.dumps(doc).encode()
        landing.files[key] = data
    return landing


def write_local(landing: Landing, root: Path) -> None:
    for n, (key, data) in enumerate(sorted(landing.files.items())):
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        stamp = 1_717_200_000 + n  # distinct, known modification times
        os.utime(path, (stamp, stamp))


@contextmanager
def s3_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 (a free port); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # a line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str) -> object:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )


def write_s3(landing: Landing, endpoint: str, bucket: str) -> Callable[[], dict[str, float]]:
    """Upload ``landing`` to ``bucket``; returns a function listing each key's LastModified."""
    client = s3_client(endpoint)
    client.create_bucket(Bucket=bucket)  # type: ignore[attr-defined]

    def put(item: tuple[str, bytes]) -> None:
        client.put_object(Bucket=bucket, Key=item[0], Body=item[1])  # type: ignore[attr-defined]

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, landing.files.items()))

    def modified() -> dict[str, float]:
        out = {}
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)  # type: ignore[attr-defined]
        for page in pages:
            for obj in page.get("Contents", []):
                out[obj["Key"]] = obj["LastModified"].timestamp()
        return out

    return modified
