"""The store's tables, in SQLAlchemy Core. Changes go through an Alembic migration in ``migrations/``."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

TS = DateTime(timezone=True)

jobs = Table(
    "by_jobs",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("kind", String(100), nullable=False),
    Column("env", String(100), nullable=False),
    Column("project", String(200), nullable=False, server_default=""),
    Column("status", String(20), nullable=False),
    # JSON documents are kept as text: the same on SQLite and PostgreSQL, and cheap to write.
    Column("params", Text, nullable=False, server_default="{}"),
    Column("options", Text, nullable=False, server_default="{}"),
    Column("total", Integer, nullable=False, server_default="0"),
    Column("done", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("skipped", Integer, nullable=False, server_default="0"),
    Column("cancelled", Integer, nullable=False, server_default="0"),
    Column("rows_read", BigInteger, nullable=False, server_default="0"),
    Column("rows_written", BigInteger, nullable=False, server_default="0"),
    Column("created_at", TS, nullable=False),
    Column("started_at", TS),
    Column("finished_at", TS),
    Column("updated_at", TS),
    Column("error", Text),
    Column("retry_of", String(200)),
    Column("parent_id", String(200)),
    Column("tags", Text, nullable=False, server_default="[]"),
    Column("metadata", Text, nullable=False, server_default="{}"),
    Column("progress", Text, nullable=False, server_default="{}"),
    Column("lease_owner", String(200)),
    Column("lease_expires_at", TS),
    Column("heartbeat_at", TS),
    # A request from outside the runner ("cancel" or "pause"), read at each heartbeat.
    Column("control", String(20)),
    # The sum of the items' weights (estimated work, e.g. rows), for ETAs that follow work.
    Column("weight_total", BigInteger, nullable=False, server_default="0"),
    # Seconds spent running, paused and queued (waiting for a runner) in the stretches that
    # ended, and when the current stretch (the job's status now) began. The job's duration is
    # its running time. NULL for jobs recorded before these columns.
    Column("run_s", Float),
    Column("paused_s", Float),
    Column("queued_s", Float),
    Column("status_since", TS),
    Index("ix_by_jobs_status", "status"),
    Index("ix_by_jobs_kind_env", "kind", "env"),
    Index("ix_by_jobs_created_at", "created_at"),
    Index("ix_by_jobs_parent_id", "parent_id"),
)

items = Table(
    "by_items",
    metadata,
    Column("job_id", String(200), ForeignKey("by_jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(500), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("value", Text),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", Text),
    Column("traceback", Text),
    Column("result", Text),
    Column("cursor", Text),
    Column("started_at", TS),
    Column("finished_at", TS),
    Column("duration_s", Float),
    Column("rows_read", BigInteger, nullable=False, server_default="0"),
    Column("rows_written", BigInteger, nullable=False, server_default="0"),
    Column("weight", BigInteger, nullable=False, server_default="0"),
    # Where the last attempt ran: ``host:pid/thread`` of the runner, or a Dask worker's address.
    Column("worker", String(200)),
    Index("ix_by_items_job_status_position", "job_id", "status", "position"),
    Index("ix_by_items_job_position", "job_id", "position"),
)

events = Table(
    "by_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(200), ForeignKey("by_jobs.id", ondelete="CASCADE"), nullable=False),
    Column("ts", TS, nullable=False),
    Column("level", String(10), nullable=False),
    Column("item_key", String(500)),
    Column("message", Text, nullable=False),
    Index("ix_by_events_job_id_id", "job_id", "id"),
)

# -- alerts ----------------------------------------------------------------------------------------

alerts = Table(
    "by_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # sha256 of monitor, metric and labels: one open alert per fingerprint.
    Column("fingerprint", String(64), nullable=False),
    # The fingerprint while the alert is not resolved, NULL after: the unique index keeps one open
    # alert per fingerprint on SQLite and PostgreSQL alike, against two writers at once.
    Column("open_key", String(64), unique=True),
    Column("monitor", String(200), nullable=False),
    Column("metric", String(200), nullable=False),
    Column("labels", Text, nullable=False, server_default="{}"),
    Column("status", String(20), nullable=False),
    Column("severity", String(10), nullable=False),
    Column("cause", String(10), nullable=False),
    Column("message", Text, nullable=False, server_default=""),
    Column("value", Float),
    Column("channels", Text, nullable=False, server_default="[]"),
    Column("opened_at", TS, nullable=False),
    Column("last_seen_at", TS, nullable=False),
    Column("failures", Integer, nullable=False, server_default="1"),
    Column("passes", Integer, nullable=False, server_default="0"),
    Column("notified_at", TS),
    Column("reminders", Integer, nullable=False, server_default="0"),
    Column("acknowledged_at", TS),
    Column("acknowledged_by", String(200)),
    Column("note", Text),
    Column("silenced_until", TS),
    Column("resolved_at", TS),
    Column("resolved_by", String(200)),
    Index("ix_by_alerts_status", "status"),
    Index("ix_by_alerts_fingerprint", "fingerprint"),
    Index("ix_by_alerts_opened_at", "opened_at"),
)

# What each channel is to be told about an alert (opened, reminder, resolved), until it is told.
alert_notices = Table(
    "by_alert_notices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("by_alerts.id", ondelete="CASCADE"), nullable=False),
    Column("event", String(20), nullable=False),
    Column("channel", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("last_error", Text),
    Column("sent_at", TS),
    # A sender claims a notice until then, so two processes never send it twice at once.
    Column("claimed_until", TS),
    Index("ix_by_alert_notices_status", "status"),
    Index("ix_by_alert_notices_alert_id", "alert_id"),
)

# Every attempt at sending a notice: when, to which channel, how it went.
alert_deliveries = Table(
    "by_alert_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("alert_id", Integer, ForeignKey("by_alerts.id", ondelete="CASCADE"), nullable=False),
    Column(
        "notice_id", Integer, ForeignKey("by_alert_notices.id", ondelete="CASCADE"), nullable=False
    ),
    Column("channel", String(200), nullable=False),
    Column("event", String(20), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status", String(20), nullable=False),
    Column("error", Text),
    Column("at", TS, nullable=False),
    Column("elapsed_s", Float),
    Index("ix_by_alert_deliveries_alert_id", "alert_id", "id"),
)

# -- the scheduler (schedule/) ---------------------------------------------------------------------
# ``scope`` is ``{project}/{env}``: schedulers of different projects or envs sharing a store
# neither hold each other's lease nor see each other's runs.

leases = Table(
    "by_leases",
    metadata,
    # What the lease is for, e.g. ``scheduler:{scope}``: one holder at a time.
    Column("name", String(300), primary_key=True),
    Column("owner", String(200)),
    Column("expires_at", TS),
    Column("heartbeat_at", TS),
    Column("acquired_at", TS),
)

schedules = Table(
    "by_schedules",
    metadata,
    Column("scope", String(300), primary_key=True),
    Column("id", String(300), primary_key=True),
    Column("paused", Boolean, nullable=False, server_default="0"),
    # The scheduled times up to here have been dealt with (run, queued, or left out by policy).
    Column("cursor", TS),
    Column("updated_at", TS),
)

schedule_runs = Table(
    "by_schedule_runs",
    metadata,
    Column("scope", String(300), primary_key=True),
    Column("schedule_id", String(300), primary_key=True),
    # The key that keeps a run from being lost or doubled across restarts: one row per time.
    Column("scheduled_at", TS, primary_key=True),
    # Chosen when the run is recorded, before the job exists: a restart finds or makes this job.
    Column("job_id", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("created_at", TS, nullable=False),
    Column("started_at", TS),
    Column("finished_at", TS),
    Column("detail", Text),
    Index("ix_by_schedule_runs_scope_status", "scope", "status"),
    Index("ix_by_schedule_runs_job_id", "job_id"),
)

# One row per observation of a monitor's metric (``batchyard monitor``). Labels are a JSON object
# written with sorted keys, so one series is one (monitor, metric, labels) text triple.
observations = Table(
    "by_observations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("monitor", String(200), nullable=False),
    Column("metric", String(200), nullable=False),
    Column("labels", Text, nullable=False, server_default="{}"),
    Column("value", Float),
    Column("observed_at", TS, nullable=False),
    # ok, warn, fail (a threshold), or error (the metric could not be measured).
    Column("status", String(10), nullable=False),
    Column("anomaly", Integer, nullable=False, server_default="0"),
    # What the anomaly detector expected, and how far off the value was (robust z).
    Column("expected", Float),
    Column("score", Float),
    Column("message", Text),
    Column("details", Text, nullable=False, server_default="{}"),
    # The monitor job that recorded it: a retried item replaces its own rows, never doubles them.
    Column("job_id", String(200)),
    Index("ix_by_observations_series", "monitor", "metric", "labels", "observed_at"),
    Index("ix_by_observations_observed_at", "observed_at"),
    Index("ix_by_observations_job_id", "job_id"),
)
