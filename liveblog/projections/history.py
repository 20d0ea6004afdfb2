"""The revision history read model: every change to the story header and to each update.

One row per revision of a resource (``target`` is ``"story"`` or an update id), holding the
full document, auditor-only fields included; :func:`for_reader` removes those. Rows are
written inline with each append, and derive from the log alone, so a rebuild reproduces them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, assert_never

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain import events as e
from liveblog.domain.state import StoryState, UpdateState
from liveblog.domain.values import CorrectionKind, rfc3339
from liveblog.projections import views
from liveblog.projections.diffs import word_diff
from liveblog.projections.story_view import dumps
from liveblog.projections.tables import revisions

STORY = "story"
AUDITOR_ONLY = ("actor", "reason")


def revision_rows(
    before: StoryState | None, after: StoryState, event: e.Event, actor: dict[str, Any] | None
) -> list[dict[str, Any]]:
    """The revision rows ``event`` adds, given the story just before and just after it."""
    match event:
        case e.StoryOpened() | e.StoryPublished() | e.StoryRevised() | e.StoryClosed() | e.StoryReopened():
            return [_row(after.slug, STORY, after.revision, _story_revision(before, after, event, actor))]
        case (
            e.UpdatePosted()
            | e.UpdateCorrected()
            | e.VerificationChanged()
            | e.UpdateFlagsChanged()
            | e.UpdateRetracted()
            | e.UpdateRedacted()
        ):
            update_id = event.update_id
            if update_id not in after.updates:
                return []
            old = before.updates.get(update_id) if before is not None else None
            new = after.updates[update_id]
            return [
                _row(
                    after.slug,
                    update_id,
                    new.revision,
                    _update_revision(old, new, after.version, event, actor),
                )
            ]
        case e.UpdateSubmitted() | e.SubmissionWithdrawn() | e.SubmissionRejected() | e.SubmissionApproved():
            # The queue is the newsroom's: no revision (the approval's UpdatePosted makes the
            # update's first one, as any post does); the log and the queue keep the rest.
            return []
        case _:
            assert_never(event)


def _row(story: str, target: str, revision: int, document: dict[str, Any]) -> dict[str, Any]:
    return {"stream": story, "target": target, "revision": revision, "document": dumps(document)}


def _story_kind(event: e.StoryEvent) -> tuple[str, str | None]:
    """The ``kind`` of the revision a story event makes, and its internal reason."""
    match event:
        case e.StoryOpened():
            return "opened", None
        case e.StoryPublished():
            return "published", None
        case e.StoryRevised():
            return "revised", event.reason
        case e.StoryClosed():
            return "closed", None
        case e.StoryReopened():
            return "reopened", None
        case _:
            assert_never(event)


def _story_revision(
    before: StoryState | None, after: StoryState, event: e.StoryEvent, actor: dict[str, Any] | None
) -> dict[str, Any]:
    kind, reason = _story_kind(event)
    changes: dict[str, Any] = {}
    diff: dict[str, Any] = {}
    for name in ("title", "summary", "status"):
        old = getattr(before, name) if before is not None else None
        new = getattr(after, name)
        if old != new:
            changes[name] = {"from": old, "to": new}
            if name != "status":
                diff[name] = word_diff(old or "", new)
    return {
        "revision": after.revision,
        "version": after.version,
        "at": rfc3339(event.at),
        "kind": kind,
        "note": None,
        "body": None,
        "diff": diff,
        "changes": changes,
        "actor": actor,
        "reason": reason,
    }


def _fields(update: UpdateState | None) -> dict[str, Any]:
    if update is None:
        return {}
    return {
        "body": update.body,
        "byline": update.byline,
        "sources": [source.model_dump() for source in update.sources],
        "media": [views.media_view(item) for item in update.media],
        "occurred_at": rfc3339(update.occurred_at),
        "status": update.status.value,
        "pinned": update.pinned,
        "key_event": update.key_event,
        "verification": None
        if update.verification is None
        else {"status": update.verification.status.value, "note": update.verification.note},
    }


def _update_kind(event: e.UpdateEvent) -> tuple[str, str | None, str | None]:
    """The ``kind`` of the revision an update event makes, its public note and internal reason."""
    match event:
        case e.UpdatePosted():
            return "posted", None, None
        case e.UpdateCorrected():
            return event.kind.value, event.note, event.reason
        case e.VerificationChanged():
            return "verification", event.note, None
        case e.UpdateFlagsChanged():
            return "flags", None, None
        case e.UpdateRetracted():
            return "retraction", event.note, event.reason
        case e.UpdateRedacted():
            return "redaction", event.note, event.reason
        case e.UpdateSubmitted() | e.SubmissionWithdrawn() | e.SubmissionRejected() | e.SubmissionApproved():
            raise AssertionError("a submission's events make no revision (see revision_rows)")
        case _:
            assert_never(event)


def _update_revision(
    old: UpdateState | None,
    new: UpdateState,
    version: int,
    event: e.UpdateEvent,
    actor: dict[str, Any] | None,
) -> dict[str, Any]:
    before, after = _fields(old), _fields(new)
    changes = (
        {}
        if old is None
        else {
            name: {"from": before[name], "to": after[name]} for name in after if before[name] != after[name]
        }
    )
    diff = {"body": word_diff(before["body"], after["body"])} if "body" in changes else {}
    kind, note, reason = _update_kind(event)
    document = {
        "revision": new.revision,
        "version": version,
        "at": rfc3339(event.at),
        "kind": kind,
        "note": note,
        "body": new.body,
        "diff": diff,
        "changes": changes,
        "actor": actor,
        "reason": reason,
    }
    # The redaction's own revision must not carry the text it removes in its `changes`.
    return redacted_revision(document) if new.redaction is not None else document


KEPT_CHANGES = ("status", "pinned", "key_event")
"""The changes a revision of a redacted update still lists: they hold no text."""


def redacted_revision(document: dict[str, Any]) -> dict[str, Any]:
    """A revision of an update that was redacted, as it is kept: no body, no diff, only the
    changes that hold no text, and no note or reason, except the redaction's own (its public
    note and internal reason, which say why the text is gone).

    Pure and idempotent: the redaction path rewrites the stored revisions with it, a rebuild
    derives them with it, so both agree (``projections rebuild --check``)."""
    own = document["kind"] == "redaction"
    return {
        **document,
        "body": "",
        "diff": {},
        "changes": {name: change for name, change in document["changes"].items() if name in KEPT_CHANGES},
        "note": document["note"] if own else None,
        "reason": document["reason"] if own else None,
    }


def for_reader(document: dict[str, Any]) -> dict[str, Any]:
    """A revision as readers may see it: no actor, no internal reason, no minor edit's note."""
    public = {name: value for name, value in document.items() if name not in AUDITOR_ONLY}
    if public["kind"] == CorrectionKind.MINOR.value:
        public["note"] = None
    return public


def for_editor(document: dict[str, Any]) -> dict[str, Any]:
    """A revision as editors see it: every note and internal reason (the newsroom needs to
    know why a text was changed before it changes it again), and who acted by name and role,
    but not the acting token's id, which is for auditors and admins."""
    actor = document.get("actor")
    if not actor:
        return document
    return {**document, "actor": {name: value for name, value in actor.items() if name != "id"}}


async def apply(connection: AsyncConnection, rows: Iterable[dict[str, Any]]) -> None:
    rows = list(rows)
    if rows:
        await connection.execute(insert(revisions), rows)


async def replace(connection: AsyncConnection, rows: Iterable[dict[str, Any]]) -> None:
    await connection.execute(delete(revisions))
    await apply(connection, rows)


async def read(connection: AsyncConnection, story: str, target: str) -> list[dict[str, Any]]:
    """Every revision of ``target`` in ``story``, oldest first, with auditor-only fields."""
    rows = await connection.execute(
        select(revisions.c.document)
        .where(revisions.c.stream == story, revisions.c.target == target)
        .order_by(revisions.c.revision)
    )
    return [json.loads(document) for document in rows.scalars()]


PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


def encode_cursor(revision: int) -> str:
    """An opaque cursor meaning "the revisions after revision ``revision``"."""
    return f"r{revision}"


def decode_cursor(cursor: str) -> int | None:
    """The revision inside a cursor, or ``None`` if it is not one of ours."""
    digits = cursor[1:]
    if not cursor.startswith("r") or not 1 <= len(digits) <= 9 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits)


async def read_page(
    connection: AsyncConnection, story: str, target: str, *, after: int, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to ``limit`` revisions of ``target`` after revision ``after``, oldest first, and
    the cursor of the next page (``None``: this is the last page, for now)."""
    rows = (
        await connection.execute(
            select(revisions.c.revision, revisions.c.document)
            .where(revisions.c.stream == story, revisions.c.target == target, revisions.c.revision > after)
            .order_by(revisions.c.revision)
            .limit(limit + 1)
        )
    ).all()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1].revision) if len(rows) > limit else None
    return [json.loads(row.document) for row in page], next_cursor


async def exists(connection: AsyncConnection, story: str, target: str) -> bool:
    """Whether ``target`` has any revision in ``story``."""
    found = await connection.execute(
        select(revisions.c.revision).where(revisions.c.stream == story, revisions.c.target == target).limit(1)
    )
    return found.first() is not None


async def read_story_timeline(connection: AsyncConnection, story: str) -> list[tuple[str, dict[str, Any]]]:
    """Every revision of every resource in ``story`` as ``(target, document)``, in log order."""
    rows = await connection.execute(
        select(revisions.c.target, revisions.c.document).where(revisions.c.stream == story)
    )
    timeline = [(row.target, json.loads(row.document)) for row in rows]
    return sorted(timeline, key=lambda item: int(item[1]["version"]))


async def stored_rows(connection: AsyncConnection) -> dict[tuple[str, str, int], dict[str, Any]]:
    rows = await connection.execute(select(revisions))
    return {(row.stream, row.target, row.revision): dict(row._mapping) for row in rows}
