"""Typed models of every resource in docs/api.md, as the server sends them.

Responses allow extra fields, so a server that adds a member does not break an older
client; the members docs/api.md fixes are required and typed. Times are parsed into aware
``datetime`` objects, except where the exact text matters (a checkpoint's ``signed_at`` is
signed as written, so it stays a string).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field


class StoryStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


class UpdateStatus(StrEnum):
    PUBLISHED = "published"
    RETRACTED = "retracted"
    REDACTED = "redacted"  # its text removed for legal reasons (see Update.redaction)


class ClaimStatus(StrEnum):
    UNVERIFIED = "unverified"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"
    DENIED = "denied"
    FALSE = "false"


class CorrectionKind(StrEnum):
    CORRECTION = "correction"
    CLARIFICATION = "clarification"
    AMENDMENT = "amendment"
    MINOR = "minor"


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    LINK = "link"
    EMBED = "embed"


class Resource(BaseModel):
    """Base of everything the server sends: immutable, extra members kept."""

    model_config = ConfigDict(extra="allow", frozen=True)


class Author(Resource):
    name: str


class Source(Resource):
    """Where a claim comes from; also used in request bodies."""

    name: str
    url: str | None = None


class Media(Resource):
    """An image, video or link attached to an update; also used in request bodies. An image
    uploaded with :meth:`Client.upload` is named by ``id`` (no ``url``) with a required
    ``alt``; in an Update the server adds its ``url``, size and ``variants``. An ``embed`` is
    a social post by its URL (the server answers with its canonical ``url``, ``provider`` and
    ``embed_url``, which is never sent back)."""

    kind: MediaKind
    url: str | None = None
    caption: str | None = None
    id: str | None = None
    alt: str | None = None
    credit: str | None = None
    provider: str | None = None
    embed_url: str | None = Field(default=None, exclude=True)


class MediaVariant(Resource):
    """One stored width of an uploaded image."""

    width: int
    url: str


class UploadedMedia(Resource):
    """An image as ``POST /api/v1/media`` stored it (metadata stripped, in a few widths)."""

    id: str
    content_type: str
    width: int
    height: int
    url: str
    variants: list[MediaVariant]
    created_at: AwareDatetime


class Verification(Resource):
    status: ClaimStatus
    note: str | None
    changed_at: AwareDatetime


class Note(Resource):
    """A public correction notice shown with an update."""

    kind: CorrectionKind
    note: str
    at: AwareDatetime


class RetractionNotice(Resource):
    note: str
    at: AwareDatetime


class RedactionNotice(Resource):
    """The public notice where a redacted update was (never the internal reason)."""

    at: AwareDatetime
    legal_basis: str
    note: str


def _none_as_empty(value: Any) -> Any:
    return [] if value is None else value


class Update(Resource):
    id: str
    story: str
    revision: int
    status: UpdateStatus
    title: str | None = None
    body: str
    body_html: str
    byline: str | None
    author: Author
    sources: list[Source]
    media: list[Media] = []
    verification: Verification | None
    key_event: bool
    pinned: bool
    occurred_at: AwareDatetime | None
    published_at: AwareDatetime
    revised_at: AwareDatetime | None
    # A redacted update's notes are emptied: null or [] (issue #12's public view).
    notes: Annotated[list[Note], BeforeValidator(_none_as_empty)]
    retraction: RetractionNotice | None
    redaction: RedactionNotice | None = None


class StoryHeader(Resource):
    slug: str
    title: str
    summary: str
    status: StoryStatus
    language: str
    revision: int
    version: int
    opened_at: AwareDatetime
    published_at: AwareDatetime | None
    updated_at: AwareDatetime
    closed_at: AwareDatetime | None


class Story(StoryHeader):
    pinned: list[Update]
    key_events: list[Update]
    updates: list[Update]
    next: str | None


class StoryList(Resource):
    items: list[StoryHeader]
    next: str | None = None


class UpdatePage(Resource):
    items: list[Update]
    next: str | None


# ------------------------------------------------------------- submissions (issue 15, part 1)


class SubmissionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class Submitter(Resource):
    id: str
    name: str


class Submission(Resource):
    """A contributor's proposed update (``update``: its fields as submitted) and where it stands."""

    id: str
    story: str
    status: SubmissionStatus
    submitted_by: Submitter
    submitted_at: AwareDatetime
    decided_at: AwareDatetime | None = None
    update: dict[str, Any]
    note: str | None = None
    changes: dict[str, Any] | None = None
    published_update: str | None = None
    redacted: bool = False


class SubmissionPage(Resource):
    items: list[Submission]
    next: str | None


# ------------------------------------------------------------------------- audit


class Actor(Resource):
    """Who acted. ``id`` (the acting token's) is for auditors: editors' histories leave it out."""

    id: str | None = None
    name: str
    role: str


class Event(Resource):
    """One event of a story's log (auditors)."""

    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    version: int
    position: int
    type: str
    schema_version: int | None = Field(default=None, alias="schema")
    data: dict[str, Any]
    actor: Actor | None
    recorded_at: AwareDatetime
    hash: str
    prev_hash: str


class EventPage(Resource):
    items: list[Event]
    next: str | None


class DiffOp(Resource):
    """A run of text kept (``equal``), removed (``delete``) or added (``insert``)."""

    op: str
    text: str


class FieldChange(Resource):
    model_config = ConfigDict(extra="allow", frozen=True, populate_by_name=True)

    before: Any = Field(alias="from")
    after: Any = Field(alias="to")


class Revision(Resource):
    """One revision of an update or of a story header; ``actor`` and ``reason`` only for staff."""

    revision: int
    version: int
    at: AwareDatetime
    kind: str
    note: str | None
    body: str | None
    diff: dict[str, list[DiffOp]]
    changes: dict[str, FieldChange]
    actor: Actor | None = None
    reason: str | None = None


class RevisionList(Resource):
    """A page of revisions, oldest first; ``next`` is the cursor of the following page
    (``None``: the last). The clients' ``history``/``revisions`` return every page as one."""

    items: list[Revision]
    next: str | None = None


class Checkpoint(Resource):
    """A signed statement that the story's log had ``head_hash`` at ``version``."""

    story: str
    version: int
    head_hash: str
    signed_at: str
    key_id: str
    algorithm: str
    signature: str


class PublicKey(Resource):
    id: str
    algorithm: str
    public_key: str
    created_at: datetime


class KeyList(Resource):
    items: list[PublicKey]


class Problem(Resource):
    """An RFC 9457 problem document; ``errors`` and ``current_revision`` when the server adds them."""

    type: str = "about:blank"
    title: str = ""
    status: int
    detail: str = ""


# ------------------------------------------------------------------ live delivery


class Hello(Resource):
    type: Literal["hello"]
    story: str
    version: int


class LiveEvent(Resource):
    """A story event as live delivery sends it: the header and the update after the event."""

    type: Literal["event"]
    version: int
    event: str
    at: AwareDatetime
    story: StoryHeader
    update: Update | None


class Reset(Resource):
    type: Literal["reset"]
    version: int


class Heartbeat(Resource):
    type: Literal["heartbeat"]
    version: int | None = None


LiveMessage = Annotated[Hello | LiveEvent | Reset | Heartbeat, Field(discriminator="type")]


class Resync(Resource):
    """Not a server message: what :func:`~liveblog_client.follow.follow` yields when the server
    could not replay what was missed. ``story`` is the story reloaded; following goes on after
    its version, so events between the last one yielded and ``story.version`` were skipped."""

    story: Story


# ------------------------------------------------------------------ scheduled posts


class ScheduledContent(Resource):
    """The new-update body a scheduled item will publish."""

    title: str | None = None
    body: str
    body_html: str


class ScheduledItem(Resource):
    """A post prepared in advance (docs/api.md "Scheduled posts"): a new update or the
    story's publication, ``scheduled``, ``published`` or ``cancelled``."""

    id: str
    story: str
    kind: Literal["update", "publication"]
    status: Literal["scheduled", "published", "cancelled"]
    publish_at: AwareDatetime
    scheduled_by: str
    published_at: AwareDatetime | None = None
    late: bool = False
    update: ScheduledContent | None = None


class ScheduledList(Resource):
    items: list[ScheduledItem]
    next: str | None
