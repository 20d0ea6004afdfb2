"""The change feed: each event records the id of the transaction that wrote it.

Writes to different stories now run in parallel (a lock per story, not one for the whole
database), so on PostgreSQL events no longer commit in ``position`` order: a transaction
that took its position earlier can commit later. The global feed reads in ``(xid,
position)`` order and only below the oldest transaction still running, so an event that
commits late is never skipped (docs/architecture.md, "Global order without skips").

* ``events.xid``: on PostgreSQL the writing transaction's 64-bit id, filled in by the
  column's default, ``pg_current_xact_id()`` (so every way of inserting an event records
  it); on SQLite, which has one writer and commits in ``position`` order, always 0. Events
  written before this migration were serialised by the old global lock, so their order is
  their ``position``: they get 0 and sort before every later event.
* ``ix_events_xid_position``: the feed's order.
* ``ix_events_published``: each story's publication, which decides what a consumer (no
  drafts) may see, found without scanning the story's log.

Adding a column with a constant default rewrites no row and fires no trigger, so the
append-only guards of 0003 stay as they are.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

PUBLISHED = sa.text("type = 'StoryPublished'")


def upgrade() -> None:
    op.add_column("events", sa.Column("xid", sa.BigInteger(), nullable=False, server_default="0"))
    if op.get_bind().dialect.name == "postgresql":
        # Existing rows keep 0; new ones get their transaction's id.
        op.execute("ALTER TABLE events ALTER COLUMN xid SET DEFAULT (pg_current_xact_id()::text::bigint)")
    op.create_index("ix_events_xid_position", "events", ["xid", "position"])
    op.create_index(
        "ix_events_published",
        "events",
        ["stream", "version"],
        postgresql_where=PUBLISHED,
        sqlite_where=PUBLISHED,
    )


def downgrade() -> None:
    op.drop_index("ix_events_published", table_name="events")
    op.drop_index("ix_events_xid_position", table_name="events")
    op.drop_column("events", "xid")
