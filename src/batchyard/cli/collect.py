"""``batchyard collect URL``: resumable HTTP collection over dates, keys or a grid of params."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Any

import typer

from batchyard import pipelines
from batchyard.cli.args import pairs, place, split, workers_option
from batchyard.cli.output import console, err, print_json
from batchyard.cli.run import run_with_display
from batchyard.collect.collector import check_target
from batchyard.collect.spec import Spec
from batchyard.errors import ParamError, UsageError
from batchyard.kinds.collect import missing as find_missing
from batchyard.kinds.collect import target as collect_target
from batchyard.secrets import resolve_params


def _grid(values: list[str]) -> dict[str, list[str]]:
    return {
        name: [v.strip() for v in text.split(",") if v.strip()]
        for name, text in pairs(values, "--grid").items()
    }


def _absolute(path: str | None) -> str | None:
    # Made absolute so a resume or retry from another folder finds the same place.
    return str(Path(path).expanduser().resolve()) if path else None


def register(app: typer.Typer) -> None:
    @app.command()
    def collect(
        ctx: typer.Context,
        url: str = typer.Argument(
            ...,
            help="URL template (such as https://api.example.com/games?date={date}), or the name "
            "of a collect pipeline in pipelines/.",
        ),
        start: str | None = typer.Option(None, "--start", help="First date (YYYY-MM-DD)."),
        end: str | None = typer.Option(None, "--end", help="Last date, included."),
        every: str | None = typer.Option(None, "--every", help="day (default), week or month."),
        keys: list[str] = typer.Option(
            [], "--keys", help="Item keys, such as player ids (repeat or comma-separate)."
        ),
        keys_file: str | None = typer.Option(
            None, "--keys-file", help="A file of item keys, one a line (# comments)."
        ),
        keys_query: str | None = typer.Option(
            None, "--keys-query", help="SQL whose first column gives the item keys."
        ),
        keys_from: str | None = typer.Option(
            None,
            "--keys-from",
            help="Connection for --keys-query (default: the project's connection).",
        ),
        grid: list[str] = typer.Option(
            [], "--grid", help="A grid param as NAME=A,B,C; repeat to cross several."
        ),
        method: str | None = typer.Option(None, "--method", "-X", help="GET (default) or POST."),
        query: list[str] = typer.Option(
            [], "--query", "-q", help="Query param NAME=TEMPLATE (repeatable)."
        ),
        body: str | None = typer.Option(None, "--body", help="JSON body template (POST)."),
        header: list[str] = typer.Option(
            [], "--header", "-H", help="Header NAME=TEMPLATE, not secret (repeatable)."
        ),
        header_env: list[str] = typer.Option(
            [],
            "--header-env",
            help="Header NAME=ENV_VAR: the value is read from that variable when sent.",
        ),
        query_env: list[str] = typer.Option(
            [],
            "--query-env",
            help="Query param NAME=ENV_VAR: the value is read from that variable when sent.",
        ),
        bearer_env: str | None = typer.Option(
            None, "--bearer-env", help="Send Authorization: Bearer with the token in this variable."
        ),
        basic_env: str | None = typer.Option(
            None,
            "--basic-env",
            help="Basic auth from two variables: USER_VAR:PASSWORD_VAR.",
        ),
        records: str | None = typer.Option(
            None, "--records", help="JMESPath selecting the records (default: the whole body)."
        ),
        field: list[str] = typer.Option(
            [], "--field", help="Column COLUMN=JMESPATH of each record (repeatable)."
        ),
        add: list[str] = typer.Option(
            [], "--add", help="Column COLUMN=TEMPLATE added to every row, such as day={date}."
        ),
        table: str | None = typer.Option(None, "--table", help="Write the rows to this table."),
        to: str | None = typer.Option(
            None,
            "--to",
            help="Connection name, URL or SQLite file for --table (default: the project's).",
        ),
        upsert_key: list[str] = typer.Option(
            [],
            "--upsert-key",
            help="Columns that identify a row (default: _item_key and _row, its position).",
        ),
        landing: str | None = typer.Option(
            None, "--landing", help="Also write raw responses as JSON lines, a file per item."
        ),
        paginate: str | None = typer.Option(
            None, "--paginate", help="page, offset, cursor or next (default: one request)."
        ),
        page_param: str | None = typer.Option(
            None, "--page-param", help="Query param of the page, offset or cursor."
        ),
        page_size: int | None = typer.Option(
            None, "--page-size", min=1, help="Records a full page holds."
        ),
        size_param: str | None = typer.Option(
            None, "--size-param", help="Query param that sends --page-size."
        ),
        first_page: int | None = typer.Option(
            None, "--first-page", help="Number of the first page (default 1)."
        ),
        cursor_path: str | None = typer.Option(
            None, "--cursor-path", help="JMESPath of the next cursor in the body."
        ),
        next_path: str | None = typer.Option(
            None, "--next-path", help="JMESPath of the next URL (default: the Link header)."
        ),
        max_pages: int | None = typer.Option(
            None, "--max-pages", min=1, help="Most pages per item (default 10000)."
        ),
        rate: float | None = typer.Option(
            None, "--rate", min=0.001, help="Most requests per second, across all workers."
        ),
        workers: int | None = workers_option("Items (and requests) at once."),
        timeout: float | None = typer.Option(
            None, "--timeout", min=0.001, help="Seconds a request may take (default 30)."
        ),
        retries: int | None = typer.Option(
            None,
            "--retries",
            min=0,
            help="Extra attempts of a request on 429, 5xx and network errors (default 5).",
        ),
        backoff: float | None = typer.Option(
            None, "--backoff", min=0, help="First wait before a retry, doubling (default 0.5s)."
        ),
        max_wait: float | None = typer.Option(
            None, "--max-wait", min=0, help="Longest wait before a retry (default 60s)."
        ),
        show_missing: bool = typer.Option(
            False, "--missing", help="List the items with no rows in the table; fetch nothing."
        ),
        incremental: bool = typer.Option(
            False, "--incremental", help="Collect only the items with no rows in the table."
        ),
        as_json: bool = typer.Option(False, "--json", help="With --missing: print JSON."),
    ) -> None:
        """Collect JSON from an HTTP API: one item per date, key or grid cell, resumable.

        Requests are rate limited and retried (429, 5xx, network errors, honouring Retry-After);
        rows are upserted into --table so reruns never duplicate, and pages are checkpointed so
        a resumed item does not fetch them again. Exit 0: all done; 1: some items failed (see
        `jobs items ID --failed`, rerun them with `jobs retry ID`); 2: bad input.
        """
        state = ctx.obj
        api = state.app
        connections = api.settings.connections
        given: dict[str, Any] = {
            "start": start,
            "end": end,
            "every": every,
            "keys": split(keys) or None,
            "keys_file": _absolute(keys_file),
            "keys_query": keys_query,
            "keys_connection": place(keys_from, connections) if keys_from else None,
            "grid": _grid(grid) or None,
            "method": method,
            "query": pairs(query, "--query") or None,
            "body": _json_body(body),
            "headers": pairs(header, "--header") or None,
            "header_env": header_env or None,
            "query_env": query_env or None,
            "bearer_env": bearer_env,
            "basic_env": basic_env,
            "records": records,
            "fields": pairs(field, "--field") or None,
            "add_columns": pairs(add, "--add") or None,
            "table": table,
            "connection": place(to, connections) if to else None,
            "key": split(upsert_key) or None,
            "landing": _absolute(landing),
            "paginate": paginate,
            "page_param": page_param,
            "page_size": page_size,
            "size_param": size_param,
            "first_page": first_page,
            "cursor_path": cursor_path,
            "next_path": next_path,
            "max_pages": max_pages,
            "rate": rate,
            "concurrency": workers,
            "timeout": timeout,
            "request_retries": retries,
            "backoff": backoff,
            "max_wait": max_wait,
            "incremental": incremental or None,
        }
        params = {k: v for k, v in given.items() if v is not None}
        target = "collect"
        if pipelines.exists(api.settings.root, url):
            pipeline = pipelines.load(api.settings.root, url)
            if pipeline.kind != "collect":
                raise UsageError(f"pipeline {url!r} is of kind {pipeline.kind!r}, not collect")
            target = url
            merged = {**pipeline.params, **params}
        else:
            if "{" not in url and "://" not in url:
                raise UsageError(
                    f"{url!r} is neither a URL nor a pipeline in {api.settings.root / 'pipelines'}"
                )
            params["url"] = url
            merged = params
        kind = api.kind("collect")
        # Checked before the store is touched, so a bad template or path records nothing.
        parsed = kind.parse_params(resolve_params(merged))
        spec = Spec.from_params(kind.dump_params(parsed))
        if show_missing:
            _report_missing(kind.dump_params(parsed), api, as_json)
            return
        spec.check_env()
        if spec.table:
            check_target(collect_target(spec, api.settings))
        job = api.submit(target, params)
        err.print(f"job {job.id}: {job.total:,} item(s)")
        run_with_display(state, job.name, lambda **kw: api.execute(job.id, **kw))


def _json_body(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParamError(f"--body is not valid JSON: {exc}") from exc


def _report_missing(params: dict[str, Any], api: Any, as_json: bool) -> None:
    total, found = find_missing(params, api.settings)
    if as_json:
        print_json({"table": params.get("table"), "total": total, "missing": found})
        return
    err.print(f"{len(found)} of {total} item(s) have no rows in table {params.get('table')!r}")
    for key in found:
        console.print(key)


def register_feed(app: typer.Typer) -> None:
    @app.command("demo-feed", hidden=True)
    def demo_feed(
        port: int = typer.Option(
            0, "--port", min=0, max=65535, help="Port on 127.0.0.1 (0: any free one)."
        ),
        url_file: Path | None = typer.Option(
            None, "--url-file", help="Write the feed's URL to this file once it listens."
        ),
        seconds: float | None = typer.Option(
            None, "--for", min=0.1, help="Stop after this many seconds (default: when stopped)."
        ),
    ) -> None:
        """Serve the demo's feed of daily scores on 127.0.0.1 until stopped."""
        from batchyard.collect.feed import ScoresFeed  # (http.server: loaded only for the demo)

        try:
            feed = ScoresFeed(port=port).start()
        except OSError as exc:
            raise UsageError(f"--port {port}: cannot listen on 127.0.0.1: {exc.strerror}") from exc
        if url_file is not None:
            tmp = url_file.with_name(url_file.name + ".tmp")
            tmp.write_text(feed.url + "\n", encoding="utf-8")
            tmp.replace(url_file)  # whole or absent: a reader never sees half a URL
        console.print(f"serving daily scores at {feed.url}/scores?date=2024-06-01")
        stopped = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopped.set())
        try:
            stopped.wait(seconds)
        except KeyboardInterrupt:
            pass
        finally:
            feed.stop()
            if url_file is not None:
                url_file.unlink(missing_ok=True)
