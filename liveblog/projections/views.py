"""The JSON shapes readers get (docs/api.md's StoryHeader, Update, Story), rendered from state.

Pure functions: the inline projection stores their output, and any past version of a story
renders through the same functions, so a view of the past is byte-for-byte what was served.
"""

from __future__ import annotations

from typing import Any

from liveblog.domain import social
from liveblog.domain.state import StoryState, UpdateState
from liveblog.domain.values import Media, MediaKind, StoryStatus, UpdateStatus, rfc3339
from liveblog.projections.rendering import markdown_to_html

PAGE_SIZE = 20


def header_view(story: StoryState) -> dict[str, Any]:
    return {
        "slug": story.slug,
        "title": story.title,
        "summary": story.summary,
        "status": story.status.value,
        "language": story.language,
        "revision": story.revision,
        "version": story.version,
        "opened_at": rfc3339(story.opened_at),
        "published_at": rfc3339(story.published_at),
        "updated_at": rfc3339(story.updated_at),
        "closed_at": rfc3339(story.closed_at),
    }


def _embed_url(item: Media) -> str | None:
    try:
        return social.recognise(item.url or "", mastodon_instances=None).embed_url
    except ValueError:
        return None


IMAGE_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def media_view(item: Media) -> dict[str, Any]:
    """One of an update's media as readers get it: a link elsewhere ``{kind, url, caption}``
    (with ``alt`` and ``credit`` when set), or an uploaded image with its facts and the URLs of
    its widths (``url`` the largest, ``variants`` narrowest first). An embed also names its
    ``provider`` and the ``embed_url`` of the provider's frame (``null`` if its stored URL is
    no longer one)."""
    if item.id is None or item.content_type is None or item.width is None or item.height is None:
        view: dict[str, Any] = {"kind": item.kind.value, "url": item.url, "caption": item.caption}
        if item.alt is not None:
            view["alt"] = item.alt
        if item.credit is not None:
            view["credit"] = item.credit
        if item.kind is MediaKind.EMBED:
            view |= {
                "provider": item.provider.value if item.provider else None,
                "embed_url": _embed_url(item),
            }
        return view
    extension = IMAGE_EXTENSIONS[item.content_type]
    widths = item.widths or (item.width,)
    return {
        "kind": item.kind.value,
        "id": item.id,
        "url": f"/media/{item.id}/{widths[-1]}.{extension}",
        "alt": item.alt,
        "caption": item.caption,
        "credit": item.credit,
        "content_type": item.content_type,
        "width": item.width,
        "height": item.height,
        "variants": [{"width": w, "url": f"/media/{item.id}/{w}.{extension}"} for w in widths],
    }


def update_view(story: str, update: UpdateState) -> dict[str, Any]:
    verification = update.verification
    view = {
        "id": update.id,
        "story": story,
        "revision": update.revision,
        "status": update.status.value,
        "title": update.title,
        "body": update.body,
        "body_html": markdown_to_html(update.body),
        "byline": update.byline,
        "author": {"name": update.author},
        "sources": [{"name": s.name, "url": s.url} for s in update.sources],
        "media": [media_view(m) for m in update.media],
        "verification": None
        if verification is None
        else {
            "status": verification.status.value,
            "note": verification.note,
            "changed_at": rfc3339(verification.changed_at),
        },
        "key_event": update.key_event,
        "pinned": update.pinned,
        "occurred_at": rfc3339(update.occurred_at),
        "published_at": rfc3339(update.published_at),
        "revised_at": rfc3339(update.revised_at),
        "notes": [{"kind": n.kind.value, "note": n.note, "at": rfc3339(n.at)} for n in update.notes],
        "retraction": None
        if update.retraction is None
        else {"note": update.retraction.note, "at": rfc3339(update.retraction.at)},
    }
    if update.redaction is not None:
        return redacted_view(view, redaction_view(update))
    return view


def redaction_view(update: UpdateState) -> dict[str, Any]:
    """The public tombstone of a redacted update (never the internal reason)."""
    redaction = update.redaction
    assert redaction is not None
    return {"at": rfc3339(redaction.at), "legal_basis": redaction.legal_basis, "note": redaction.note}


def redacted_view(view: dict[str, Any], tombstone: dict[str, Any]) -> dict[str, Any]:
    """``view`` (of any version of an update) as it is kept once the update is redacted:
    status ``redacted``, every text emptied, and the ``redaction`` tombstone.

    Pure and idempotent: the redaction path rewrites the stored views of the past with it,
    a rebuild derives them with it, and the present view of a redacted update is rendered
    through it, so all three agree. Only a redacted update's view has a ``redaction`` member.
    """
    return {
        **view,
        "status": UpdateStatus.REDACTED.value,
        "title": None,
        "body": "",
        "body_html": "",
        "byline": None,
        "sources": [],
        "media": [],
        "verification": None,
        "occurred_at": None,
        "notes": [],
        "retraction": None,
        "redaction": tombstone,
    }


def is_pinned(update: UpdateState) -> bool:
    return update.pinned and update.status is UpdateStatus.PUBLISHED


def is_key_event(update: UpdateState) -> bool:
    return update.key_event and update.status is UpdateStatus.PUBLISHED


def draft_only_at_publication(before: StoryState | None, after: StoryState) -> list[str]:
    """The updates that the event taking ``before`` to ``after`` leaves to staff alone: if it
    publishes the story, those retracted while it was a draft (their text never reached a
    reader, so it is draft content); otherwise none. A retracted update never changes again,
    so this is decided once, at publication."""
    if before is None or before.status is not StoryStatus.DRAFT or after.status is StoryStatus.DRAFT:
        return []
    return [u.id for u in before.updates.values() if u.status is UpdateStatus.RETRACTED]


def story_view(story: StoryState, *, page_size: int = PAGE_SIZE) -> dict[str, Any]:
    """The whole Story resource as of ``story.version``."""
    newest_first = sorted(story.updates.values(), key=lambda u: u.seq, reverse=True)
    page = newest_first[:page_size]
    return assemble_story(
        header_view(story),
        pinned=[update_view(story.slug, u) for u in newest_first if is_pinned(u)],
        key_events=[update_view(story.slug, u) for u in newest_first if is_key_event(u)],
        updates=[update_view(story.slug, u) for u in page],
        next_cursor=encode_cursor(page[-1].seq) if len(newest_first) > page_size else None,
    )


def assemble_story(
    header: dict[str, Any],
    *,
    pinned: list[dict[str, Any]],
    key_events: list[dict[str, Any]],
    updates: list[dict[str, Any]],
    next_cursor: str | None,
) -> dict[str, Any]:
    return {**header, "pinned": pinned, "key_events": key_events, "updates": updates, "next": next_cursor}


def encode_cursor(seq: int) -> str:
    """An opaque cursor meaning "updates posted before story version ``seq``"."""
    return f"u{seq}"


def decode_cursor(cursor: str) -> int | None:
    """The ``seq`` inside a cursor, or ``None`` if it is not one of ours."""
    digits = cursor[1:]
    # At most 9 ASCII digits: every story version fits, and so does a 32-bit column.
    if not cursor.startswith("u") or not 1 <= len(digits) <= 9 or not (digits.isascii() and digits.isdigit()):
        return None
    return int(cursor[1:])
