"""What an item function gets as ``ctx``: its job and key, checkpoints, writes and a log."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol

from typing_extensions import TypeVar

from batchyard.engine.params import Params
from batchyard.errors import Interrupted, UsageError
from batchyard.secrets import redact

if TYPE_CHECKING:
    # Types only: a project's jobs.py names ``by.Context`` when it loads, which should not load
    # the store (SQLAlchemy) for commands that only list its kinds.
    from sqlalchemy.engine import Connection

    from batchyard.config import Settings
    from batchyard.store import Store
    from batchyard.store.models import Job

logger = logging.getLogger("batchyard.job")

#: The kind's params model: ``ctx: Context[MyParams]`` types ``ctx.params`` as ``MyParams``.
P = TypeVar("P", bound=Params, default=Params, covariant=True)


class Jobs(Protocol):
    """What ``ctx.app`` offers an item: the project's jobs, to start or look at others.

    :class:`batchyard.Batchyard` implements it; the engine only ever sees this much of it.
    """

    @property
    def store(self) -> Store: ...

    def job(self, job_id: str) -> Job: ...

    def submit(
        self,
        target: str,
        params: Mapping[str, Any] | None = None,
        *,
        env: str | None = None,
        parent_id: str | None = None,
    ) -> Job: ...

    def execute(
        self, job_id: str, *, install_signals: bool = True, stop: StopFlag | None = None
    ) -> Job: ...


class JobsFactory(Protocol):
    """Makes the :class:`Jobs` of a project from its settings and store: the class
    :class:`batchyard.Batchyard` is one. Picklable, so worker processes make their own."""

    def __call__(self, settings: Settings, *, store: Store) -> Jobs: ...


class StopFlag:
    """Set when the job is stopping; shared by the runner and every item of a process."""

    def __init__(self, event: Any = None, *, parent: StopFlag | None = None) -> None:
        self._event = event if event is not None else threading.Event()
        self._parent = parent

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        """Set here, or on the flag of the job that started this one (a batch)."""
        return bool(self._event.is_set()) or (self._parent is not None and self._parent.is_set())


@dataclass
class Counters:
    rows_read: int = 0
    rows_written: int = 0


class ItemLog:
    """``ctx.log``: lines recorded as job events (``batchyard jobs log``) and sent to logging."""

    def __init__(self, ctx: Context[Params]) -> None:
        self._ctx = ctx

    def _emit(self, level: str, message: str, *args: Any) -> None:
        text = message % args if args else message
        text = redact(text, self._ctx.secrets)
        logger.log(
            getattr(logging, level.upper()),
            "[%s %s] %s",
            self._ctx.job_id,
            self._ctx.item_key,
            text,
        )
        self._ctx.store.log(self._ctx.job_id, text, level=level, item_key=self._ctx.item_key)

    def debug(self, message: str, *args: Any) -> None:
        self._emit("debug", message, *args)

    def info(self, message: str, *args: Any) -> None:
        self._emit("info", message, *args)

    def warning(self, message: str, *args: Any) -> None:
        self._emit("warning", message, *args)

    def error(self, message: str, *args: Any) -> None:
        self._emit("error", message, *args)

    __call__ = info


class Context(Generic[P]):
    """The running item's view of its job.

    ``ctx.params`` is the job's params, an instance of the kind's params model (the same one for
    every item of the job). ``ctx.cursor`` is the last checkpoint of this item (``None`` on a first
    attempt); call ``ctx.checkpoint(cursor)`` after each durable step of a long item so a resume
    starts there.
    """

    def __init__(
        self,
        *,
        store: Store,
        settings: Settings,
        job_id: str,
        item_key: str,
        attempt: int,
        cursor: Any,
        params: P,
        env: str,
        stop: StopFlag,
        secrets: tuple[str, ...] = (),
        fenced: bool = True,
        jobs: JobsFactory | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.job_id = job_id
        self.item_key = item_key
        self.attempt = attempt
        self.cursor = cursor
        self._params = params
        self.env = env
        self.log = ItemLog(self)
        self.counters = Counters()
        self._stop = stop
        self.secrets = secrets
        #: Writes and checkpoints go through only while this attempt is the item's current one
        #: (off for a job's hooks, which are no item).
        self._fenced = fenced
        self._jobs = jobs
        self._app: Jobs | None = None

    def __repr__(self) -> str:
        return f"<Context job={self.job_id} item={self.item_key} attempt={self.attempt}>"

    @property
    def params(self) -> P:
        """The job's params (``${VAR}`` resolved): ``ctx.params.start`` or ``ctx.params["start"]``."""
        return self._params

    @property
    def stop_flag(self) -> StopFlag:
        return self._stop

    @property
    def should_stop(self) -> bool:
        """True once the job is stopping: a long item should checkpoint and return soon."""
        return self._stop.is_set()

    def checkpoint(self, cursor: Any) -> None:
        """Record how far this item got. If the job is stopping, stop the item here.

        The cursor must be JSON-serialisable. On resume the item runs again with ``ctx.cursor`` set
        to the last cursor recorded. Refused (:class:`~batchyard.errors.AttemptFenced`) once this
        attempt timed out or a newer one took the item over.
        """
        attempt = self.attempt if self._fenced else None
        self.store.set_cursor(self.job_id, self.item_key, cursor, attempt=attempt)
        self.cursor = cursor
        if self._stop.is_set():
            raise Interrupted(f"item {self.item_key} stopped at checkpoint {cursor!r}")

    def write(
        self,
        table: str,
        rows: Iterable[Mapping[str, Any]] | Mapping[str, Any],
        *,
        key: Sequence[str] | str | None = None,
        connection: str | None = None,
        mode: str = "upsert",
    ) -> int:
        """Write rows (adding ``_job_id`` and ``_item_key``), upserting on ``key``; return the count.

        ``connection`` is a name from ``[connections]`` or a URL; the project default otherwise.
        Each call commits on its own, so a rerun of the item rewrites the same rows, never adds.
        Refused (:class:`~batchyard.errors.AttemptFenced`, nothing written) once this attempt
        timed out or a newer one took the item over.
        """
        from batchyard.db import shares_database  # (SQLAlchemy: loaded when an item writes)
        from batchyard.engine.writes import write_rows

        url = self.settings.connection_url(connection)
        lineage = {"_job_id": self.job_id, "_item_key": self.item_key}
        if not self._fenced:
            n = write_rows(url, table, rows, key=key, mode=mode, lineage=lineage)
        elif shares_database(url, self.store.url):
            # The check runs in the write's own transaction (one database, one lock).
            def guard(conn: Connection) -> None:
                self.store.check_attempt(conn, self.job_id, self.item_key, self.attempt)

            n = write_rows(url, table, rows, key=key, mode=mode, lineage=lineage, guard=guard)
        else:
            # Another database: hold the item in the store while the write commits.
            with self.store.fence(self.job_id, self.item_key, self.attempt):
                n = write_rows(url, table, rows, key=key, mode=mode, lineage=lineage)
        self.counters.rows_written += n
        return n

    def add_rows(self, *, read: int = 0, written: int = 0) -> None:
        """Count rows this item read or wrote by other means than ``ctx.write``."""
        self.counters.rows_read += read
        self.counters.rows_written += written

    @property
    def app(self) -> Jobs:
        """The project's :class:`~batchyard.Batchyard`, to start or inspect other jobs."""
        if self._app is None:
            if self._jobs is None:
                raise UsageError(
                    "ctx.app is there only for jobs run through batchyard.Batchyard (or the CLI)"
                )
            self._app = self._jobs(self.settings, store=self.store)
        return self._app
