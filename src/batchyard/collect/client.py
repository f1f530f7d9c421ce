"""The HTTP client of ``collect`` and of custom kinds: a shared rate limit, a concurrency limit,
timeouts, and retries with exponential backoff and jitter on 429, 5xx and network errors that
honour the server's Retry-After. Errors name the URL with its secrets masked.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from batchyard.collect.ratelimit import RateLimit
from batchyard.engine.retry import Retry
from batchyard.errors import HttpError, Interrupted, UsageError
from batchyard.secrets import MASK, is_secret_name, redact

if TYPE_CHECKING:
    import httpx

SNIPPET = 200


def retry_after(response: httpx.Response) -> float | None:
    """Seconds the server asked us to wait: Retry-After as seconds or as an HTTP date."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def snippet(text: str, secrets: Sequence[str] = ()) -> str:
    """The start of a body, on one line, secrets masked."""
    flat = " ".join(text.split())
    cut = flat[:SNIPPET] + ("..." if len(flat) > SNIPPET else "")
    return redact(cut, tuple(secrets))


class HttpClient:
    """Send requests with a shared rate limit and retries; thread-safe, one per job or kind.

    ``rate`` is requests per second across every thread using this client; ``concurrency`` the
    most requests in flight at once; ``retries`` the extra attempts on 429, 5xx and network
    errors (or a :class:`~batchyard.Retry`), waiting ``backoff * 2**(n-1)`` seconds with jitter
    (at most ``max_wait``), or what Retry-After says. ``secrets`` are masked in every error.
    """

    def __init__(
        self,
        *,
        rate: float | None = None,
        concurrency: int | None = None,
        timeout: float = 30.0,
        retries: int | Retry = 5,
        backoff: float = 0.5,
        max_wait: float = 60.0,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        secrets: Sequence[str] = (),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if timeout <= 0:
            raise UsageError(f"timeout={timeout}: give seconds > 0")
        if concurrency is not None and concurrency < 1:
            raise UsageError(f"concurrency={concurrency}: give at least 1")
        if isinstance(retries, Retry):
            self.retry = retries
        else:
            if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
                raise UsageError(f"retries={retries!r}: give a number of retries (>= 0)")
            self.retry = Retry(attempts=retries + 1, delay=backoff, max_delay=max_wait)
        self.max_wait = max_wait
        self.limit = RateLimit(rate)
        self._slots = threading.BoundedSemaphore(concurrency) if concurrency else None
        self.secrets = tuple(s for s in secrets if s)
        import httpx  # (here, not at the top: every batchyard command would pay for it)

        self._client = httpx.Client(
            timeout=timeout,
            headers=dict(headers or {}),
            auth=auth,
            transport=transport,
            follow_redirects=True,
            event_hooks={"request": [self._guard_redirect]},
        )
        self._lock = threading.Lock()
        self.requests = 0
        self.retried = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def mask(self, text: str) -> str:
        """``text`` with this client's secrets, URL passwords and secret-named query values
        masked."""
        return redact(_mask_query(text), self.secrets)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> httpx.Response:
        """Send one request, retrying 429, 5xx and network errors; return a 2xx/3xx response.

        Raises :class:`HttpError` for a 4xx other than 429 and when retries run out, and
        ``Interrupted`` when ``should_stop`` turns true while it waits.
        """
        import httpx

        attempt = 0
        while True:
            attempt += 1
            if not self.limit.acquire(should_stop):
                raise Interrupted("stopped while waiting for the rate limit")
            # Query params are added to the URL's own (httpx would replace them).
            full = _full_url(url, params)
            shown = self.mask(full)
            try:
                response = self._send(method, full, json, data, headers)
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
                # The request cannot be sent as it is (a file:// URL, a header with a line
                # break): every attempt would fail the same way.
                raise HttpError(
                    f"{method} {shown}: {type(exc).__name__}: {self.mask(str(exc))} (not retried: "
                    "the request cannot be sent as it is)",
                    url=shown,
                ) from None
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt < self.retry.attempts:
                    self._wait(self.retry.wait(attempt), should_stop)
                    continue
                raise HttpError(
                    f"{method} {shown}: {self.mask(problem)} (after {attempt} attempt(s))",
                    url=shown,
                ) from None
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt < self.retry.attempts:
                    asked = retry_after(response)
                    pause = min(asked, self.max_wait) if asked is not None else None
                    if pause is not None and status == 429:
                        self.limit.defer(pause)
                    self._wait(
                        pause if pause is not None else self.retry.wait(attempt), should_stop
                    )
                    continue
                raise self._error(method, shown, response, f" (after {attempt} attempt(s))")
            if status >= 400:
                raise self._error(method, shown, response, "")
            return response

    def get_json(self, method: str, url: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        """``request``, then the body as JSON; a body that is not JSON is an :class:`HttpError`."""
        response = self.request(method, url, **kwargs)
        try:
            return response.json(), response
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            shown = self.mask(str(response.request.url))
            body = snippet(response.text, self.secrets)
            raise HttpError(
                f"{method} {shown}: HTTP {response.status_code} but the body is not JSON "
                f"({exc}): {body!r}",
                url=shown,
                status=response.status_code,
                snippet=body,
            ) from None

    def _send(
        self,
        method: str,
        url: str,
        body: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx.Response:
        import httpx

        with self._lock:
            self.requests += 1
        # Redirects keep the extensions: the hook compares each hop with where the request began.
        origin = {_ORIGIN: _origin_of(httpx.URL(url))}
        send = self._client.request
        if self._slots is None:
            return send(method, url, json=body, data=data, headers=headers, extensions=origin)
        with self._slots:
            return send(method, url, json=body, data=data, headers=headers, extensions=origin)

    def _guard_redirect(self, request: httpx.Request) -> None:
        """On a redirect to another origin, drop the headers that carry a secret (httpx drops
        only Authorization)."""
        began = request.extensions.get(_ORIGIN)
        now = _origin_of(request.url)
        upgrade = began is not None and began[:2] == ("http", now[1]) and now[0] == "https"
        if began is None or now == began or upgrade:  # an upgrade to https, as httpx allows
            return
        for name, value in list(request.headers.items()):
            if is_secret_name(name) or any(s in value for s in self.secrets):
                del request.headers[name]

    def _wait(self, seconds: float, should_stop: Callable[[], bool] | None) -> None:
        with self._lock:
            self.retried += 1
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if should_stop is not None and should_stop():
                raise Interrupted("stopped while waiting to retry a request")
            time.sleep(min(left, 0.1))

    def _error(self, method: str, shown: str, response: httpx.Response, extra: str) -> HttpError:
        body = snippet(response.text, self.secrets)
        reason = f" {response.reason_phrase}" if response.reason_phrase else ""
        return HttpError(
            f"{method} {shown}: HTTP {response.status_code}{reason}{extra}: {body!r}",
            url=shown,
            status=response.status_code,
            snippet=body,
        )


_ORIGIN = "batchyard_origin"


def _origin_of(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or {"http": 80, "https": 443}.get(url.scheme)


def _full_url(url: str, params: Mapping[str, Any] | None) -> str:
    if not params:
        return url
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)


def _mask_query(text: str) -> str:
    """Mask query values under secret-looking names (``api_key=...``, ``token=...``)."""
    if "?" not in text:
        return text
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if not parts.query:
        return text
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_name(k) for k, _ in pairs):
        return text
    query = "&".join(f"{k}={MASK}" if is_secret_name(k) else urlencode({k: v}) for k, v in pairs)
    return urlunsplit(parts._replace(query=query))


def http_client(
    *,
    rate: float | None = None,
    concurrency: int | None = None,
    timeout: float = 30.0,
    retries: int | Retry = 5,
    backoff: float = 0.5,
    max_wait: float = 60.0,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    secrets: Sequence[str] = (),
) -> HttpClient:
    """An HTTP client with the rate limit, retries and Retry-After handling of ``collect``.

    Make one per kind (at module level, say) and share it across the kind's items: the rate limit
    holds across every thread that uses it.
    """
    return HttpClient(
        rate=rate,
        concurrency=concurrency,
        timeout=timeout,
        retries=retries,
        backoff=backoff,
        max_wait=max_wait,
        headers=headers,
        auth=auth,
        secrets=secrets,
    )
