"""Updates retracted while their story was a draft are for staff alone.

Such an update's text never reached a reader: it was posted and retracted before the story
was published, so it is draft content, and a reader must not get it once the story is
published either (docs/live-drafts.md). The read models of the present (``update_views``)
and of the past (``update_versions``) mark its rows ``draft_only``, and reader queries
leave them out.

Existing rows are marked from the log, with the package's own pure functions (``evolve``
and :func:`liveblog.projections.views.draft_only_at_publication`), as a projection rebuild
marks them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sys

import sqlalchemy as sa
from alembic import op

from liveblog.domain import StoryState, evolve
from liveblog.domain.upcasting import event_from_stored
from liveblog.projections import views
from liveblog.store.tables import events

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

BATCH = 5000
TABLES = ("update_views", "update_versions")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("draft_only", sa.Boolean(), nullable=False, server_default=sa.false()))
    _mark_from_the_log()


def _mark_from_the_log() -> None:
    connection = op.get_bind()
    stories: dict[str, StoryState] = {}
    draft_only: list[tuple[str, str]] = []
    after = 0
    while batch := connection.execute(
        sa.select(events.c.position, events.c.stream, events.c.type, events.c.schema, events.c.data)
        .where(events.c.position > after)
        .order_by(events.c.position)
        .limit(BATCH)
    ).all():
        for row in batch:
            before = stories.get(row.stream)
            state = evolve(before, event_from_stored(row.type, row.schema, row.data))
            if state is not None:
                stories[row.stream] = state
                draft_only += [(row.stream, u) for u in views.draft_only_at_publication(before, state)]
        after = batch[-1].position
    for table in TABLES:
        rows = sa.table(
            table, sa.column("story", sa.String), sa.column("id", sa.String), sa.column("draft_only")
        )
        for story, update_id in draft_only:
            connection.execute(
                sa.update(rows).where(rows.c.story == story, rows.c.id == update_id).values(draft_only=True)
            )
    print(f"draft-only updates: {len(draft_only):,} marked", file=sys.stderr, flush=True)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("draft_only")
