"""The params of the built-in kinds: one model per kind, which its plan function takes.

They live apart from the kinds' code so that listing kinds (``batchyard kinds``, the API's forms)
and checking a job's params load pydantic and nothing the kinds need to run (SQLAlchemy, DuckDB,
Arrow, httpx): this module imports no more than the engine's :class:`Params`.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import Field

from batchyard.engine.params import Params
from batchyard.generate import DEFAULT_CHUNK_ROWS, DEFAULT_SEED
from batchyard.profile import EXACT_BELOW, SAMPLE_ROWS, TOP
from batchyard.project import MAX_WORKERS


class BackupParams(Params):
    """Which database, and where its backups go."""

    source: str
    #: The backup's name (default: made from the source).
    name: str | None = None
    #: The folder of backups (default: the project's ``.batchyard/backups``).
    dir: str | None = None
    #: How many backups of that name to keep (the oldest are deleted).
    keep: int | None = None
    #: ``auto``, ``sqlite``, ``pg_dump`` or ``copy``.
    method: str = "auto"


class RestoreParams(Params):
    """Which backup, into which database."""

    #: A backup's folder, or a name (its newest backup).
    backup: str
    target: str
    replace: bool = False
    dir: str | None = None


class BatchParams(Params):
    """Which pipelines, how many at once, and whether the first failure stops the rest."""

    pipelines: list[str]
    parallel: Annotated[int, Field(ge=1, le=64)] = 1
    stop_on_error: bool = False


class CollectParams(Params):
    """Where to fetch from, what to plan items over, how to page and pace, and where rows go
    (see docs/collect.md)."""

    url: str
    method: str = "GET"
    start: date | None = None
    end: date | None = None
    every: str = "day"
    keys: list[str] = []
    keys_file: str | None = None
    keys_query: str | None = None
    keys_connection: str | None = None
    grid: dict[str, list[Any]] = {}
    query: dict[str, Any] = {}
    body: Any = None
    headers: dict[str, str] = {}
    header_env: list[str] = []
    query_env: list[str] = []
    bearer_env: str | None = None
    basic_env: str | None = None
    records: str | None = None
    fields: dict[str, str] = {}
    add_columns: dict[str, str] = {}
    table: str | None = None
    connection: str | None = None
    key: list[str] = []
    landing: str | None = None
    paginate: str | None = None
    page_param: str | None = None
    page_size: Annotated[int, Field(ge=1)] | None = None
    size_param: str | None = None
    first_page: int = 1
    cursor_path: str | None = None
    next_path: str | None = None
    max_pages: Annotated[int, Field(ge=1)] = 10_000
    rate: Annotated[float, Field(gt=0)] | None = None
    concurrency: Annotated[int, Field(ge=1, le=MAX_WORKERS)] | None = None
    timeout: Annotated[float, Field(gt=0)] = 30.0
    request_retries: Annotated[int, Field(ge=0, le=100)] = 5
    backoff: Annotated[float, Field(ge=0)] = 0.5
    max_wait: Annotated[float, Field(ge=0)] = 60.0
    incremental: bool = False


class ExportParams(Params):
    """Which tables (or query) of which database, into which files."""

    source: str
    #: A file (one table, its suffix saying the format) or a folder.
    to: str
    format: str = "parquet"
    tables: list[str] = []
    where: str | None = None
    columns: list[str] = []
    overwrite: bool = False
    query: str | None = None


class GenerateParams(Params):
    """Which dataset, how big, and where to (``batchyard generate`` gives these from its flags)."""

    #: sports, retail, finance or healthcare.
    dataset: str
    #: A connection, URL, SQLite file or folder (default: the project's connection).
    to: str | None = None
    format: str | None = None
    scale: str | float = "1"
    #: With ``table``: this many rows for that table.
    rows: int | None = None
    table: str | None = None
    seed: int = DEFAULT_SEED
    #: The share of rows given a planted defect, listed in the manifest.
    inject_errors: float = 0.0
    manifest: str | None = None
    if_exists: str = "fail"
    chunk_rows: int = DEFAULT_CHUNK_ROWS


class ImportParams(Params):
    """Which file (or export's folder), into which table of which database, and what to do with
    bad rows."""

    file: str
    target: str
    table: str | None = None
    format: str | None = None
    mode: str = "append"
    key: list[str] = []
    types: list[str] = []
    #: Read the whole file before writing any of it (default: for files under 64 MB).
    atomic: bool | None = None
    quarantine: str | None = None
    from_table: str | None = None
    rules: str | None = None
    strict_types: bool = False


class InspectParams(Params):
    """Which databases, which tables, and where the catalogue goes."""

    sources: list[str]
    output: str | None = None
    format: str | None = None
    tables: list[str] = []


class MigrateParams(Params):
    """What to copy, from where to where (``batchyard migrate`` gives these from its flags)."""

    #: Connection names, URLs or SQLite files.
    source: str
    target: str
    tables: list[str] = []
    exclude: list[str] = []
    if_exists: Literal["fail", "replace", "append", "resume"] = "fail"
    #: ``table.column=TYPE``: a column's type in the target.
    types: list[str] = []
    #: ``table.column``: leave out rows whose value there does not fit its type.
    skip_bad: list[str] = []
    #: Rows per item and per committed batch (0: automatic).
    chunk_rows: Annotated[int, Field(ge=0)] = 0
    batch_rows: Annotated[int, Field(ge=0)] = 0
    #: ``table=col1,col2``: keys for tables without a primary key.
    keys: list[str] = []
    verify: bool = False
    keep_checkpoints: bool = False


class MonitorParams(Params):
    """Which monitors (default: every one in the project's monitors/ folder)."""

    monitors: list[str] = []


class SummaryParams(Params):
    """Which database and tables, and how closely to count."""

    target: str
    tables: list[str] = []
    #: Tables with fewer rows are counted exactly; larger ones from a sample.
    exact_below: int = EXACT_BELOW
    sample_rows: int = SAMPLE_ROWS
    #: How many top values per column.
    top: int = TOP


class ValidateParams(Params):
    """Which data, which rules, and at which severity a failing rule fails the result."""

    target: str
    rules: str
    tables: list[str] = []
    where: str | None = None
    fail_on: str = "error"


class VerifyParams(Params):
    """Which two databases, which tables, and whether to find the rows that differ."""

    #: Connection names, URLs or SQLite files.
    source: str
    target: str
    tables: list[str] = []
    diff: bool = False
    #: The most differing rows reported per table.
    max_diff: Annotated[int, Field(ge=1)] = 100
    #: ``table=col1,col2``: keys for tables without a primary key.
    keys: list[str] = []
