"""Scrubbing a redacted update out of the read models kept per event.

The present read model (``update_views``) needs nothing here: the redacted state renders as
the tombstone (:func:`liveblog.projections.views.redacted_view`) through the ordinary inline
projection. The revision history (``revisions``) and the past read model
(``update_versions``) hold one row per earlier event, each with the text as it was then: the
redaction path rewrites those rows of the update in place, with the same pure functions a
rebuild derives them with (:meth:`liveblog.projections.event_rows.EventRows.redact`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain.state import StoryState
from liveblog.projections.history import redacted_revision
from liveblog.projections.story_view import dumps
from liveblog.projections.tables import revisions, update_versions
from liveblog.projections.views import redacted_view, redaction_view
from liveblog.store import redaction as stored


def redacted_revision_text(document: str) -> str:
    """A stored revision document, redacted (:func:`~liveblog.projections.history.redacted_revision`)."""
    return dumps(redacted_revision(json.loads(document)))


def redacted_view_text(view: str, tombstone: dict[str, Any]) -> str:
    """A stored update view, redacted (:func:`~liveblog.projections.views.redacted_view`)."""
    return dumps(redacted_view(json.loads(view), tombstone))


async def count_rows(connection: AsyncConnection, story: str, update_id: str) -> dict[str, int]:
    """How many rows of each per-event read model hold a version of the update (a dry run)."""
    counts = {}
    for name, table, story_column, id_column in (
        ("revisions", revisions, revisions.c.stream, revisions.c.target),
        ("update_versions", update_versions, update_versions.c.story, update_versions.c.id),
    ):
        query = select(func.count()).select_from(table).where(story_column == story, id_column == update_id)
        counts[name] = int((await connection.execute(query)).scalar_one())
    return counts


async def scrub(connection: AsyncConnection, story: str, update_id: str, tombstone: dict[str, Any]) -> int:
    """Rewrite every revision and past view of the update to its redacted form, in the
    caller's transaction. Returns how many rows were rewritten."""
    rewritten = 0
    rows = await connection.execute(
        select(revisions.c.revision, revisions.c.document).where(
            revisions.c.stream == story, revisions.c.target == update_id
        )
    )
    for row in rows.all():
        await connection.execute(
            update(revisions)
            .where(
                revisions.c.stream == story,
                revisions.c.target == update_id,
                revisions.c.revision == row.revision,
            )
            .values(document=redacted_revision_text(row.document))
        )
        rewritten += 1
    rows = await connection.execute(
        select(update_versions.c.since, update_versions.c.view).where(
            update_versions.c.story == story, update_versions.c.id == update_id
        )
    )
    for row in rows.all():
        await connection.execute(
            update(update_versions)
            .where(
                update_versions.c.story == story,
                update_versions.c.id == update_id,
                update_versions.c.since == row.since,
            )
            .values(view=redacted_view_text(row.view, tombstone))
        )
        rewritten += 1
    return rewritten


def redacted_submission(view: dict[str, Any]) -> dict[str, Any]:
    """A stored Submission of an update since redacted: its submitted text and the editor's
    changes gone, as :func:`liveblog.domain.submissions.redacted` leaves the state."""
    return {
        **view,
        "update": {
            "body": "",
            "byline": None,
            "sources": [],
            "media": [],
            "verification": None,
            "occurred_at": None,
        },
        "note": None,
        "changes": None if view.get("changes") is None else {},
        "redacted": True,
    }


def _rewriter(story: str, update_id: str, tombstone: dict[str, Any]) -> Callable[[str], str | None]:
    """The rewrite of a stored response body: every rendering of the update in it (an
    Update, or one inside a Story's lists) replaced by its tombstone; ``None`` if it holds
    none (or is not JSON)."""

    def walk(value: Any) -> tuple[Any, bool]:
        if isinstance(value, dict):
            if value.get("id") == update_id and value.get("story") == story and "body" in value:
                return redacted_view(value, tombstone), True
            if value.get("id") == update_id and value.get("story") == story and "submitted_by" in value:
                # A stored Submission (the submit, withdrawal or rejection response).
                return redacted_submission(value), True
            pairs = [(name, walk(item)) for name, item in value.items()]
            return {name: item for name, (item, _) in pairs}, any(found for _, (_, found) in pairs)
        if isinstance(value, list):
            items = [walk(item) for item in value]
            return [item for item, _ in items], any(found for _, found in items)
        return value, False

    def rewrite(body: str) -> str | None:
        try:
            document = json.loads(body)
        except ValueError:
            return None
        rewritten, found = walk(document)
        return dumps(rewritten) if found else None

    return rewrite


def _first_seen(story: StoryState, update_id: str) -> tuple[int, datetime]:
    """The version and time from which the log, snapshots and stored responses may hold the
    update's text: its posting, or its submission if it came through the queue."""
    update = story.updates[update_id]
    submission = story.submissions.get(update_id)
    if submission is not None:
        return submission.seq, submission.submitted_at
    return update.seq, update.published_at


async def redact(
    connection: AsyncConnection, after: StoryState, update_id: str, *, by: int
) -> stored.Surfaces:
    """The whole redaction path, in the caller's write transaction, event ``by`` (the
    ``UpdateRedacted`` of ``update_id``) just appended and projected, ``after`` the story
    after it: the log's rows, snapshots and stored responses (:mod:`liveblog.store.redaction`),
    then the revisions and past views of the update. The present view needs nothing: the
    inline projection rendered the tombstone already."""
    update_state = after.updates[update_id]
    tombstone = redaction_view(update_state)
    since, posted_at = _first_seen(after, update_id)
    touched = await stored.redact(
        connection,
        after.slug,
        update_id,
        by=by,
        since=since,
        posted_at=posted_at,
        rewrite=_rewriter(after.slug, update_id, tombstone),
    )
    touched.read_models = await count_rows(connection, after.slug, update_id)
    await scrub(connection, after.slug, update_id, tombstone)
    touched.read_models["update_views"] = 1
    return touched


async def dry_run(
    connection: AsyncConnection, story: StoryState, update_id: str, tombstone: dict[str, Any]
) -> stored.Surfaces:
    """What :func:`redact` would touch if ``update_id`` were redacted now (changes nothing)."""
    since, posted_at = _first_seen(story, update_id)
    found = await stored.surfaces(
        connection,
        story.slug,
        update_id,
        by=story.version + 1,
        since=since,
        posted_at=posted_at,
        rewrite=_rewriter(story.slug, update_id, tombstone),
    )
    found.read_models = {**await count_rows(connection, story.slug, update_id), "update_views": 1}
    return found
