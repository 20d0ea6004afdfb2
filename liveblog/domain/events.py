"""Events: the facts of a story, in the past tense, immutable once appended.

Each event type has a ``SCHEMA`` number. A change to an event's shape adds a new schema
number and an upcaster on read (:mod:`liveblog.domain.upcasting`); stored events are never
rewritten.

The set of events is closed: :data:`StoryEvent` and :data:`UpdateEvent` list them, and
:data:`Event` is their union. Code that depends on an event's type ``match``es over these
unions, lists every case and ends in ``case _: assert_never(event)``, so that mypy names
every place a new event type must be handled (``docs/adding-an-event.md``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, TypeAlias, assert_never

from pydantic import Field, TypeAdapter

from liveblog.domain.values import (
    STORED,
    Body,
    Claim,
    ClaimStatus,
    CorrectionKind,
    Language,
    Line,
    MediaList,
    Moment,
    NoteText,
    OptionalLine,
    OptionalUpdateTitle,
    Slug,
    Sources,
    Summary,
    Title,
    UpdateId,
    UpdateTitle,
    Value,
)


class BaseEvent(Value):
    SCHEMA: ClassVar[int] = 1
    at: Moment


class StoryOpened(BaseEvent):
    type: Literal["StoryOpened"] = "StoryOpened"
    slug: Slug
    title: Title
    summary: Summary
    language: Language


class StoryPublished(BaseEvent):
    """The story went live. ``scheduled_id``, ``scheduled_for`` and ``late``: see
    :class:`UpdatePosted` (a scheduled publication)."""

    type: Literal["StoryPublished"] = "StoryPublished"
    scheduled_id: UpdateId | None = None
    scheduled_for: Moment | None = None
    late: Literal[True] | None = None


class StoryRevised(BaseEvent):
    """The headline and/or summary changed; only the changed fields are present."""

    type: Literal["StoryRevised"] = "StoryRevised"
    title: Title | None = None
    summary: Summary | None = None
    reason: NoteText | None = None


class StoryClosed(BaseEvent):
    type: Literal["StoryClosed"] = "StoryClosed"


class StoryReopened(BaseEvent):
    type: Literal["StoryReopened"] = "StoryReopened"


class BaseUpdateEvent(BaseEvent):
    """An event about one update of the story, named by ``update_id``."""

    update_id: UpdateId


class UpdatePosted(BaseUpdateEvent):
    type: Literal["UpdatePosted"] = "UpdatePosted"
    body: Body
    byline: Line | None = None
    author: str
    sources: Sources = ()
    verification: Claim | None = None
    key_event: bool = False
    pinned: bool = False
    occurred_at: Moment | None = None
    media: MediaList = ()
    title: UpdateTitle | None = None
    # A scheduled post (issue 15): the item it publishes, the time it was scheduled for,
    # and ``late`` when it was published more than ``LATE_AFTER`` after that time (every
    # server was down). ``at`` is always when it was published: when readers first saw it.
    scheduled_id: UpdateId | None = None
    scheduled_for: Moment | None = None
    late: Literal[True] | None = None


class UpdateChanges(Value):
    """The fields a correction may change; ``None`` leaves a field as it is.

    An empty ``byline`` removes the byline; an empty list removes all sources or media.
    """

    body: Body | None = Field(
        None, description="the new Markdown", examples=["Three soldiers were captured."]
    )
    byline: OptionalLine | None = Field(None, description="the new byline (empty removes it)", examples=[""])
    sources: Sources | None = Field(
        None,
        description="the new sources (empty removes them all)",
        examples=[[{"name": "Belgorod regional governor"}]],
    )
    occurred_at: Moment | None = Field(
        None, description="the new time of what it reports", examples=["2023-06-04T10:15:00+03:00"]
    )
    media: MediaList | None = Field(None, description="the new media (empty removes them all)", examples=[[]])
    title: OptionalUpdateTitle | None = Field(
        None,
        description="the new headline (plain text, at most 200 characters; empty removes it)",
        examples=[""],
    )

    def is_empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)


class UpdateCorrected(BaseUpdateEvent):
    """An update's content changed. ``changes`` holds only fields that really changed."""

    type: Literal["UpdateCorrected"] = "UpdateCorrected"
    kind: CorrectionKind
    changes: UpdateChanges
    reason: NoteText
    note: NoteText | None = None


class VerificationChanged(BaseUpdateEvent):
    type: Literal["VerificationChanged"] = "VerificationChanged"
    status: ClaimStatus
    note: NoteText | None = None


class UpdateFlagsChanged(BaseUpdateEvent):
    """Pinned and/or key-event flags changed; only the changed flags are present."""

    type: Literal["UpdateFlagsChanged"] = "UpdateFlagsChanged"
    pinned: bool | None = None
    key_event: bool | None = None


class UpdateRetracted(BaseUpdateEvent):
    type: Literal["UpdateRetracted"] = "UpdateRetracted"
    reason: NoteText
    note: NoteText


class UpdateRedacted(BaseUpdateEvent):
    """The update's text was removed for legal reasons (a court order, a named victim).

    ``legal_basis`` and ``note`` are public (the tombstone readers see); ``reason`` is
    internal. This event is never itself redacted: it is the record that the text is gone.
    """

    type: Literal["UpdateRedacted"] = "UpdateRedacted"
    legal_basis: NoteText
    note: NoteText
    reason: NoteText


# ------------------------------------------------------------- submissions (issue 15, part 1)
# A contributor's proposed update and what the desk decided. Each names the update id the
# submission publishes under if approved (its ``update_id``), so that a redaction of the
# published update also removes the submitted text (liveblog.domain.redaction). They are
# the newsroom's, never the readers': no read model, page, live message or feed for readers
# shows them (docs/api.md "Contributors and sign-off").


class UpdateSubmitted(BaseUpdateEvent):
    """A contributor proposed an update (the new-update body, without flags)."""

    type: Literal["UpdateSubmitted"] = "UpdateSubmitted"
    submitted_by: str
    """The id of the submitter's token (the actor who may withdraw it)."""
    author: str
    """The submitter's name: the published update's ``author`` if it is approved."""
    body: Body
    title: UpdateTitle | None = None
    byline: Line | None = None
    sources: Sources = ()
    verification: Claim | None = None
    occurred_at: Moment | None = None
    media: MediaList = ()


# --------------------------------------------------------------------------- scheduled posts
# Issue 15 part 2. The item's id is the id of the update it will publish (a scheduled update)
# or an id of its own (a scheduled publication). None of these events is shown to readers:
# an item exists for the newsroom alone until the UpdatePosted or StoryPublished that fires it.


class UpdateScheduled(BaseUpdateEvent):
    """A new update prepared to be published at ``publish_at`` (its content as
    :class:`UpdatePosted` will carry it; ``author`` is who scheduled it)."""

    type: Literal["UpdateScheduled"] = "UpdateScheduled"
    publish_at: Moment
    body: Body
    title: UpdateTitle | None = None
    byline: Line | None = None
    author: str
    sources: Sources = ()
    verification: Claim | None = None
    key_event: bool = False
    pinned: bool = False
    occurred_at: Moment | None = None
    media: MediaList = ()


class SubmissionWithdrawn(BaseUpdateEvent):
    """The submitter (``by``, a token id) took a pending submission back."""

    type: Literal["SubmissionWithdrawn"] = "SubmissionWithdrawn"
    by: str


class SubmissionRejected(BaseUpdateEvent):
    """An editor turned a pending submission down; ``note`` tells the submitter why."""

    type: Literal["SubmissionRejected"] = "SubmissionRejected"
    note: NoteText


class SubmissionApproved(BaseUpdateEvent):
    """An editor signed a pending submission off. ``changes`` are the editor's edits to the
    submitted text (only the fields that really differ; empty: published as submitted).
    Always followed, in the same command, by the :class:`UpdatePosted` that publishes it."""

    type: Literal["SubmissionApproved"] = "SubmissionApproved"
    submitted_by: str
    changes: UpdateChanges = Field(default_factory=UpdateChanges)


SubmissionEvent: TypeAlias = UpdateSubmitted | SubmissionWithdrawn | SubmissionRejected | SubmissionApproved
"""The events of the submission queue: staff-only, they change nothing readers see."""


class PublicationScheduled(BaseEvent):
    """The (draft) story is to be published at ``publish_at``; ``by``: who scheduled it."""

    type: Literal["PublicationScheduled"] = "PublicationScheduled"
    schedule_id: UpdateId
    publish_at: Moment
    by: str


class ScheduleChanged(BaseEvent):
    """A pending item is to be published at another time."""

    type: Literal["ScheduleChanged"] = "ScheduleChanged"
    schedule_id: UpdateId
    publish_at: Moment


class ScheduleCancelled(BaseEvent):
    """A pending item will not be published."""

    type: Literal["ScheduleCancelled"] = "ScheduleCancelled"
    schedule_id: UpdateId


StoryEvent: TypeAlias = (
    StoryOpened
    | StoryPublished
    | StoryRevised
    | StoryClosed
    | StoryReopened
    | PublicationScheduled
    | ScheduleChanged
    | ScheduleCancelled
)
"""Every event about the story as a whole (its header and status)."""

UpdateEvent: TypeAlias = (
    UpdatePosted
    | UpdateCorrected
    | VerificationChanged
    | UpdateFlagsChanged
    | UpdateRetracted
    | UpdateRedacted
    | UpdateSubmitted
    | SubmissionWithdrawn
    | SubmissionRejected
    | SubmissionApproved
    | UpdateScheduled
)
"""Every event about one update: each is a :class:`BaseUpdateEvent`."""

Event: TypeAlias = Annotated[StoryEvent | UpdateEvent, Field(discriminator="type")]
"""Every event there is. Adding one here makes mypy list each ``match`` that must handle it."""

EVENT_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def update_id_of(event: Event) -> UpdateId | None:
    """The update ``event`` concerns, or ``None`` for an event about the story as a whole."""
    match event:
        case (
            StoryOpened()
            | StoryPublished()
            | StoryRevised()
            | StoryClosed()
            | StoryReopened()
            | PublicationScheduled()
            | ScheduleChanged()
            | ScheduleCancelled()
        ):
            return None
        case (
            UpdatePosted()
            | UpdateCorrected()
            | VerificationChanged()
            | UpdateFlagsChanged()
            | UpdateRetracted()
            | UpdateRedacted()
            | UpdateSubmitted()
            | SubmissionWithdrawn()
            | SubmissionRejected()
            | SubmissionApproved()
            | UpdateScheduled()
        ):
            return event.update_id
        case _:
            assert_never(event)


def is_internal(event: Event) -> bool:
    """Whether ``event`` is the newsroom's alone (a submission's): readers are never shown it,
    nor anything it holds, and it does not move the story's ``updated_at``."""
    return isinstance(event, UpdateSubmitted | SubmissionWithdrawn | SubmissionRejected | SubmissionApproved)


SCHEDULING_EVENTS = frozenset(
    {"UpdateScheduled", "PublicationScheduled", "ScheduleChanged", "ScheduleCancelled"}
)
"""The types of the events about scheduled items: for the newsroom only, never shown to
readers or consumers (live stream, change feed, history, webhooks)."""


def event_data(event: BaseEvent) -> dict[str, object]:
    """The JSON-ready payload of an event as it is stored (its type is kept beside it)."""
    return event.model_dump(mode="json", exclude={"type"}, exclude_none=True)


def event_from_data(event_type: str, data: dict[str, object]) -> Event:
    """Rebuild an event from its stored type and payload.

    Raises ``pydantic.ValidationError`` for an unknown type or a payload that does not fit.
    """
    return EVENT_ADAPTER.validate_python({**data, "type": event_type}, context=STORED)
