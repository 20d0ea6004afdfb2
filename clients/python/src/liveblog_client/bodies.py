"""Request bodies of docs/api.md, as typed models.

They refuse unknown fields, so a typo fails here rather than at the server. They do not
repeat the server's limits (lengths, URL rules): the server is the one judge of those and
answers a :class:`~liveblog_client.errors.ValidationFailed` naming the field.
``None`` means "not sent"; :func:`to_json` leaves such fields out.
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict

from liveblog_client.models import ClaimStatus, CorrectionKind, Media, Source


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def to_json(body: Body) -> dict[str, Any]:
    """``body`` as the JSON object to send, without the fields left as ``None``."""
    return body.model_dump(mode="json", exclude_none=True)


class NewStory(Body):
    title: str
    summary: str | None = None
    slug: str | None = None
    publish: bool = False
    language: str | None = None


class StoryPatch(Body):
    title: str | None = None
    summary: str | None = None
    reason: str | None = None


class Claim(Body):
    status: ClaimStatus
    note: str | None = None


class NewUpdate(Body):
    body: str
    title: str | None = None
    byline: str | None = None
    sources: list[Source] = []
    verification: Claim | None = None
    key_event: bool = False
    pinned: bool = False
    occurred_at: AwareDatetime | None = None
    media: list[Media] = []


class Changes(Body):
    """What a correction changes. An empty ``byline`` or ``title`` removes it; an empty list removes all
    sources or media."""

    body: str | None = None
    title: str | None = None
    byline: str | None = None
    sources: list[Source] | None = None
    occurred_at: AwareDatetime | None = None
    media: list[Media] | None = None


class Correction(Body):
    changes: Changes
    kind: CorrectionKind
    reason: str
    note: str | None = None


class Flags(Body):
    pinned: bool | None = None
    key_event: bool | None = None


class Retraction(Body):
    reason: str
    note: str


# ------------------------------------------------------------- submissions (issue 15, part 1)


class NewSubmission(Body):
    """A contributor's proposed update: a new update's body without the flags."""

    body: str
    title: str | None = None
    byline: str | None = None
    sources: list[Source] = []
    verification: Claim | None = None
    occurred_at: AwareDatetime | None = None
    media: list[Media] = []


class Approval(Body):
    """The editor's own changes at approval (the shape of a correction's), if any."""

    changes: Changes = Changes()


class Rejection(Body):
    note: str


class ScheduledUpdate(NewUpdate):
    """A new update to be published at ``publish_at`` (202: a scheduled item)."""

    publish_at: AwareDatetime


class ScheduledPublication(Body):
    publish_at: AwareDatetime


class ScheduleChange(Body):
    publish_at: AwareDatetime
