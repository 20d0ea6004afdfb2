"""Scheduled posts (issue 15): the read model of the items prepared in advance, which the
scheduler reads to find what is due (by status and time).

No existing log holds a scheduling event, so the table starts empty.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_items",
        sa.Column("story", sa.String(80), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("publish_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("view", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("story", "id", name="pk_scheduled_items"),
    )
    op.create_index("ix_scheduled_items_status_publish_at", "scheduled_items", ["status", "publish_at"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_items_status_publish_at", table_name="scheduled_items")
    op.drop_table("scheduled_items")
