"""Commands: what an editor asks for. Each carries the time it is decided at.

``expected_revision`` is the client's ``If-Match``: when given, the command is refused with
:class:`~liveblog.errors.RevisionMismatch` if the resource has changed since.
"""

from __future__ import annotations

from pydantic import Field

from liveblog.domain.events import UpdateChanges
from liveblog.domain.values import (
    Body,
    Claim,
    ClaimStatus,
    CorrectionKind,
    Language,
    Line,
    MediaList,
    Moment,
    NoteText,
    Slug,
    Sources,
    Summary,
    Title,
    UpdateId,
    UpdateTitle,
    Value,
)


class BaseCommand(Value):
    story: Slug
    at: Moment


class OpenStory(BaseCommand):
    title: Title
    summary: Summary = ""
    language: Language = "en"
    publish: bool = False


class PublishStory(BaseCommand):
    pass


class CloseStory(BaseCommand):
    pass


class ReopenStory(BaseCommand):
    pass


class ReviseStory(BaseCommand):
    title: Title | None = None
    summary: Summary | None = None
    reason: NoteText | None = None
    expected_revision: int | None = None


class PostUpdate(BaseCommand):
    update_id: UpdateId
    body: Body
    author: str
    byline: Line | None = None
    sources: Sources = ()
    verification: Claim | None = None
    key_event: bool = False
    pinned: bool = False
    occurred_at: Moment | None = None
    media: MediaList = ()
    title: UpdateTitle | None = None


class UpdateCommand(BaseCommand):
    update_id: UpdateId
    expected_revision: int | None = None


class CorrectUpdate(UpdateCommand):
    changes: UpdateChanges
    kind: CorrectionKind
    reason: NoteText
    note: NoteText | None = None


class ChangeVerification(UpdateCommand):
    status: ClaimStatus
    note: NoteText | None = None


class SetFlags(UpdateCommand):
    pinned: bool | None = None
    key_event: bool | None = None


class RetractUpdate(UpdateCommand):
    reason: NoteText
    note: NoteText


class RedactUpdate(UpdateCommand):
    """Remove an update's text for legal reasons; ``legal_basis`` and ``note`` are public."""

    legal_basis: NoteText
    note: NoteText
    reason: NoteText


# ------------------------------------------------------------- submissions (issue 15, part 1)


class SubmitUpdate(BaseCommand):
    """A contributor proposes an update; ``update_id`` is the id it is published under."""

    update_id: UpdateId
    submitted_by: str
    author: str
    body: Body
    title: UpdateTitle | None = None
    byline: Line | None = None
    sources: Sources = ()
    verification: Claim | None = None
    occurred_at: Moment | None = None
    media: MediaList = ()


# --------------------------------------------------------------------------- scheduled posts


class ScheduleUpdate(BaseCommand):
    """Prepare update ``update_id`` (the item's id too) to be published at ``publish_at``."""

    update_id: UpdateId
    publish_at: Moment
    body: Body
    author: str
    title: UpdateTitle | None = None
    byline: Line | None = None
    sources: Sources = ()
    verification: Claim | None = None
    key_event: bool = False
    pinned: bool = False
    occurred_at: Moment | None = None
    media: MediaList = ()


class WithdrawSubmission(BaseCommand):
    """The submitter (``by``, a token id) takes a pending submission back."""

    update_id: UpdateId
    by: str


class ApproveSubmission(BaseCommand):
    """An editor publishes a pending submission, with ``changes`` of their own (if any)."""

    update_id: UpdateId
    changes: UpdateChanges = Field(default_factory=UpdateChanges)


class RejectSubmission(BaseCommand):
    update_id: UpdateId
    note: NoteText


class SchedulePublication(BaseCommand):
    """Publish the draft story at ``publish_at`` (item ``schedule_id``)."""

    schedule_id: UpdateId
    publish_at: Moment
    by: str


class Reschedule(BaseCommand):
    schedule_id: UpdateId
    publish_at: Moment


class CancelSchedule(BaseCommand):
    schedule_id: UpdateId


class FireSchedule(BaseCommand):
    """Publish a pending item: the scheduler's, once it is due, or an editor's ``now``
    (``early``: before its time)."""

    schedule_id: UpdateId
    early: bool = False


Command = (
    OpenStory
    | PublishStory
    | CloseStory
    | ReopenStory
    | ReviseStory
    | PostUpdate
    | CorrectUpdate
    | ChangeVerification
    | SetFlags
    | RetractUpdate
    | RedactUpdate
    | SubmitUpdate
    | WithdrawSubmission
    | ApproveSubmission
    | RejectSubmission
    | ScheduleUpdate
    | SchedulePublication
    | Reschedule
    | CancelSchedule
    | FireSchedule
)
