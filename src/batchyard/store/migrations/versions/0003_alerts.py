"""Alerts: open and resolved alerts, what each channel is to be told, and every delivery attempt.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "by_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("open_key", sa.String(64), unique=True),
        sa.Column("monitor", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("labels", sa.Text, nullable=False, server_default="{}"),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("severity", sa.String(10), nullable=False),
        sa.Column("cause", sa.String(10), nullable=False),
        sa.Column("message", sa.Text, nullable=False, server_default=""),
        sa.Column("value", sa.Float),
        sa.Column("channels", sa.Text, nullable=False, server_default="[]"),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False, server_default="1"),
        sa.Column("passes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("notified_at", TS),
        sa.Column("reminders", sa.Integer, nullable=False, server_default="0"),
        sa.Column("acknowledged_at", TS),
        sa.Column("acknowledged_by", sa.String(200)),
        sa.Column("note", sa.Text),
        sa.Column("silenced_until", TS),
        sa.Column("resolved_at", TS),
        sa.Column("resolved_by", sa.String(200)),
    )
    op.create_index("ix_by_alerts_status", "by_alerts", ["status"])
    op.create_index("ix_by_alerts_fingerprint", "by_alerts", ["fingerprint"])
    op.create_index("ix_by_alerts_opened_at", "by_alerts", ["opened_at"])
    op.create_table(
        "by_alert_notices",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "alert_id",
            sa.Integer,
            sa.ForeignKey("by_alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("sent_at", TS),
        sa.Column("claimed_until", TS),
    )
    op.create_index("ix_by_alert_notices_status", "by_alert_notices", ["status"])
    op.create_index("ix_by_alert_notices_alert_id", "by_alert_notices", ["alert_id"])
    op.create_table(
        "by_alert_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "alert_id",
            sa.Integer,
            sa.ForeignKey("by_alerts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "notice_id",
            sa.Integer,
            sa.ForeignKey("by_alert_notices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("channel", sa.String(200), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("at", TS, nullable=False),
        sa.Column("elapsed_s", sa.Float),
    )
    op.create_index("ix_by_alert_deliveries_alert_id", "by_alert_deliveries", ["alert_id", "id"])


def downgrade() -> None:
    op.drop_table("by_alert_deliveries")
    op.drop_table("by_alert_notices")
    op.drop_table("by_alerts")
