"""The state of one story, as folded from its events by ``evolve``.

It holds everything a reader can be shown, so read models and as-of views are renderings
of it. Instances are immutable; ``evolve`` returns new ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from liveblog.domain.events import UpdateChanges
from liveblog.domain.values import (
    Claim,
    ClaimStatus,
    CorrectionKind,
    Media,
    Source,
    StoryStatus,
    SubmissionStatus,
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


class SubmissionState(Value):
    """A contributor's proposed update and where it stands (never shown to readers)."""

    id: str = Field(description="the submission's id: the update id it is published under")
    seq: int = Field(description="the story version at which it was submitted")
    status: SubmissionStatus
    submitted_by: str
    author: str
    submitted_at: datetime
    body: str
    title: str | None = None
    byline: str | None = None
    sources: tuple[Source, ...] = ()
    verification: Claim | None = None
    occurred_at: datetime | None = None
    media: tuple[Media, ...] = ()
    decided_at: datetime | None = None
    note: str | None = None
    """A rejection's note to the submitter."""
    changes: UpdateChanges | None = None
    """An approval's edits by the editor (empty: published as submitted)."""
    redacted: bool = False
    """The published update was redacted: the submitted text is gone from here too."""


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
    submissions: dict[str, SubmissionState] = Field(default_factory=dict)
    clock: datetime | None = None
    """The time of the latest event when it is one of the submission queue's (which leave
    ``updated_at`` alone: readers are not told of them); ``None`` otherwise."""
    scheduled: dict[str, ScheduledItem] = Field(default_factory=dict)
