"""Job times: running, paused and queued seconds kept apart, so a job's duration is its working
time (a job that sat paused, or waited for a worker, does not count that time as work).

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for jobs recorded before: their duration stays started-to-finished, as it was.
    with op.batch_alter_table("by_jobs") as batch:
        batch.add_column(sa.Column("run_s", sa.Float))
        batch.add_column(sa.Column("paused_s", sa.Float))
        batch.add_column(sa.Column("queued_s", sa.Float))
        batch.add_column(sa.Column("status_since", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("by_jobs") as batch:
        batch.drop_column("status_since")
        batch.drop_column("queued_s")
        batch.drop_column("paused_s")
        batch.drop_column("run_s")
