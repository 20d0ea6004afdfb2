"""Request bodies and response shapes of docs/api.md, as pydantic models (and OpenAPI).

Requests forbid unknown fields, so a typo is a 422 rather than a silently ignored field.
Responses are documented here but rendered by :mod:`liveblog.projections.views`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

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
)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewStory(Request):
    title: Title
    summary: Summary = ""
    slug: Slug | None = None
    publish: bool = False
    language: Language = "en"


class StoryPatch(Request):
    title: Title | None = None
    summary: Summary | None = None
    reason: NoteText | None = None


class NewUpdate(Request):
    body: Body
    byline: Line | None = None
    sources: Sources = ()
    verification: Claim | None = None
    key_event: bool = False
    pinned: bool = False
    occurred_at: Moment | None = None
    media: MediaList = ()


class Correction(Request):
    changes: UpdateChanges
    kind: CorrectionKind
    reason: NoteText = Field(description="internal: why, for the newsroom and auditors")
    note: NoteText | None = Field(default=None, description="public; required except for minor")


class VerificationBody(Request):
    status: ClaimStatus
    note: NoteText | None = None


class Flags(Request):
    pinned: bool | None = None
    key_event: bool | None = None


class RetractionBody(Request):
    reason: NoteText = Field(description="internal")
    note: NoteText = Field(description="public notice shown with the struck-through update")


# ----------------------------------------------------------------- responses (docs)


class Response(BaseModel):
    model_config = ConfigDict(extra="allow")


class Author(Response):
    name: str


class VerificationOut(Response):
    status: ClaimStatus
    note: str | None
    changed_at: str


class NoteOut(Response):
    kind: CorrectionKind
    note: str
    at: str


class RetractionOut(Response):
    note: str
    at: str


class Update(Response):
    id: str
    story: str
    revision: int
    status: str = Field(description="published | retracted")
    body: str
    body_html: str
    byline: str | None
    author: Author
    sources: list[dict[str, Any]]
    media: list[dict[str, Any]]
    verification: VerificationOut | None
    key_event: bool
    pinned: bool
    occurred_at: str | None
    published_at: str
    revised_at: str | None
    notes: list[NoteOut]
    retraction: RetractionOut | None


class StoryHeader(Response):
    slug: str
    title: str
    summary: str
    status: str = Field(description="draft | live | closed")
    language: str
    revision: int
    version: int
    opened_at: str
    published_at: str | None
    updated_at: str
    closed_at: str | None


class Story(StoryHeader):
    pinned: list[Update]
    key_events: list[Update]
    updates: list[Update]
    next: str | None


class StoryList(Response):
    items: list[StoryHeader]


class UpdateList(Response):
    items: list[Update]
    next: str | None


class Problem(Response):
    type: str
    title: str
    status: int
    detail: str
