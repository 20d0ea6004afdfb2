"""The past read model: the story header at every version and each update from the version
it changed, so an as-of read is a few indexed rows instead of a fold.

The new tables are filled from the log. Their rows must be byte for byte what the server
renders, so this migration renders them with the package's own pure functions
(``evolve`` and :mod:`liveblog.projections.past_views`), as a projection rebuild would.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from __future__ import annotations

import sys
from typing import Any

import sqlalchemy as sa
from alembic import op

from liveblog.domain import StoryState, evolve
from liveblog.domain.events import event_from_data
from liveblog.projections import past_views
from liveblog.projections.tables import header_versions, update_versions
from liveblog.store.tables import events

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    op.create_table(
        "header_versions",
        sa.Column("story", sa.String(80), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("header", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("story", "version", name="pk_header_versions"),
    )
    op.create_table(
        "update_versions",
        sa.Column("story", sa.String(80), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("since", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("key_event", sa.Boolean(), nullable=False),
        sa.Column("view", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("story", "id", "since", name="pk_update_versions"),
    )
    op.create_index("ix_update_versions_story_seq", "update_versions", ["story", "seq"])
    op.create_index("ix_update_versions_story_pinned", "update_versions", ["story", "pinned", "seq"])
    op.create_index("ix_update_versions_story_key_event", "update_versions", ["story", "key_event", "seq"])
    _fill_from_the_log()


def _fill_from_the_log() -> None:
    connection = op.get_bind()
    total = connection.execute(sa.select(sa.func.count()).select_from(events)).scalar_one()
    stories: dict[str, StoryState] = {}
    done, after = 0, 0
    while batch := connection.execute(
        sa.select(events.c.position, events.c.stream, events.c.type, events.c.data)
        .where(events.c.position > after)
        .order_by(events.c.position)
        .limit(BATCH)
    ).all():
        headers: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for row in batch:
            event = event_from_data(row.type, row.data)
            state = evolve(stories.get(row.stream), event)
            if state is not None:
                stories[row.stream] = state
                headers.append(past_views.header_row(state))
                updates += past_views.update_rows(state, event)
        if headers:
            connection.execute(sa.insert(header_versions), headers)
        if updates:
            connection.execute(sa.insert(update_versions), updates)
        done, after = done + len(batch), batch[-1].position
        print(f"past read model: {done:,} of {total:,} events", file=sys.stderr, flush=True)


def downgrade() -> None:
    op.drop_table("update_versions")
    op.drop_table("header_versions")
