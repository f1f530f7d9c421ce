"""The one exception tree of batchyard, and the signals its parts raise to one another.

Every error a user can meet is a :class:`BatchyardError`. Its message says what went wrong and, where
there is one, what to do about it. ``exit_code`` is what the CLI exits with; ``http_status`` is what the
REST API answers with (``api/problems.py`` maps it, in one handler), under ``title``, a short
phrase for people (``Not found``, ``Bad parameter``). A job that ran to its end or to a
pause is no error: the CLI exits with its :attr:`~batchyard.store.models.Job.exit_code` (0 completed,
1 failed, partial or cancelled, or a result that fails, 2 stopped by bad data, 130 paused).

    BatchyardError
    ├── UsageError                 bad input: exit 2, HTTP 400
    │   ├── ConfigError            batchyard.toml, env vars, pipelines/*.yaml
    │   │   └── BadSetting         (API) a setting that cannot work now, naming it
    │   ├── ParamError             job params that do not fit the kind: HTTP 422, as any bad
    │   │   │                      parameter of a request (path, query or body)
    │   │   └── BodyParamError     (API) the same, naming the field of the request body
    │   ├── BadField               (API) a field of the request body that does not fit: HTTP 422
    │   ├── UnknownKind            no job kind of that name
    │   ├── PlanError              a plan that yields bad or duplicate items
    │   ├── WriteError             ctx.write called with rows or options it cannot take
    │   ├── RulesError             a validation suite that is not valid (file:line:column)
    │   ├── ChecksumError          a backup file that does not match its checksum
    │   ├── SchemaError            a table the target database refuses to create or key
    │   ├── DatabaseError          a user's database refused what was asked (batchyard.db.wrap_errors)
    │   │   ├── CannotConnect      the server, the database or the file cannot be reached
    │   │   ├── NotADatabase       a file that is not a SQLite database
    │   │   └── NoSuchTable        a table the database does not have
    │   ├── ClusterError           a Dask cluster that cannot run the job: its scheduler does not
    │   │                          answer, a worker lacks the job's code, or cannot reach the store
    │   └── BadData                data an item cannot take as it is: the whole job stops
    │       └── ManifestError      a backup whose manifest does not fit it (paths, row counts)
    ├── Unauthorized               (API) no bearer token, or not the server's: HTTP 401
    ├── NotFound                   unknown job id, pipeline or connection: exit 2, HTTP 404
    ├── KindMissing                (API) the server has no job kind of that name: HTTP 404
    ├── Conflict                   the job is in a state that does not allow this: exit 2, HTTP 409
    │   ├── LeaseHeld              another runner holds the job
    │   └── LeaseLost              another runner took the job over from this one
    ├── StoreError                 the store cannot be opened or used: exit 2, HTTP 503
    ├── DeliveryFailed             a channel did not take an alert's notice (recorded, sent again)
    └── ItemError                  raised inside an item, recorded on the item (never leaves the runner)
        ├── ItemTimeout            the item ran longer than its timeout
        ├── AttemptFenced          ctx.write or ctx.checkpoint from an attempt no longer current
        ├── ChunkMoved             a chunk's checkpoint in the target moved: another writer has it
        ├── HttpError              a request failed for good (URL masked, status, body snippet)
        └── Interrupted            the item stopped at a checkpoint because the job is stopping

Not errors (plain ``Exception``): ``Skip``, which an item raises to be marked skipped, and the
signals that one part raises and another catches, which never reach a user:

    Skip                           (by.Skip) the item is skipped, with the reason
    NothingSelected                collect: a records path selected nothing (the collector words it)
    Misfits                        migrate: rows whose values do not fit their types (reported by
                                   the kind, with the options that fix them)
    NotBinary                      migrate: a batch binary COPY cannot carry exactly (read another way)
    CopyAgain                      migrate: a batch to copy again row by row (its transaction undone)
    Mismatch                       export: a batch not of the declared types (the exact path takes it)
"""

from __future__ import annotations


class BatchyardError(Exception):
    """Something went wrong in batchyard."""

    title = "Server error"
    exit_code = 2
    http_status = 500

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        return str(self)


class UsageError(BatchyardError):
    """The input is not valid."""

    title = "Bad input"
    http_status = 400


class ConfigError(UsageError):
    """The configuration is not valid: fix the file named in the message."""

    title = "Bad configuration"


class BadSetting(ConfigError):
    """A setting of batchyard.toml that cannot work now: the message and ``field`` name it."""

    title = "Bad setting"

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        #: The setting: ``channels.oncall.host``.
        self.field = field


class ClusterError(UsageError):
    """The Dask cluster cannot run this job: see docs/cluster.md for what a cluster needs."""


class ParamError(UsageError):
    """The job params do not fit the kind: see `batchyard kinds KIND` for what it takes."""

    title = "Bad parameter"
    http_status = 422


class BodyParamError(ParamError):
    """Params that do not fit the kind, naming the field of the request body they came from."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        #: Where in the request body: ``body.params.start``.
        self.field = field


class BadField(UsageError):
    """A field of the request body that does not fit: the message and ``field`` say which."""

    title = "Bad parameter"
    http_status = 422

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class UnknownKind(UsageError):
    """No job kind of that name: `batchyard kinds` lists the kinds this project has."""

    title = "Unknown job kind"


class PlanError(UsageError):
    """The job's plan yielded items the engine cannot take."""

    title = "Bad plan"


class WriteError(UsageError):
    """ctx.write cannot write these rows."""

    title = "Bad write"


class RulesError(UsageError):
    """The rules are not valid: fix the place named in the message."""

    title = "Bad rules"


class ChecksumError(UsageError):
    """A backup file does not match its checksum: the backup is damaged; restore another one."""

    title = "Damaged backup"


class SchemaError(UsageError):
    """The target database cannot take a table as the source has it: the message names the table
    and gives the database's reason."""

    title = "Table refused"


class DatabaseError(UsageError):
    """The database refused what was asked: the message names it (password masked) and says why."""

    title = "Database refused"


class CannotConnect(DatabaseError):
    """The database cannot be reached: check its URL, that the server runs and that it exists."""

    title = "Cannot connect"


class NotADatabase(DatabaseError):
    """The file is not a SQLite database: give a SQLite file, a postgresql:// URL or data files."""

    title = "Not a database"


class NoSuchTable(DatabaseError):
    """The database has no table of that name: check the name, or list its tables."""

    title = "No such table"


class BadData(UsageError):
    """The source holds data that cannot be moved as it is.

    Raised by an item, it stops the whole job at once (every other item would meet the same data),
    and the kind's cleanup undoes what the job wrote, where it can.
    """

    title = "Bad data"


class ManifestError(BadData):
    """A backup's manifest does not fit the backup: an entry outside its folder, or row counts its
    tables do not have. The backup is damaged or was changed: restore another one."""

    title = "Damaged backup"


class Unauthorized(BatchyardError):
    """A bearer token is needed: send 'Authorization: Bearer TOKEN' with the server's token."""

    title = "Token needed"
    http_status = 401


class NotFound(BatchyardError):
    """Nothing of that name: check the id with `batchyard jobs list`."""

    title = "Not found"
    http_status = 404


class KindMissing(BatchyardError):
    """This server has no job kind of that name: install or update batchyard, then restart it."""

    title = "Job kind not installed"
    http_status = 404


class Conflict(BatchyardError):
    """The job is in a state that does not allow this."""

    title = "Not allowed now"
    http_status = 409


class LeaseHeld(Conflict):
    """Another runner holds this job; wait for it to finish or stop it first."""

    title = "Job held by another runner"

    def __init__(self, job_id: str, owner: str, seconds_ago: float | None = None) -> None:
        beat = f", last heartbeat {seconds_ago:.1f}s ago" if seconds_ago is not None else ""
        super().__init__(
            f"job {job_id} is held by runner {owner}{beat}; "
            "wait for it to finish, or stop it with Ctrl+C or `batchyard jobs cancel`"
        )
        self.job_id = job_id
        self.owner = owner


class LeaseLost(Conflict):
    """Another runner took this job over (this one's lease ran out): this runner stops, and what
    it was doing is the other's to finish."""

    title = "Job taken over"


class StoreError(BatchyardError):
    """The store cannot be used: check BATCHYARD_STORE or [store] url in batchyard.toml."""

    title = "Store unavailable"
    http_status = 503


class DeliveryFailed(BatchyardError):
    """A channel did not take an alert's notice: the attempt is recorded on the alert and the
    notice is sent again at the next check. ``retryable`` says whether trying again at once (with
    backoff) may help: a network error or a 5xx may pass, a 4xx or a missing secret will not."""

    title = "Delivery failed"
    http_status = 502

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class ItemError(BatchyardError):
    """An item failed."""

    title = "Item failed"
    exit_code = 1


class ItemTimeout(ItemError):
    """The item ran longer than its timeout."""

    title = "Item timed out"


class AttemptFenced(ItemError):
    """This attempt at the item is no longer current (it timed out, or a newer attempt or another
    runner took the item over): its writes and checkpoints are refused, and nothing was written."""

    title = "Attempt no longer current"


class ChunkMoved(ItemError):
    """The chunk's checkpoint moved under this writer: another one is copying it. Stop."""

    title = "Chunk moved"


class HttpError(ItemError):
    """A request failed for good: a 4xx other than 429, or retries ran out on 429, 5xx or the
    network. ``url`` has its secrets masked; ``status`` is None for network errors."""

    title = "Request failed"

    def __init__(
        self, message: str, *, url: str = "", status: int | None = None, snippet: str = ""
    ) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.snippet = snippet


class Interrupted(ItemError):
    """The job is stopping: the item stopped at its last checkpoint and will resume from it."""

    title = "Interrupted"


# -- not errors: an item's skip, and signals between batchyard's own parts ---------------------


class Skip(Exception):
    """Raise inside an item to mark it skipped (with the reason) rather than done or failed."""


class NothingSelected(Exception):
    """The records path selected nothing in a response."""


class Misfits(Exception):
    """A copy met rows of ``table`` whose values do not fit their types (the caller reports)."""

    def __init__(self, table: str) -> None:
        super().__init__(f"{table}: stored values do not fit their declared types")
        self.table = table


class NotBinary(Exception):
    """A batch holds a value binary COPY data cannot be made of exactly (as read, or as encoded)."""


class CopyAgain(Exception):
    """The batch must be copied again, row by row (its transaction is rolled back)."""


class Mismatch(Exception):
    """A batch does not hold the types the table declares: use the exact path instead."""
