"""The demo's scores feed: a season of daily baseball scores as paginated JSON on 127.0.0.1.

``GET /scores?date=2024-06-01&page=1`` answers ``{"date", "page", "games": [...], "next": URL or
null}``, the same for the same date every time. It behaves like the APIs ``collect`` is for: the
first request of some dates gets a 429 with a short Retry-After, and the All-Star break has no
games, so those dates stay missing.
"""

from __future__ import annotations

import json
import random
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

TEAMS = [
    "Braves", "Cubs", "Dodgers", "Giants", "Mets", "Orioles", "Padres", "Phillies", "Red Sox",
    "Rockies", "Tigers", "Twins", "Yankees", "Astros", "Mariners", "Guardians",
]  # fmt: skip
PER_PAGE = 3
ALL_STAR_BREAK = (date(2024, 7, 15), date(2024, 7, 18))


def games(day: date) -> list[dict[str, object]]:
    """The games of ``day``: eight, or none in the All-Star break."""
    if ALL_STAR_BREAK[0] <= day <= ALL_STAR_BREAK[1]:
        return []
    rng = random.Random(day.toordinal())
    teams = rng.sample(TEAMS, k=16)
    return [
        {
            "game_id": f"{day:%Y%m%d}-{n}",
            "home": home,
            "away": away,
            "score": {"home": rng.randint(0, 12), "away": rng.randint(0, 12)},
        }
        for n, (home, away) in enumerate(zip(teams[::2], teams[1::2], strict=True), start=1)
    ]


class ScoresFeed:
    """The feed, served from a background thread until ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._throttled: set[str] = set()
        self._lock = threading.Lock()
        self.requests = 0
        self.server = ThreadingHTTPServer((host, port), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"

    def start(self) -> ScoresFeed:
        threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name="scores-feed", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path: str) -> tuple[int, dict[str, str], dict[str, object]]:
        parts = urlsplit(path)
        if parts.path != "/scores":
            return 404, {}, {"error": f"no such feed {parts.path}; try /scores?date=2024-06-01"}
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            day = date.fromisoformat(query.get("date", ""))
            page = int(query.get("page", "1"))
        except ValueError:
            return 400, {}, {"error": "give date=YYYY-MM-DD and page=N"}
        with self._lock:
            self.requests += 1
            # Like a real API under load: now and then, "come back in a moment".
            first = day.day % 9 == 0 and page == 1 and day.isoformat() not in self._throttled
            self._throttled.add(day.isoformat())
        if first:
            return 429, {"Retry-After": "0.2"}, {"error": "rate limited"}
        found = games(day)
        chunk = found[(page - 1) * PER_PAGE : page * PER_PAGE]
        more = page * PER_PAGE < len(found)
        nxt = f"/scores?{urlencode({'date': day.isoformat(), 'page': page + 1})}" if more else None
        return 200, {}, {"date": day.isoformat(), "page": page, "games": chunk, "next": nxt}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = feed.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                for name, value in {"Content-Type": "application/json", **headers}.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
