"""A real HTTP server for the collect tests: paginated JSON per date, with faults on demand.

``GET /games?date=D&page=P&per_page=N`` answers ``{"date", "page", "games": [...]}``; each date has
``GAMES`` games, ``PER_PAGE`` a page. Faults are planned per (date, page): a list of what the first
requests get ("429", "503", "slow", "bad"), and ``broken`` (date, page) pairs answer a malformed body
until ``fixed``. Every request is counted per (date, page), and successful ones separately.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

GAMES = 10
PER_PAGE = 4


def days(start: str, n: int) -> list[str]:
    first = date.fromisoformat(start)
    return [(first + timedelta(days=i)).isoformat() for i in range(n)]


def games_of(day: str, total: int = GAMES) -> list[dict[str, object]]:
    return [
        {"id": f"{day}-{i}", "home": f"T{i % 7}", "away": f"T{(i + 3) % 7}", "runs": i % 5}
        for i in range(total)
    ]


class Feed:
    def __init__(self, *, slow: float = 0.6, retry_after: str = "0.2", latency: float = 0.0):
        self.faults: dict[tuple[str, int], list[str]] = {}
        self.broken: set[tuple[str, int]] = set()
        self.empty: set[str] = set()
        self.slow = slow
        self.retry_after = retry_after
        self.latency = latency
        self.hits: Counter[tuple[str, int]] = Counter()
        self.ok: Counter[tuple[str, int]] = Counter()
        self.times: list[float] = []
        self.headers: list[dict[str, str]] = []
        #: The ``key`` query param of each page served by a paginated path, when it has one.
        self.keys: list[str] = []
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def fix(self) -> None:
        with self._lock:
            self.broken.clear()

    def _answer(self, day: str, page: int, per_page: int) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.hits[(day, page)] += 1
            self.times.append(time.monotonic())
            planned = self.faults.get((day, page))
            fault = planned.pop(0) if planned else None
            if (day, page) in self.broken:
                fault = "bad"
        if fault == "429":
            return 429, {"Retry-After": self.retry_after}, b'{"error": "slow down"}'
        if fault == "503":
            return 503, {}, b"<html>upstream unavailable</html>"
        if fault == "bad":
            return 200, {}, b'{"date": "' + day.encode() + b'", "games": [{"id": '
        if fault == "slow":
            time.sleep(self.slow)
        if self.latency:
            time.sleep(self.latency)
        total = 0 if day in self.empty else GAMES
        chunk = games_of(day, total)[(page - 1) * per_page : page * per_page]
        with self._lock:
            self.ok[(day, page)] += 1
        body = {"date": day, "page": page, "games": chunk}
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def _styled(self, path: str, q: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """The same 10 games of q["date"], paged by offset, cursor, Link header or body link."""
        day = q.get("date", "")
        games = games_of(day)
        if path == "/offset":
            start, size = int(q.get("offset", "0")), int(q.get("limit", "4"))
            page = start // size + 1
        else:
            page, size = int(q.get("page", q.get("after", "1"))), 4
            start = (page - 1) * size
        with self._lock:
            self.hits[(day, page)] += 1
            if (day, page) in self.broken:
                return 200, {}, b'{"data": {"rows": ['
            self.ok[(day, page)] += 1
            if "key" in q:
                self.keys.append(q["key"])
        body: dict[str, object] = {"data": {"rows": games[start : start + size]}}
        more = start + size < len(games)
        headers = {"Content-Type": "application/json"}
        if path == "/cursor":
            body["paging"] = {"after": str(page + 1) if more else None}
        elif path == "/linked" and more:
            headers["Link"] = f'<{self.url}/linked?date={day}&page={page + 1}>; rel="next"'
        elif path == "/nextbody":
            # As many APIs do, the next link repeats the caller's key.
            key = f"&key={q['key']}" if "key" in q else ""
            body["next"] = f"/nextbody?date={day}&page={page + 1}{key}" if more else None
        return 200, headers, json.dumps(body).encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                q = {k: v[0] for k, v in parse_qs(parts.query).items()}
                with feed._lock:
                    feed.headers.append(dict(self.headers))
                if parts.path == "/redirect":  # to q["to"], wherever that is
                    status, headers, body = 302, {"Location": q["to"]}, b""
                elif parts.path.startswith("/missing"):
                    status, headers, body = 404, {}, b'{"error": "no such feed"}'
                elif parts.path in ("/offset", "/cursor", "/linked", "/nextbody"):
                    status, headers, body = feed._styled(parts.path, q)
                else:
                    status, headers, body = feed._answer(
                        q.get("date", ""), int(q.get("page", "1")), int(q.get("per_page", PER_PAGE))
                    )
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

        return Handler

    def start(self) -> Feed:
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving(**kwargs: float | str) -> Iterator[Feed]:
    feed = Feed(**kwargs).start()  # type: ignore[arg-type]
    try:
        yield feed
    finally:
        feed.stop()
