"""The state of one story, as folded from its events by ``evolve``.

It holds everything a reader can be shown, so read models and as-of views are renderings
of it. Instances are immutable; ``evolve`` returns new ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from liveblog.domain.values import (
    Claim,
    ClaimStatus,
    CorrectionKind,
    Media,
    Source,
    StoryStatus,
    UpdateStatus,
    Value,
)


class Verification(Value):
    status: ClaimStatus
    note: str | None
    changed_at: datetime


class PublicNote(Value):
    kind: CorrectionKind
    note: str
    at: datetime


class Retraction(Value):
    note: str
    at: datetime


class Redaction(Value):
    """The tombstone of an update removed for legal reasons: all readers are told."""

    at: datetime
    legal_basis: str
    note: str


class UpdateState(Value):
    id: str
    seq: int = Field(description="the story version at which the update was posted")
    revision: int
    status: UpdateStatus
    body: str
    byline: str | None
    author: str
    sources: tuple[Source, ...]
    verification: Verification | None
    key_event: bool
    pinned: bool
    occurred_at: datetime | None
    published_at: datetime
    revised_at: datetime | None
    media: tuple[Media, ...]
    notes: tuple[PublicNote, ...]
    retraction: Retraction | None
    redaction: Redaction | None = None
    title: str | None = None


class ScheduledUpdate(Value):
    """The content of a scheduled update, as its ``UpdatePosted`` will carry it."""

    body: str
    title: str | None = None
    byline: str | None = None
    author: str
    sources: tuple[Source, ...] = ()
    verification: Claim | None = None
    key_event: bool = False
    pinned: bool = False
    occurred_at: datetime | None = None
    media: tuple[Media, ...] = ()


class ScheduledItem(Value):
    """A post prepared in advance (issue 15): a new update, or the story's publication."""

    id: str
    kind: Literal["update", "publication"]
    publish_at: datetime
    status: Literal["scheduled", "published", "cancelled"] = "scheduled"
    scheduled_by: str
    scheduled_at: datetime
    changed_at: datetime
    published_at: datetime | None = None
    late: bool = False
    update: ScheduledUpdate | None = None


class StoryState(Value):
    slug: str
    title: str
    summary: str
    status: StoryStatus
    language: str
    revision: int
    version: int
    opened_at: datetime
    published_at: datetime | None
    updated_at: datetime
    closed_at: datetime | None
    updates: dict[str, UpdateState]
    scheduled: dict[str, ScheduledItem] = Field(default_factory=dict)
