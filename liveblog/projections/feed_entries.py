"""The updates that feeds list (issue #13, point 3): read from the story read model as readers
get it, most recently changed first.

A feed holds a window of entries, not the whole story: the ``limit`` updates whose latest
change (post, correction, claim status, retraction, flags) is the newest. That is the
version of each update's newest row in ``update_versions`` (every change adds one), so a
correction to an old update brings it back into the window, where its ``updated`` time has
moved. What is listed is the ``update_views`` row itself (the present rendering, exactly as
the live page gets it), never one retracted while the story was a draft (``draft_only``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.projections import story_view
from liveblog.projections.tables import update_versions, update_views

FEED_ENTRIES = 50
FEED_STORIES = 20  # the all-stories feed looks at the stories most recently updated


async def story_entries(
    connection: AsyncConnection, slug: str, *, limit: int = FEED_ENTRIES
) -> list[dict[str, Any]]:
    """Up to ``limit`` reader-visible updates of story ``slug``, most recently changed first."""
    last = (
        select(
            update_versions.c.id,
            func.max(update_versions.c.since).label("changed"),
        )
        .where(update_versions.c.story == slug)
        .group_by(update_versions.c.id)
        .subquery()
    )
    rows = await connection.execute(
        select(update_views.c.view)
        .outerjoin(last, and_(update_views.c.story == slug, last.c.id == update_views.c.id))
        .where(update_views.c.story == slug, update_views.c.draft_only.is_(False))
        .order_by(func.coalesce(last.c.changed, update_views.c.seq).desc(), update_views.c.seq.desc())
        .limit(limit)
    )
    return [json.loads(view) for view in rows.scalars()]


async def published_headers(
    connection: AsyncConnection, *, limit: int = FEED_STORIES
) -> list[dict[str, Any]]:
    """The headers of the ``limit`` published (live or closed) stories most recently updated."""
    headers, _ = await story_view.list_headers(connection, include_drafts=False)
    headers.sort(key=lambda header: datetime.fromisoformat(header["updated_at"]), reverse=True)
    return headers[:limit]
