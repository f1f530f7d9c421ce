"""Which worker ran each item: a thread or process of the runner's host, or a Dask worker.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("by_items") as batch:
        batch.add_column(sa.Column("worker", sa.String(200)))


def downgrade() -> None:
    with op.batch_alter_table("by_items") as batch:
        batch.drop_column("worker")
