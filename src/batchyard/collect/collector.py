"""One collect item: fetch its pages, extract rows, write them and checkpoint after each page.

Each page's rows are upserted (so a page fetched again rewrites, never adds), its raw response is
appended to the landing file, and then the page cursor is checkpointed: a resumed item starts at
the page after the last one checkpointed, and an item already done is never fetched again.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import sqlalchemy as sa

from batchyard.collect import extract, landing, templates
from batchyard.collect.client import HttpClient, snippet
from batchyard.collect.items import item_variables
from batchyard.collect.spec import DEFAULT_KEY, Spec
from batchyard.config import Settings
from batchyard.db import Database, parse_url, reason
from batchyard.engine.context import Context
from batchyard.errors import HttpError, NothingSelected, ParamError
from batchyard.secrets import mask_url, referenced_values

_lock = threading.Lock()
#: One client per job in this process, so its rate limit holds across the job's worker threads.
_clients: dict[str, tuple[Spec, HttpClient]] = {}


def for_job(ctx: Context) -> tuple[Spec, HttpClient]:
    """The job's spec and shared client, made by the first item that needs them."""
    with _lock:
        found = _clients.get(ctx.job_id)
        if found is not None:
            return found
        spec = Spec.from_params(ctx.params.model_dump(mode="json"))
        p = ctx.params
        # The values of ${VAR} references in the job's stored params are secrets to mask too.
        stored = ctx.store.get_job(ctx.job_id).params
        secrets = [*spec.secrets(), *ctx.secrets, *referenced_values(stored)]
        client = HttpClient(
            rate=p.get("rate"),
            concurrency=p.get("concurrency"),
            timeout=float(p.get("timeout") or 30.0),
            retries=int(p.get("request_retries", 5)),
            backoff=float(p.get("backoff", 0.5)),
            max_wait=float(p.get("max_wait", 60.0)),
            headers={**spec.secret_headers()},
            auth=spec.basic_auth(),
            secrets=secrets,
        )
        _clients[ctx.job_id] = (spec, client)
        return spec, client


def release(job_id: str) -> None:
    with _lock:
        found = _clients.pop(job_id, None)
    if found is not None:
        found[1].close()


def _keyless(state: dict[str, Any] | None, spec: Spec, client: HttpClient) -> dict[str, Any] | None:
    """The next page's state without the secrets a next link may repeat (``?api_key=...``): it
    is checkpointed in the store, and the request adds them again from the environment."""
    if state is None or not state.get("url"):
        return state
    parts = urlsplit(state["url"])
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if k not in spec.query_env and v not in client.secrets]
    if len(kept) == len(pairs):
        return state
    return {**state, "url": urlunsplit(parts._replace(query=urlencode(kept)))}


def target_url(settings: Settings, connection: str | None) -> str:
    return settings.resolve(connection) if connection else settings.connection_url(None)


def check_target(url: str) -> None:
    """The table's database is one batchyard writes to and, for PostgreSQL, answers now: a
    refused connection is named once, before any request, not retried item after item."""
    where = f"param 'connection' (--to) {mask_url(url)}"
    try:
        parsed = parse_url(url, error=ParamError)
    except ParamError as exc:
        raise ParamError(f"{where}: {exc}") from exc
    if parsed.get_backend_name() != "postgresql":
        return  # a SQLite file is made by the first write
    engine = Database.of(url).engine(pool_size=1, error=ParamError)
    try:
        with engine.connect():
            pass
    except sa.exc.SQLAlchemyError as exc:
        raise ParamError(f"{where}: cannot connect: {reason(exc)}") from exc
    finally:
        engine.dispose()


def collect(value: dict[str, Any], ctx: Context) -> dict[str, Any]:
    spec, client = for_job(ctx)
    variables = item_variables(ctx.item_key, value)
    pages = spec.pages
    cursor = ctx.cursor or {"next": pages.start(), "rows": 0, "pages": 0, "lines": 0}
    file = landing.path_for(spec.landing, ctx.item_key) if spec.landing else None
    if file is not None:
        landing.keep_lines(file, int(cursor["lines"]))
    url = target_url(ctx.settings, spec.connection) if spec.table else None
    state = cursor["next"]
    while state is not None:
        page_vars = {**variables, **pages.variables(state)} if pages.style else variables
        if state.get("url"):
            # A next link carries its own query; a key read from the environment may not be in it.
            given = {k for k, _ in parse_qsl(urlsplit(state["url"]).query)}
            address = state["url"]
            query = {k: v for k, v in spec.secret_query().items() if k not in given}
        else:
            address = templates.render(spec.url, page_vars)
            query = {
                **templates.render_value(spec.query, page_vars),
                **pages.query(state),
                **spec.secret_query(),
            }
        body = templates.render_value(spec.body, page_vars) if spec.body is not None else None
        headers = templates.render_value(spec.headers, page_vars)
        data, response = client.get_json(
            spec.method,
            address,
            params=query,
            json=body,
            headers=headers,
            should_stop=lambda: ctx.should_stop,
        )
        try:
            found = extract.records(data, spec.records)
        except NothingSelected as exc:
            shown = client.mask(str(response.request.url))
            raise HttpError(
                f"{spec.method} {shown}: HTTP {response.status_code}, but the records path "
                f"{exc} selects nothing in the body: {snippet(response.text, client.secrets)!r}",
                url=shown,
                status=response.status_code,
            ) from None
        now = datetime.now(UTC)
        constants = {k: templates.render_value(v, page_vars) for k, v in spec.add_columns.items()}
        rows = extract.rows(found, spec.fields, {**constants, "_collected_at": now})
        if spec.key == DEFAULT_KEY:
            for i, row in enumerate(rows):
                row["_item_key"] = ctx.item_key  # the key is checked before lineage is added
                row["_row"] = int(cursor["rows"]) + i
        if spec.table and rows:
            ctx.write(spec.table, rows, key=list(spec.key), connection=url)
        if file is not None:
            landing.append(
                file,
                {
                    "item": ctx.item_key,
                    "page": int(cursor["pages"]) + 1,
                    "url": client.mask(str(response.request.url)),
                    "status": response.status_code,
                    "collected_at": now.isoformat(),
                    "body": data,
                },
            )
        ctx.add_rows(read=len(found))
        state = _keyless(pages.advance(state, data, response, len(found)), spec, client)
        cursor = {
            "next": state,
            "rows": int(cursor["rows"]) + len(rows),
            "pages": int(cursor["pages"]) + 1,
            "lines": int(cursor["lines"]) + (1 if file is not None else 0),
        }
        ctx.checkpoint(cursor)
    return {"pages": cursor["pages"], "rows": cursor["rows"]}
