"""Jobs, items and events.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "by_jobs",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("env", sa.String(100), nullable=False),
        sa.Column("project", sa.String(200), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.Text, nullable=False, server_default="{}"),
        sa.Column("options", sa.Text, nullable=False, server_default="{}"),
        sa.Column("total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer, nullable=False, server_default="0"),
        sa.Column("skipped", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cancelled", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_read", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_written", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("updated_at", TS),
        sa.Column("error", sa.Text),
        sa.Column("retry_of", sa.String(200)),
        sa.Column("parent_id", sa.String(200)),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("metadata", sa.Text, nullable=False, server_default="{}"),
        sa.Column("progress", sa.Text, nullable=False, server_default="{}"),
        sa.Column("lease_owner", sa.String(200)),
        sa.Column("lease_expires_at", TS),
        sa.Column("heartbeat_at", TS),
        sa.Column("control", sa.String(20)),
    )
    op.create_index("ix_by_jobs_status", "by_jobs", ["status"])
    op.create_index("ix_by_jobs_kind_env", "by_jobs", ["kind", "env"])
    op.create_index("ix_by_jobs_created_at", "by_jobs", ["created_at"])
    op.create_index("ix_by_jobs_parent_id", "by_jobs", ["parent_id"])

    op.create_table(
        "by_items",
        sa.Column(
            "job_id",
            sa.String(200),
            sa.ForeignKey("by_jobs.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("value", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("error", sa.Text),
        sa.Column("traceback", sa.Text),
        sa.Column("result", sa.Text),
        sa.Column("cursor", sa.Text),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("duration_s", sa.Float),
        sa.Column("rows_read", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rows_written", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_by_items_job_status_position", "by_items", ["job_id", "status", "position"])
    op.create_index("ix_by_items_job_position", "by_items", ["job_id", "position"])

    op.create_table(
        "by_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id",
            sa.String(200),
            sa.ForeignKey("by_jobs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("ts", TS, nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("item_key", sa.String(500)),
        sa.Column("message", sa.Text, nullable=False),
    )
    op.create_index("ix_by_events_job_id_id", "by_events", ["job_id", "id"])


def downgrade() -> None:
    op.drop_table("by_events")
    op.drop_table("by_items")
    op.drop_table("by_jobs")
