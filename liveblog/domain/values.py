"""Value types shared by commands, events and state, with the limits a newsroom needs.

Text is normalised to Unicode NFC on the way in, so that equal-looking text is equal and
hashes of events are stable. Times must carry an offset and are kept in UTC.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    model_validator,
)

from liveblog.domain import social

SLUG_PATTERN = r"^[a-z0-9-]{1,80}$"
MAX_VERSION = 2_147_483_647  # versions and revisions are 32-bit in storage
MAX_BODY_CHARS = 20_000


STORED = {"stored": True}
"""Validation context for what was recorded before: stored events and snapshots are read
back with it, so a rule added for new input never makes an old log unreadable."""

# Bidirectional embeddings, overrides and isolates reorder the text around them on screen
# ("Trojan Source"); natural-direction text in any script needs none of them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Invisible in a headline or a name, and never needed there (ZWJ and ZWNJ, which scripts and
# emoji need, are kept).
_INVISIBLE_IN_A_LINE = str.maketrans("", "", "\u200b\u2060\ufeff")


def _is_stored(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("stored") is True


def _refuse_unsafe_characters(text: str, *, allowed: str) -> None:
    for character in text:
        code = ord(character)
        if 0xD800 <= code <= 0xDFFF:
            raise ValueError("must be valid Unicode (it holds an unpaired surrogate)")
        if character in _BIDI_CONTROLS:
            raise ValueError(f"must not contain the bidirectional control U+{code:04X}")
        if (code < 0x20 or 0x7F <= code <= 0x9F) and character not in allowed:
            raise ValueError(f"must not contain the control character U+{code:04X}")


def _text(text: object, info: ValidationInfo, *, multiline: bool) -> object:
    # Before the length limits: NFC can lengthen text, and the limits hold for what is stored.
    if not isinstance(text, str):
        return text
    if "\x00" in text:
        raise ValueError("must not contain the NUL character")
    if _is_stored(info):
        return unicodedata.normalize("NFC", text)
    if multiline:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    else:
        # Surrounding white space (a pasted trailing newline) is trimmed, as the length rule
        # does; only what stays inside the line must be printable.
        text = text.translate(_INVISIBLE_IN_A_LINE).strip()
    _refuse_unsafe_characters(text, allowed="\t\n" if multiline else "")
    return unicodedata.normalize("NFC", text)


def _line_text(text: object, info: ValidationInfo) -> object:
    """One line (a headline, a name): no control characters at all, invisible ones removed."""
    return _text(text, info, multiline=False)


def _multiline_text(text: object, info: ValidationInfo) -> object:
    """Prose (Markdown, notes): tabs and line breaks allowed, CR LF and CR kept as LF."""
    return _text(text, info, multiline=True)


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must contain more than white space")
    return text


def _utc(moment: datetime) -> datetime:
    """``moment`` converted to UTC; a ``ValueError`` (a validation error) if UTC cannot hold
    it: an offset can carry a valid local time past the calendar's ends, such as
    ``0001-01-01T00:00:00+14:00`` or ``9999-12-31T23:59:59-14:00``."""
    try:
        return moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(
            "must lie between the years 1 and 9999 in UTC (this offset takes it outside them)"
        ) from exc


def rfc3339(moment: datetime | None) -> str | None:
    """``moment`` as RFC 3339 in UTC with a ``Z`` (microseconds only when there are some)."""
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _web_url(url: str, info: ValidationInfo) -> str:
    if _is_stored(info):
        return url
    # A control character, a space or a bidi control in a link is refused, not percent-encoded:
    # it is a mistake or an attack (header splitting, spoofed display), never a real address.
    _refuse_unsafe_characters(url, allowed="")
    if " " in url:
        raise ValueError("must not contain spaces (percent-encode them as %20)")
    if not re.match(r"^https?://[^\s/?#]+", url, flags=re.IGNORECASE):
        raise ValueError("must be an absolute http or https URL")
    return url


Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), BeforeValidator(_line_text)
]
Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2_000), BeforeValidator(_multiline_text)
]
Body = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_BODY_CHARS),
    AfterValidator(_not_blank),
    BeforeValidator(_multiline_text),
]
Line = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), BeforeValidator(_line_text)
]
OptionalLine = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=300), BeforeValidator(_line_text)
]
MAX_UPDATE_TITLE_CHARS = 200
UpdateTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_UPDATE_TITLE_CHARS),
    BeforeValidator(_line_text),
]
"""An update's headline: one line of plain text (never Markdown), at most 200 characters."""
OptionalUpdateTitle = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=MAX_UPDATE_TITLE_CHARS),
    BeforeValidator(_line_text),
]
"""An update's new headline in a correction: empty removes it."""
NoteText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000),
    BeforeValidator(_multiline_text),
]
Url = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2_000), AfterValidator(_web_url)]
Language = Annotated[str, StringConstraints(max_length=35, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
# Every time liveblog takes in (request bodies, query parameters, commands, events) is a Moment:
# it must carry an offset and is kept in UTC, so nothing after validation converts it again.
Moment = Annotated[AwareDatetime, AfterValidator(_utc)]
UpdateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
MEDIA_ID_PATTERN = r"^[0-9a-f]{64}$"
MediaId = Annotated[str, StringConstraints(pattern=MEDIA_ID_PATTERN)]
"""An uploaded image's id: the SHA-256 (hex) of its largest stored rendition's bytes."""
MEDIA_URL_PATTERN = r"^/media/([0-9a-f]{64})/([1-9][0-9]{0,5})\.(jpg|png|webp)$"
"""Where liveblog serves a rendition of an uploaded image: ``/media/{id}/{width}.{ext}``."""
ImageType = Literal["image/jpeg", "image/png", "image/webp"]
"""The types liveblog stores images as (an uploaded GIF is stored as PNG)."""


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
    REDACTED = "redacted"


class SubmissionStatus(StrEnum):
    """Where a contributor's submission stands (issue 15)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class MediaKind(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    LINK = "link"
    EMBED = "embed"


class Source(Value):
    name: Line = Field(
        description="who or what the information comes from", examples=["Russian defence ministry"]
    )
    url: Url | None = Field(
        None, description="where to read it (http or https)", examples=["https://example.org/statement"]
    )


class Media(Value):
    """A medium shown with an update: a link to one elsewhere (``url``), or an image uploaded
    to liveblog (``id``, with a required ``alt``). For an uploaded image the server fills in
    ``content_type``, ``width``, ``height`` and ``widths`` from the upload (whatever a client
    sent there is replaced), so the recorded event describes the image it shows.

    An ``embed`` is a post or video of a social provider by its ``url``, which is recognised
    and stored as its canonical URL with the ``provider`` (:mod:`liveblog.domain.social`; a
    URL that is not one is a validation error saying why)."""

    kind: MediaKind = Field(description="image, video, link or embed", examples=["image"])
    url: Url | None = Field(
        None,
        description="where it is (http or https); required unless `id` names an uploaded image",
        examples=["https://example.org/photo.jpg"],
    )
    caption: OptionalLine | None = Field(
        None, description="shown with it", examples=["The border checkpoint"]
    )
    id: MediaId | None = Field(
        None,
        description="an image uploaded with POST /api/v1/media (its id), instead of a `url`",
        examples=["9f2c1e0b7a6d5c4b3a29180716253443526170819a8b7c6d5e4f30211a0b9c8d"],
    )
    alt: Line | None = Field(
        None,
        description="the image described for those who cannot see it (1 to 300 characters); "
        "required with `id`",
        examples=["Two men in uniform sitting on a bench"],
    )
    credit: OptionalLine | None = Field(
        None, description="who made it, shown after the caption", examples=["Photo: Agency"]
    )
    content_type: ImageType | None = Field(
        None, description="set by the server: the stored type", examples=["image/jpeg"]
    )
    width: int | None = Field(
        None, ge=1, le=100_000, description="set by the server: pixels", examples=[1280]
    )
    height: int | None = Field(
        None, ge=1, le=100_000, description="set by the server: pixels", examples=[853]
    )
    widths: tuple[Annotated[int, Field(ge=1, le=100_000)], ...] | None = Field(
        None,
        max_length=8,
        description="set by the server: the widths stored, ascending",
        examples=[[320, 640, 1280]],
    )
    provider: social.Provider | None = Field(
        None,
        description="an embed's provider, derived from its URL (x, youtube, vimeo, telegram, instagram, "
        "bluesky, mastodon); absent for other kinds",
        examples=["telegram"],
    )

    @model_validator(mode="before")
    @classmethod
    def _recognise_embed(cls, data: Any, info: ValidationInfo) -> Any:
        if _is_stored(info) or not isinstance(data, dict):
            return data
        kind, url, provider = data.get("kind"), data.get("url"), data.get("provider")
        if kind != MediaKind.EMBED:
            if provider is not None:
                raise ValueError("`provider` is for embeds only (kind `embed`)")
            return data
        if not isinstance(url, str):
            return data  # the field's own validation says what is wrong
        embed = social.recognise(url.strip(), mastodon_instances=None)
        if provider is not None and provider != embed.provider:
            raise ValueError(f"`provider` is derived from the URL, which is a {embed.provider.value} one")
        return {**data, "url": embed.canonical_url, "provider": embed.provider}

    @model_validator(mode="after")
    def _an_address(self, info: ValidationInfo) -> Self:
        if _is_stored(info):
            return self
        if self.id is None:
            if self.url is None:
                raise ValueError("needs a `url`, or the `id` of an image uploaded with POST /api/v1/media")
            return self
        if self.url is not None:
            raise ValueError("an uploaded image is named by its `id` alone: give no `url` with it")
        if self.kind is not MediaKind.IMAGE:
            raise ValueError("an `id` names an uploaded image: its kind must be `image`")
        if self.alt is None:
            raise ValueError(
                "an uploaded image needs `alt` text (1 to 300 characters) for those who cannot see it"
            )
        return self


class Claim(Value):
    """A claim status as an editor sets it (no time: the event carries that)."""

    status: ClaimStatus = Field(description="the claim's status", examples=["unverified"])
    note: NoteText | None = Field(
        None, description="public: what the status rests on", examples=["Not independently verified."]
    )


Sources = Annotated[tuple[Source, ...], Field(max_length=20)]
MediaList = Annotated[tuple[Media, ...], Field(max_length=20)]
