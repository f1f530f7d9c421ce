"""How a job runs: its workers, executor, retry policy, timeout, stop on error, env and lease.

``batchyard run``, ``POST /api/jobs`` and ``Batchyard.submit`` resolve a job's options with this
one function, the same way for every option. Highest first:

1. **request**: a flag, a field of the API request, an argument of ``submit``;
2. **pipeline**: what ``pipelines/NAME.yaml`` says;
3. **kind**: what the kind derives from the job's params (a migrate into SQLite: 1 worker), then
   what ``@job(...)`` says;
4. **settings**: ``BATCHYARD_*`` variables, then ``[defaults]`` of ``batchyard.toml``;
5. **default**: the fields of :class:`RunOptions`.

A level that leaves an option out (or gives ``None``) leaves it to the next one. A number of
retries changes how many attempts an item gets; how long to wait between them and which errors
deserve another attempt stay the kind's (its ``Retry``), unless a whole ``Retry`` is given.

``executor`` may name a Dask scheduler (``dask://HOST:PORT``): that gives ``executor="dask"`` and
``address`` at the same level. ``address`` alone (``[executor] address``, ``BATCHYARD_DASK``) says
where ``dask`` runs; without one, ``dask`` starts a cluster on this machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from batchyard.config import DEFAULT_ENV, Settings
from batchyard.engine.retry import Retry
from batchyard.errors import ParamError, UsageError
from batchyard.project import MAX_WORKERS, dask_address, split_executor
from batchyard.secrets import mask_url

#: The levels an option may come from, highest first (the built-in default comes last).
LEVELS = ("request", "pipeline", "kind", "settings")
#: The options a level may give.
NAMES = (
    "workers",
    "executor",
    "address",
    "retries",
    "timeout",
    "stop_on_error",
    "env",
    "lease_ttl",
)
#: A lease shorter than this could run out between two heartbeats of a busy runner.
MIN_LEASE_TTL = 2.0


@dataclass(frozen=True)
class RunOptions:
    """The options one job runs with, each resolved through the levels above."""

    workers: int = 4
    executor: str = "threads"
    #: The Dask scheduler ``executor="dask"`` runs on (``tcp://HOST:PORT``); None: a cluster of
    #: this machine, started for the job.
    address: str | None = None
    retry: Retry = field(default_factory=Retry)
    #: The most seconds one attempt at an item may take (None: no limit).
    timeout: float | None = None
    stop_on_error: bool = False
    env: str = DEFAULT_ENV
    #: Seconds a runner's lease on its job lasts without a heartbeat; after that another runner
    #: may take the job over (the first one crashed).
    lease_ttl: float = 30.0
    #: Seconds between two heartbeats of the runner.
    heartbeat: float = 1.0

    @classmethod
    def resolve(
        cls,
        request: Mapping[str, Any] | None = None,
        pipeline: Mapping[str, Any] | None = None,
        kind: Mapping[str, Any] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> RunOptions:
        """Each option from the highest level that gives it; values checked, naming the level."""
        return cls._resolve(*zip(LEVELS, (request, pipeline, kind, settings), strict=True))

    @classmethod
    def _resolve(cls, *levels: tuple[str, Mapping[str, Any] | None]) -> RunOptions:
        given: dict[str, tuple[str, Any]] = {}
        policy: Retry | None = None  # the first whole Retry policy given, at any level
        for level, values in levels:
            for name, value in (values or {}).items():
                if name not in NAMES:
                    raise ParamError(f"{name}: not a run option (use one of {', '.join(NAMES)})")
                if value is None:
                    continue
                if name == "executor" and isinstance(value, str) and value.startswith("dask://"):
                    # dask://HOST:PORT: the executor and its scheduler, from the same level.
                    given.setdefault("address", (level, value))
                    value = "dask"
                given.setdefault(name, (level, value))
                if name == "retries" and isinstance(value, Retry) and policy is None:
                    policy = value
        out = {name: _checked(name, value, level) for name, (level, value) in given.items()}
        retries = out.pop("retries", None)
        if isinstance(retries, Retry):
            out["retry"] = retries
        elif retries is not None:
            out["retry"] = replace(policy or Retry(), attempts=retries + 1)
        elif policy is not None:
            out["retry"] = policy
        return cls(**out)

    @classmethod
    def of_settings(cls, settings: Settings) -> dict[str, Any]:
        """The settings level: what ``BATCHYARD_*`` and ``[defaults]`` say."""
        return {
            "workers": settings.workers,
            "executor": settings.executor,
            "address": settings.dask.address,
            "retries": settings.retries,
            "env": settings.env,
            "lease_ttl": settings.lease_ttl,
        }

    def to_dict(self) -> dict[str, Any]:
        """What a job records (its env is the job's own): enough to run it again the same way."""
        policy = asdict(self.retry)
        for name in ("on", "never"):  # classes: the kind's, found again when the job runs
            policy.pop(name)
        return {
            "workers": self.workers,
            "executor": self.executor,
            **({"address": self.address} if self.executor == "dask" and self.address else {}),
            "retries": self.retry.attempts - 1,
            "retry": policy,
            "timeout": self.timeout,
            "stop_on_error": self.stop_on_error,
            "lease_ttl": self.lease_ttl,
        }

    @classmethod
    def recorded(
        cls,
        options: Mapping[str, Any],
        env: str,
        kind: Mapping[str, Any],
        settings: Mapping[str, Any],
        *,
        workers: int | None = None,
        executor: str | None = None,
    ) -> RunOptions:
        """The options a recorded job runs with: what it recorded, over its kind and the settings
        (for what a job recorded by an older batchyard left out); ``workers`` and ``executor`` (a
        resume's ``--workers`` and ``--executor``) over all."""
        recorded = {k: v for k, v in options.items() if k in NAMES}
        recorded["env"] = env
        policy = options.get("retry")
        if isinstance(policy, dict):
            base = kind.get("retries")
            base = base if isinstance(base, Retry) else Retry()
            recorded["retries"] = Retry(**{**policy, "on": base.on, "never": base.never})
        return cls._resolve(
            ("resume", {"workers": workers, "executor": executor}),
            ("job", recorded),
            ("kind", kind),
            ("settings", settings),
        )


def _checked(name: str, value: Any, level: str) -> Any:
    """``value`` of option ``name`` as given at ``level``, or a ParamError saying what to give."""
    where = f" (from the {level})" if level not in ("request", "resume") else ""
    if name == "workers":
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_WORKERS:
            raise ParamError(f"workers={value!r}{where}: give between 1 and {MAX_WORKERS} workers")
    elif name == "executor":
        text = value if isinstance(value, str) else repr(value)
        try:
            return split_executor(text, where="executor")[0]
        except UsageError as exc:
            if text.startswith("dask://"):  # (what is wrong with the address)
                raise ParamError(f"{exc}{where}") from None
            raise ParamError(
                f"unknown executor {mask_url(text)!r}{where} (choose from: threads, processes, "
                "dask, dask://HOST:PORT)"
            ) from None
    elif name == "address":
        try:
            return dask_address(str(value))
        except UsageError as exc:
            raise ParamError(f"{exc}{where}") from None
    elif name == "retries":
        if isinstance(value, Retry):
            return value
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ParamError(
                f"retries={value!r}{where}: give a number of retries (>= 0) or a Retry(...)"
            )
    elif name in ("timeout", "lease_ttl"):
        least = MIN_LEASE_TTL if name == "lease_ttl" else 0.0
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= least:
            raise ParamError(f"{name}={value!r}{where}: give a number of seconds above {least:g}")
        return float(value)
    elif name == "stop_on_error":
        return bool(value)
    elif name == "env" and (not isinstance(value, str) or not value):
        raise ParamError(f"env={value!r}{where}: give an env name")
    return value
