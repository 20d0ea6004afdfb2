"""The story read model: write it inline with each append, read it, rebuild or check it.

``collect`` adds its rows to the append transaction's batch, so the read model is never behind the log it
was committed with. The stored JSON is produced by :mod:`liveblog.projections.views`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain.state import StoryState
from liveblog.domain.values import StoryStatus
from liveblog.projections import views
from liveblog.projections.tables import story_headers, update_views
from liveblog.store.batch import Batch


def dumps(document: Any) -> str:
    """The one JSON encoding used for stored views and responses (compact, UTF-8)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


_RENDERED_KEEP = 256
_rendered: dict[tuple[int, str], tuple[object, str]] = {}


def _memo(item: object, slug: str, render: Any) -> str:
    """``render()``, remembered for ``item`` (an immutable state) while it lives in the memo.

    A command renders the same update and header for the read model, the past read model
    and its response: this encodes each once. The memo holds the object itself and compares
    identity, so a recycled ``id()`` can never return another object's rendering."""
    key = (id(item), slug)
    hit = _rendered.get(key)
    if hit is not None and hit[0] is item:
        return hit[1]
    text: str = render()
    _rendered[key] = (item, text)
    if len(_rendered) > _RENDERED_KEEP:
        del _rendered[next(iter(_rendered))]
    return text


def header_json(story: StoryState) -> str:
    """The stored (and served) JSON of ``story``'s header, encoded once per state."""
    return _memo(story, "", lambda: dumps(views.header_view(story)))


def update_json(story: StoryState, update_id: str) -> str:
    """The stored (and served) JSON of update ``update_id`` as ``story`` holds it."""
    item = story.updates[update_id]
    return _memo(item, story.slug, lambda: dumps(views.update_view(story.slug, item)))


def header_row(story: StoryState) -> dict[str, Any]:
    return {
        "slug": story.slug,
        "status": story.status.value,
        "version": story.version,
        "opened_at": story.opened_at,
        "header": header_json(story),
    }


def update_row(story: StoryState, update_id: str) -> dict[str, Any]:
    item = story.updates[update_id]
    return {
        "story": story.slug,
        "id": item.id,
        "seq": item.seq,
        "pinned": views.is_pinned(item),
        "key_event": views.is_key_event(item),
        "view": update_json(story, update_id),
    }


def _for_readers(include_draft_only: bool) -> list[Any]:
    """The condition that leaves out what readers never get (none for staff)."""
    return [] if include_draft_only else [update_views.c.draft_only.is_(False)]


def collect(batch: Batch, before: StoryState | None, after: StoryState, touched: Iterable[str]) -> None:
    """Add to ``batch`` what brings the read model from ``before`` to ``after``; ``touched``
    are the changed updates."""
    header = header_row(after)
    if before is None:
        batch.insert(story_headers, [header])
    else:
        batch.change(story_headers, ("slug",), [header])
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for update_id in touched:
        (new if before is None or update_id not in before.updates else changed).append(
            update_row(after, update_id)
        )
    batch.insert(update_views, new)
    batch.change(update_views, ("story", "id"), changed)
    draft_only = views.draft_only_at_publication(before, after)
    batch.change(
        update_views,
        ("story", "id"),
        [{"story": after.slug, "id": update_id, "draft_only": True} for update_id in draft_only],
    )


async def replace(
    connection: AsyncConnection, stories: Iterable[StoryState], draft_only: Collection[tuple[str, str]]
) -> None:
    """Drop the whole read model and store ``stories`` instead (a rebuild); ``draft_only``
    are the ``(story, update)`` pairs retracted while the story was a draft."""
    await connection.execute(delete(update_views))
    await connection.execute(delete(story_headers))
    for story in stories:
        await connection.execute(insert(story_headers).values(header_row(story)))
        rows = [
            {**update_row(story, update_id), "draft_only": (story.slug, update_id) in draft_only}
            for update_id in story.updates
        ]
        if rows:
            await connection.execute(insert(update_views), rows)


async def stored_rows(
    connection: AsyncConnection,
) -> tuple[dict[str, dict[str, Any]], dict[tuple[str, str], dict[str, Any]]]:
    """Every stored row, keyed, for comparison with a rebuild."""
    headers = {row.slug: dict(row._mapping) for row in await connection.execute(select(story_headers))}
    updates = {
        (row.story, row.id): dict(row._mapping) for row in await connection.execute(select(update_views))
    }
    return headers, updates


# ---------------------------------------------------------------------------- reads


async def read_header(connection: AsyncConnection, slug: str) -> dict[str, Any] | None:
    header = (
        await connection.execute(select(story_headers.c.header).where(story_headers.c.slug == slug))
    ).scalar_one_or_none()
    return None if header is None else dict(json.loads(header))


async def read_story(
    connection: AsyncConnection, header: dict[str, Any], *, include_draft_only: bool = False
) -> dict[str, Any]:
    """The Story resource for a header already read (see :func:`read_header`); updates
    retracted while the story was a draft only with ``include_draft_only`` (staff)."""
    slug = header["slug"]
    hidden = _for_readers(include_draft_only)
    pinned = await _views(connection, update_views.c.story == slug, update_views.c.pinned.is_(True), *hidden)
    key_events = await _views(
        connection, update_views.c.story == slug, update_views.c.key_event.is_(True), *hidden
    )
    updates, next_cursor = await read_updates(
        connection, slug, before=None, limit=views.PAGE_SIZE, include_draft_only=include_draft_only
    )
    return views.assemble_story(
        header, pinned=pinned, key_events=key_events, updates=updates, next_cursor=next_cursor
    )


async def read_updates(
    connection: AsyncConnection,
    slug: str,
    *,
    before: int | None,
    limit: int,
    include_draft_only: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` updates posted before story version ``before``, newest first (those
    retracted while the story was a draft only with ``include_draft_only``)."""
    conditions = [update_views.c.story == slug, *_for_readers(include_draft_only)]
    if before is not None:
        conditions.append(update_views.c.seq < before)
    rows = (
        await connection.execute(
            select(update_views.c.seq, update_views.c.view)
            .where(*conditions)
            .order_by(update_views.c.seq.desc())
            .limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    next_cursor = views.encode_cursor(page[-1].seq) if len(rows) > limit else None
    return [json.loads(row.view) for row in page], next_cursor


async def read_update(
    connection: AsyncConnection, slug: str, update_id: str, *, include_draft_only: bool = False
) -> dict[str, Any] | None:
    """The update as it stands (``None``: no such update, or one retracted while the story
    was a draft and not ``include_draft_only``)."""
    view = (
        await connection.execute(
            select(update_views.c.view).where(
                update_views.c.story == slug,
                update_views.c.id == update_id,
                *_for_readers(include_draft_only),
            )
        )
    ).scalar_one_or_none()
    return None if view is None else dict(json.loads(view))


STORY_PAGE_SIZE = 50
"""Stories per page of ``GET /stories`` unless the client asks for another ``limit``."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_story_cursor(opened_at: datetime, slug: str) -> str:
    """An opaque cursor meaning "stories listed after the one opened at ``opened_at`` as ``slug``"."""
    return f"s{(opened_at - _EPOCH) // timedelta(microseconds=1)}.{slug}"


def decode_story_cursor(cursor: str) -> tuple[datetime, str] | None:
    """The position inside a story cursor, or ``None`` if it is not one of ours."""
    match = re.fullmatch(r"s(-?[0-9]{1,18})\.([a-z0-9-]{1,80})", cursor)
    if match is None:
        return None
    try:
        opened_at = _EPOCH + timedelta(microseconds=int(match[1]))
    except OverflowError:
        return None
    return opened_at, match[2]


async def list_headers(
    connection: AsyncConnection,
    *,
    include_drafts: bool,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of story headers, most recently opened first (ties by slug), and the cursor of
    the next page (``None`` on the last one). ``after`` is a decoded cursor; ``limit`` ``None``
    reads every story (for callers that bound the list themselves)."""
    query = select(story_headers.c.header, story_headers.c.opened_at, story_headers.c.slug).order_by(
        story_headers.c.opened_at.desc(), story_headers.c.slug
    )
    if not include_drafts:
        query = query.where(story_headers.c.status != StoryStatus.DRAFT.value)
    if after is not None:
        opened_at, slug = after
        query = query.where(
            or_(
                story_headers.c.opened_at < opened_at,
                and_(story_headers.c.opened_at == opened_at, story_headers.c.slug > slug),
            )
        )
    if limit is not None:
        query = query.limit(limit + 1)
    rows = (await connection.execute(query)).all()
    if limit is None or len(rows) <= limit:
        return [json.loads(row.header) for row in rows], None
    last = rows[limit - 1]
    return [json.loads(row.header) for row in rows[:limit]], encode_story_cursor(last.opened_at, last.slug)


async def _views(connection: AsyncConnection, *conditions: Any) -> list[dict[str, Any]]:
    rows = await connection.execute(
        select(update_views.c.view).where(*conditions).order_by(update_views.c.seq.desc())
    )
    return [json.loads(view) for view in rows.scalars()]
