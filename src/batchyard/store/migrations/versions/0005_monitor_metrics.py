"""Monitor metrics: every observation of a monitor's metric, for history, trends and anomalies.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "by_observations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("monitor", sa.String(200), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("labels", sa.Text, nullable=False, server_default="{}"),
        sa.Column("value", sa.Float),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("anomaly", sa.Integer, nullable=False, server_default="0"),
        sa.Column("expected", sa.Float),
        sa.Column("score", sa.Float),
        sa.Column("message", sa.Text),
        sa.Column("details", sa.Text, nullable=False, server_default="{}"),
        sa.Column("job_id", sa.String(200)),
    )
    op.create_index(
        "ix_by_observations_series",
        "by_observations",
        ["monitor", "metric", "labels", "observed_at"],
    )
    op.create_index("ix_by_observations_observed_at", "by_observations", ["observed_at"])
    op.create_index("ix_by_observations_job_id", "by_observations", ["job_id"])


def downgrade() -> None:
    op.drop_table("by_observations")
