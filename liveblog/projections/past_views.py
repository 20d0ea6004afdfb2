"""The past read model: what the story read model served at every version of every story.

Each append adds the story header as rendered at the new version, and a row for each update
the event changed, valid from that version (``since``) until a newer row of the same update
supersedes it. So the Story resource at any version is a handful of indexed rows, assembled
exactly as the present one is: a read of version 5 of a 10,000-event story costs what a
read of the present does, and no fold, no snapshot parse and no length of log is involved.
Rows are rendered by :mod:`liveblog.projections.views`, so an as-of read is byte for byte
what was served at that version; they derive from the log alone, so a rebuild reproduces them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, exists, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain.events import Event, update_id_of
from liveblog.domain.state import StoryState
from liveblog.projections import story_view, views
from liveblog.projections.tables import header_versions, update_versions


def header_row(story: StoryState) -> dict[str, Any]:
    """The header row ``story`` adds at its version."""
    row = story_view.header_row(story)
    return {"story": story.slug, "version": story.version, "status": row["status"], "header": row["header"]}


def update_rows(story: StoryState, event: Event) -> list[dict[str, Any]]:
    """The update row ``event`` adds, ``story`` being the state just after it (none when the
    event changes no update)."""
    update_id = update_id_of(event)
    if update_id is None or update_id not in story.updates:
        return []
    return [{**story_view.update_row(story, update_id), "since": story.version}]


async def apply(
    connection: AsyncConnection, headers: Iterable[dict[str, Any]], updates: Iterable[dict[str, Any]]
) -> None:
    for table, rows in ((header_versions, list(headers)), (update_versions, list(updates))):
        if rows:
            await connection.execute(insert(table), rows)


async def replace(
    connection: AsyncConnection, headers: Iterable[dict[str, Any]], updates: Iterable[dict[str, Any]]
) -> None:
    """Drop the whole past read model and store these rows instead (a rebuild)."""
    await connection.execute(delete(update_versions))
    await connection.execute(delete(header_versions))
    await apply(connection, headers, updates)


async def stored_rows(
    connection: AsyncConnection,
) -> tuple[dict[tuple[str, int], dict[str, Any]], dict[tuple[str, str, int], dict[str, Any]]]:
    """Every stored row, keyed, for comparison with a rebuild."""
    headers = {
        (row.story, row.version): dict(row._mapping)
        for row in await connection.execute(select(header_versions))
    }
    updates = {
        (row.story, row.id, row.since): dict(row._mapping)
        for row in await connection.execute(select(update_versions))
    }
    return headers, updates


async def read_header(connection: AsyncConnection, slug: str, version: int) -> dict[str, Any] | None:
    """The story header as served at ``version`` of ``slug`` (``None``: no such version)."""
    header = (
        await connection.execute(
            select(header_versions.c.header).where(
                header_versions.c.story == slug, header_versions.c.version == version
            )
        )
    ).scalar_one_or_none()
    return None if header is None else dict(json.loads(header))


def _for_readers(include_draft_only: bool) -> list[Any]:
    """The condition that leaves out what readers never get (none for staff)."""
    return [] if include_draft_only else [update_versions.c.draft_only.is_(False)]


async def read_story(
    connection: AsyncConnection, slug: str, version: int, *, include_draft_only: bool = False
) -> dict[str, Any] | None:
    """The Story resource as served at ``version`` of ``slug`` (``None``: no such version);
    updates retracted while the story was a draft only with ``include_draft_only`` (staff)."""
    header = await read_header(connection, slug, version)
    if header is None:
        return None
    hidden = _for_readers(include_draft_only)
    pinned = await _views_at(connection, slug, version, update_versions.c.pinned.is_(True), *hidden)
    key_events = await _views_at(connection, slug, version, update_versions.c.key_event.is_(True), *hidden)
    page = await _views_at(connection, slug, version, *hidden, limit=views.PAGE_SIZE + 1)
    return views.assemble_story(
        header,
        pinned=[view for _, view in pinned],
        key_events=[view for _, view in key_events],
        updates=[view for _, view in page[: views.PAGE_SIZE]],
        next_cursor=views.encode_cursor(page[views.PAGE_SIZE - 1][0])
        if len(page) > views.PAGE_SIZE
        else None,
    )


async def read_updates(
    connection: AsyncConnection, slug: str, version: int, *, include_draft_only: bool = False
) -> list[dict[str, Any]]:
    """Every update of ``slug`` as it stood at ``version``, newest first."""
    hidden = _for_readers(include_draft_only)
    return [view for _, view in await _views_at(connection, slug, version, *hidden)]


async def read_updates_page(
    connection: AsyncConnection,
    slug: str,
    version: int,
    *,
    before: int | None,
    limit: int,
    include_draft_only: bool = False,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` updates of ``slug`` as they stood at ``version``, posted before story
    version ``before``, newest first, and the cursor of the next page (as ``read_updates``
    of the present: :func:`liveblog.projections.views.encode_cursor`)."""
    conditions = [] if before is None else [update_versions.c.seq < before]
    conditions += _for_readers(include_draft_only)
    page = await _views_at(connection, slug, version, *conditions, limit=limit + 1)
    next_cursor = views.encode_cursor(page[limit - 1][0]) if len(page) > limit else None
    return [view for _, view in page[:limit]], next_cursor


async def revision_at(connection: AsyncConnection, slug: str, target: str, version: int) -> int:
    """The revision ``target`` (``"story"``: the header; else an update id) of ``slug`` had
    at ``version`` (0: it did not exist yet)."""
    if version < 1:
        return 0
    if target == "story":
        header = await read_header(connection, slug, version)
        return 0 if header is None else int(header["revision"])
    found = await _views_at(connection, slug, version, update_versions.c.id == target, limit=1)
    return int(found[0][1]["revision"]) if found else 0


async def _views_at(
    connection: AsyncConnection, slug: str, version: int, *conditions: Any, limit: int | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """``(seq, view)`` of the updates of ``slug`` as they stood at ``version``, newest first."""
    row, newer = update_versions, update_versions.alias("newer")
    superseded = exists().where(
        newer.c.story == row.c.story,
        newer.c.id == row.c.id,
        newer.c.since > row.c.since,
        newer.c.since <= version,
    )
    query = (
        select(row.c.seq, row.c.view)
        # seq <= since, so `seq <= version` adds nothing but lets the (story, seq) index
        # start the scan at the version asked for.
        .where(row.c.story == slug, row.c.seq <= version, row.c.since <= version, ~superseded, *conditions)
        .order_by(row.c.seq.desc())
        .limit(limit)
    )
    return [(seq, json.loads(view)) for seq, view in (await connection.execute(query)).all()]
