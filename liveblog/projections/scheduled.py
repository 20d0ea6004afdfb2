"""The scheduled-items read model (issue 15): every post prepared in advance, per story.

Written inline with each append from the story's state (:func:`collect`), like the story
read model, and re-derived by a rebuild. The newsroom lists it (``GET …/scheduled``) and the
scheduler reads it to find what is due (:func:`due`, :func:`next_due`); what it holds is
never served to readers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain.state import ScheduledItem, StoryState
from liveblog.domain.values import rfc3339
from liveblog.projections.rendering import markdown_to_html
from liveblog.projections.story_view import dumps
from liveblog.projections.tables import scheduled_items
from liveblog.store.batch import Batch

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def item_view(story: str, item: ScheduledItem) -> dict[str, Any]:
    """docs/api.md's ScheduledItem: ``update`` is the new-update body it will publish."""
    content = item.update
    return {
        "id": item.id,
        "story": story,
        "kind": item.kind,
        "status": item.status,
        "publish_at": rfc3339(item.publish_at),
        "scheduled_by": item.scheduled_by,
        "scheduled_at": rfc3339(item.scheduled_at),
        "changed_at": rfc3339(item.changed_at),
        "published_at": rfc3339(item.published_at),
        "late": item.late,
        "update": None
        if content is None
        else {
            "title": content.title,
            "body": content.body,
            "body_html": markdown_to_html(content.body),
            "byline": content.byline,
            "sources": [s.model_dump(mode="json") for s in content.sources],
            "verification": None
            if content.verification is None
            else content.verification.model_dump(mode="json"),
            "key_event": content.key_event,
            "pinned": content.pinned,
            "occurred_at": rfc3339(content.occurred_at),
            "media": [m.model_dump(mode="json") for m in content.media],
        },
    }


def item_json(story: StoryState, item_id: str) -> str:
    return dumps(item_view(story.slug, story.scheduled[item_id]))


def row(story: StoryState, item_id: str) -> dict[str, Any]:
    item = story.scheduled[item_id]
    return {
        "story": story.slug,
        "id": item.id,
        "kind": item.kind,
        "status": item.status,
        "publish_at": item.publish_at,
        "view": item_json(story, item_id),
    }


def collect(batch: Batch, before: StoryState | None, after: StoryState) -> None:
    """Add to ``batch`` the rows of the items that changed from ``before`` to ``after``."""
    old = before.scheduled if before is not None else {}
    new = [row(after, i) for i in after.scheduled if i not in old]
    changed = [row(after, i) for i, item in after.scheduled.items() if i in old and old[i] != item]
    batch.insert(scheduled_items, new)
    batch.change(scheduled_items, ("story", "id"), changed)


async def replace(connection: AsyncConnection, stories: Iterable[StoryState]) -> None:
    """Drop the read model and store the items of ``stories`` instead (a rebuild)."""
    await connection.execute(delete(scheduled_items))
    rows = [row(story, item_id) for story in stories for item_id in story.scheduled]
    if rows:
        await connection.execute(insert(scheduled_items), rows)


def expected_rows(stories: Iterable[StoryState]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(story.slug, i): row(story, i) for story in stories for i in story.scheduled}


async def stored_rows(connection: AsyncConnection) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r.story, r.id): dict(r._mapping) for r in await connection.execute(select(scheduled_items))}


# ---------------------------------------------------------------------------- reads


async def read_item(connection: AsyncConnection, story: str, item_id: str) -> dict[str, Any] | None:
    view = await connection.scalar(
        select(scheduled_items.c.view).where(
            scheduled_items.c.story == story, scheduled_items.c.id == item_id
        )
    )
    return None if view is None else dict(json.loads(view))


async def read_page(
    connection: AsyncConnection, story: str, *, status: str | None, after: int, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` items of ``story`` (of ``status``, if given), soonest first, after the
    first ``after`` of that order, and the cursor of the next page (``None``: the last)."""
    query = select(scheduled_items.c.view).where(scheduled_items.c.story == story)
    if status is not None:
        query = query.where(scheduled_items.c.status == status)
    rows = await connection.execute(
        query.order_by(scheduled_items.c.publish_at, scheduled_items.c.id).offset(after).limit(limit + 1)
    )
    views = [json.loads(view) for view in rows.scalars()]
    following = f"o{after + limit}" if len(views) > limit else None
    return views[:limit], following


def decode_cursor(cursor: str) -> int | None:
    digits = cursor[1:]
    if not cursor.startswith("o") or not 1 <= len(digits) <= 9 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits)


@dataclass(frozen=True, slots=True)
class Due:
    story: str
    id: str
    publish_at: datetime


async def due(connection: AsyncConnection, now: datetime, *, limit: int = 100) -> list[Due]:
    """The pending items whose time has come, soonest first (the scheduler's queue)."""
    rows = await connection.execute(
        select(scheduled_items.c.story, scheduled_items.c.id, scheduled_items.c.publish_at)
        .where(scheduled_items.c.status == "scheduled", scheduled_items.c.publish_at <= now)
        .order_by(scheduled_items.c.publish_at)
        .limit(limit)
    )
    return [Due(r.story, r.id, r.publish_at) for r in rows]


async def next_due(connection: AsyncConnection) -> datetime | None:
    """When the soonest pending item falls due (``None``: nothing is pending)."""
    moment: datetime | None = await connection.scalar(
        select(func.min(scheduled_items.c.publish_at)).where(scheduled_items.c.status == "scheduled")
    )
    return moment
