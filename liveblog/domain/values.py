"""Value types shared by commands, events and state, with the limits a newsroom needs.

Text is normalised to Unicode NFC on the way in, so that equal-looking text is equal and
hashes of events are stable. Times must carry an offset and are kept in UTC.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

SLUG_PATTERN = r"^[a-z0-9-]{1,80}$"
MAX_VERSION = 2_147_483_647  # versions and revisions are 32-bit in storage
MAX_BODY_CHARS = 20_000


def _nfc(text: object) -> object:
    # Before the length limits: NFC can lengthen text, and the limits hold for what is stored.
    if not isinstance(text, str):
        return text
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    return unicodedata.normalize("NFC", text)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must contain more than white space")
    return text


def _utc(moment: datetime) -> datetime:
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError("must lie between the years 1 and 9999 in UTC") from exc


def rfc3339(moment: datetime | None) -> str | None:
    """``moment`` as RFC 3339 in UTC with a ``Z`` (microseconds only when there are some)."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _web_url(url: str) -> str:
    if not re.match(r"^https?://[^\s/?#]+", url, flags=re.IGNORECASE):
        raise ValueError("must be an absolute http or https URL")
    return url


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), BeforeValidator(_nfc)
]
Summary = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000), BeforeValidator(_nfc)]
Body = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_BODY_CHARS),
    AfterValidator(_not_blank),
    BeforeValidator(_nfc),
]
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), BeforeValidator(_nfc)
]
OptionalLine = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300), BeforeValidator(_nfc)]
NoteText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000), BeforeValidator(_nfc)
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000), AfterValidator(_web_url)]
Language = Annotated[str, StringConstraints(max_length=35, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
Moment = Annotated[AwareDatetime, AfterValidator(_utc)]
UpdateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


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


class StoryStatus(StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


class UpdateStatus(StrEnum):
    PUBLISHED = "published"
    RETRACTED = "retracted"


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    LINK = "link"


class Source(Value):
    name: Line = Field(
        description="who or what the information comes from", examples=["Russian defence ministry"]
    )
    url: Url | None = Field(
        None, description="where to read it (http or https)", examples=["https://example.org/statement"]
    )


class Media(Value):
    kind: MediaKind = Field(description="image, video or link", examples=["image"])
    url: Url = Field(description="where it is (http or https)", examples=["https://example.org/photo.jpg"])
    caption: OptionalLine | None = Field(
        None, description="shown with it", examples=["The border checkpoint"]
    )


class Claim(Value):
    """A claim status as an editor sets it (no time: the event carries that)."""

    status: ClaimStatus = Field(description="the claim's status", examples=["unverified"])
    note: NoteText | None = Field(
        None, description="public: what the status rests on", examples=["Not independently verified."]
    )


Sources = Annotated[tuple[Source, ...], Field(max_length=20)]
MediaList = Annotated[tuple[Media, ...], Field(max_length=20)]
