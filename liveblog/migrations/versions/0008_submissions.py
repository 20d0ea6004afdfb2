"""The submission queue's read model (issue 15, part 1): contributors' proposed updates,
derived from the log like every read model (``liveblog projections rebuild`` refills it).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "submission_views",
        sa.Column("story", sa.String(80), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("submitted_by", sa.String(64), nullable=False),
        sa.Column("view", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("story", "id", name="pk_submission_views"),
    )
    op.create_index("ix_submission_views_story_seq", "submission_views", ["story", "seq"])


def downgrade() -> None:
    op.drop_table("submission_views")
