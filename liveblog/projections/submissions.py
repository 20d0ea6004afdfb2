"""The submission queue's read model (issue 15, part 1): one row per submission.

Written inline with each append (:func:`collect`, for every event about a submission,
the redaction of its published update included), re-derived by a rebuild
(:func:`replace`), read by the submission routes only: no reader surface reads this table.
The stored JSON is docs/api.md's Submission, rendered by :func:`view` from the state.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain.state import StoryState, SubmissionState
from liveblog.domain.values import SubmissionStatus, rfc3339
from liveblog.projections import views
from liveblog.projections.story_view import dumps
from liveblog.projections.tables import submission_views
from liveblog.store.batch import Batch


def view(story: StoryState, submission: SubmissionState) -> dict[str, Any]:
    """The Submission resource: what was submitted (``update``, as an update's fields), by
    whom, where it stands, and, once approved, the editor's ``changes`` and the id of the
    published update (the same id)."""
    verification = submission.verification
    changes = submission.changes
    return {
        "id": submission.id,
        "story": story.slug,
        "status": submission.status.value,
        "submitted_by": {"id": submission.submitted_by, "name": submission.author},
        "submitted_at": rfc3339(submission.submitted_at),
        "decided_at": rfc3339(submission.decided_at),
        "update": {
            "body": submission.body,
            "title": submission.title,
            "byline": submission.byline,
            "sources": [{"name": s.name, "url": s.url} for s in submission.sources],
            "media": [views.media_view(m) for m in submission.media],
            "verification": None
            if verification is None
            else {"status": verification.status.value, "note": verification.note},
            "occurred_at": rfc3339(submission.occurred_at),
        },
        "note": submission.note,
        "changes": None if changes is None else changes.model_dump(mode="json", exclude_none=True),
        "published_update": submission.id if submission.status is SubmissionStatus.APPROVED else None,
        "redacted": submission.redacted,
    }


def submission_json(story: StoryState, submission_id: str) -> str:
    return dumps(view(story, story.submissions[submission_id]))


def row(story: StoryState, submission_id: str) -> dict[str, Any]:
    submission = story.submissions[submission_id]
    return {
        "story": story.slug,
        "id": submission.id,
        "seq": submission.seq,
        "status": submission.status.value,
        "submitted_by": submission.submitted_by,
        "view": submission_json(story, submission_id),
    }


def collect(batch: Batch, before: StoryState | None, after: StoryState, touched: Iterable[str]) -> None:
    """Add to ``batch`` the rows of the submissions among ``touched`` (the ids the events
    named), new or changed."""
    new: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for submission_id in touched:
        if submission_id not in after.submissions:
            continue
        fresh = before is None or submission_id not in before.submissions
        (new if fresh else changed).append(row(after, submission_id))
    batch.insert(submission_views, new)
    batch.change(submission_views, ("story", "id"), changed)


async def replace(connection: AsyncConnection, stories: Iterable[StoryState]) -> None:
    """Drop the queue's read model and store what ``stories`` hold instead (a rebuild)."""
    await connection.execute(delete(submission_views))
    for story in stories:
        rows = [row(story, submission_id) for submission_id in story.submissions]
        if rows:
            await connection.execute(insert(submission_views), rows)


def expected_rows(stories: Iterable[StoryState]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(story.slug, sid): row(story, sid) for story in stories for sid in story.submissions}


async def stored_rows(connection: AsyncConnection) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r.story, r.id): dict(r._mapping) for r in await connection.execute(select(submission_views))}


async def read_page(
    connection: AsyncConnection,
    slug: str,
    *,
    submitted_by: str | None,
    status: str | None,
    before: int | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` submissions of ``slug`` submitted before version ``before``, newest
    first; only ``submitted_by``'s when given, only those with ``status`` when given."""
    conditions = [submission_views.c.story == slug]
    if submitted_by is not None:
        conditions.append(submission_views.c.submitted_by == submitted_by)
    if status is not None:
        conditions.append(submission_views.c.status == status)
    if before is not None:
        conditions.append(submission_views.c.seq < before)
    rows = (
        await connection.execute(
            select(submission_views.c.seq, submission_views.c.view)
            .where(*conditions)
            .order_by(submission_views.c.seq.desc())
            .limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    next_cursor = views.encode_cursor(page[-1].seq) if len(rows) > limit else None
    return [json.loads(r.view) for r in page], next_cursor


async def read_one(connection: AsyncConnection, slug: str, submission_id: str) -> dict[str, Any] | None:
    text = (
        await connection.execute(
            select(submission_views.c.view).where(
                submission_views.c.story == slug, submission_views.c.id == submission_id
            )
        )
    ).scalar_one_or_none()
    return None if text is None else dict(json.loads(text))
