"""A small, made-up live story to test against: a bridge closed after a ship strikes it.

Times are minutes after :data:`T0`; builders give each event sensible defaults so a test
only spells out what it is about.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from liveblog.domain.events import (
    Event,
    StoryClosed,
    StoryOpened,
    StoryPublished,
    UpdatePosted,
    UpdateRedacted,
    UpdateRetracted,
    UpdateSubmitted,
)
from liveblog.domain.values import Claim, Media, Source

SLUG = "harbour-bridge"
TITLE = "Harbour bridge shut after cargo ship hits pier"
SUMMARY = "Traffic is diverted while engineers inspect the damage."
BODY = "Police have closed both carriageways of the bridge."
AUTHOR = "Ines Okafor"
BYLINE = "Ines Okafor, transport reporter"

T0 = datetime(2025, 3, 14, 6, 30, tzinfo=UTC)


def minute(n: int) -> datetime:
    """The time ``n`` minutes into the story."""
    return T0 + timedelta(minutes=n)


# When the builders below date their events by default.
PUBLISHED_AT = minute(1)
POSTED_AT = minute(5)
RETRACTED_AT = minute(20)
CLOSED_AT = minute(50)


PORT_AUTHORITY = Source(name="Port authority", url="https://port.example/notices/42")
COASTGUARD = Source(name="Coastguard")
PIER_PHOTO = Media(kind="image", url="https://media.example/pier.jpg", caption="The damaged pier")


def opened(*, at: datetime = T0, title: str = TITLE, summary: str = SUMMARY) -> StoryOpened:
    return StoryOpened(slug=SLUG, title=title, summary=summary, language="en", at=at)


def published(*, at: datetime = PUBLISHED_AT) -> StoryPublished:
    return StoryPublished(at=at)


def closed(*, at: datetime = CLOSED_AT) -> StoryClosed:
    return StoryClosed(at=at)


def posted(
    update_id: str = "u1",
    *,
    at: datetime = POSTED_AT,
    body: str = BODY,
    byline: str | None = BYLINE,
    sources: tuple[Source, ...] = (PORT_AUTHORITY,),
    verification: Claim | None = None,
    key_event: bool = False,
    pinned: bool = False,
    occurred_at: datetime | None = None,
    media: tuple[Media, ...] = (),
) -> UpdatePosted:
    return UpdatePosted(
        update_id=update_id,
        body=body,
        byline=byline,
        author=AUTHOR,
        sources=sources,
        verification=verification,
        key_event=key_event,
        pinned=pinned,
        occurred_at=occurred_at,
        media=media,
        at=at,
    )


def retracted(update_id: str = "u1", *, at: datetime = RETRACTED_AT) -> UpdateRetracted:
    return UpdateRetracted(
        update_id=update_id,
        reason="Single anonymous source, not confirmed",
        note="This update reported a second collision that did not happen.",
        at=at,
    )


REDACTED_AT = minute(40)


def redacted(update_id: str = "u1", *, at: datetime = REDACTED_AT) -> UpdateRedacted:
    return UpdateRedacted(
        update_id=update_id,
        legal_basis="court order 2026/123",
        note="Removed on the order of the harbour district court.",
        reason="Names a minor; injunction served by the family's lawyer",
        at=at,
    )


def draft_story() -> tuple[Event, ...]:
    return (opened(),)


def live_story() -> tuple[Event, ...]:
    return (opened(), published())


def closed_story() -> tuple[Event, ...]:
    return (opened(), published(), closed())


def live_story_with_update() -> tuple[Event, ...]:
    """A live story with one update ``u1``, posted at minute 5 with the default fields."""
    return (*live_story(), posted())


# ------------------------------------------------------------- submissions (issue 15, part 1)
CONTRIBUTOR = "tok_field"
"""The token id of the field reporter who submits."""
REPORTER = "Field reporter"
SUBMITTED_AT = minute(10)


def submitted(
    update_id: str = "s1",
    *,
    at: datetime = SUBMITTED_AT,
    body: str = BODY,
    byline: str | None = BYLINE,
    sources: tuple[Source, ...] = (PORT_AUTHORITY,),
    verification: Claim | None = None,
    occurred_at: datetime | None = None,
    media: tuple[Media, ...] = (),
    by: str = CONTRIBUTOR,
) -> UpdateSubmitted:
    return UpdateSubmitted(
        update_id=update_id,
        submitted_by=by,
        author=REPORTER,
        body=body,
        byline=byline,
        sources=sources,
        verification=verification,
        occurred_at=occurred_at,
        media=media,
        at=at,
    )


def live_story_with_submission() -> tuple[Event, ...]:
    """A live story with one pending submission ``s1``, submitted at minute 10."""
    return (*live_story(), submitted())
