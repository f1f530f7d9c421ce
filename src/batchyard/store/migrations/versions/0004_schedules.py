"""The scheduler: its lease, each schedule's state (paused, how far it has fired) and its runs.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "by_leases",
        sa.Column("name", sa.String(300), primary_key=True),
        sa.Column("owner", sa.String(200)),
        sa.Column("expires_at", TS),
        sa.Column("heartbeat_at", TS),
        sa.Column("acquired_at", TS),
    )
    op.create_table(
        "by_schedules",
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("id", sa.String(300), primary_key=True),
        sa.Column("paused", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("cursor", TS),
        sa.Column("updated_at", TS),
    )
    op.create_table(
        "by_schedule_runs",
        sa.Column("scope", sa.String(300), primary_key=True),
        sa.Column("schedule_id", sa.String(300), primary_key=True),
        sa.Column("scheduled_at", TS, primary_key=True),
        sa.Column("job_id", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_by_schedule_runs_scope_status", "by_schedule_runs", ["scope", "status"])
    op.create_index("ix_by_schedule_runs_job_id", "by_schedule_runs", ["job_id"])


def downgrade() -> None:
    op.drop_index("ix_by_schedule_runs_job_id", "by_schedule_runs")
    op.drop_index("ix_by_schedule_runs_scope_status", "by_schedule_runs")
    op.drop_table("by_schedule_runs")
    op.drop_table("by_schedules")
    op.drop_table("by_leases")
