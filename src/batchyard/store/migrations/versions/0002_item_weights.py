"""Item weights: an estimate of each item's work (rows, say), so ETAs follow work, not item counts.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("by_items") as batch:
        batch.add_column(sa.Column("weight", sa.BigInteger, nullable=False, server_default="0"))
    with op.batch_alter_table("by_jobs") as batch:
        batch.add_column(
            sa.Column("weight_total", sa.BigInteger, nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("by_jobs") as batch:
        batch.drop_column("weight_total")
    with op.batch_alter_table("by_items") as batch:
        batch.drop_column("weight")
