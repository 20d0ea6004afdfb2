"""Request bodies and response shapes of docs/api.md, as pydantic models (and OpenAPI).

Requests forbid unknown fields, so a typo is a 422 rather than a silently ignored field.
Responses are documented here but rendered by :mod:`liveblog.projections.views`.
"""

from __future__ import annotations

from typing import Any, Literal

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
    UpdateTitle,
)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NewStory(Request):
    title: Title = Field(
        description="the headline (1 to 300 characters)",
        examples=["Russian volunteer units say they captured soldiers near Belgorod"],
    )
    summary: Summary = Field("", description="the standfirst under the headline", examples=["Live coverage."])
    slug: Slug | None = Field(
        None,
        description="the story's address; made from the title when absent (409 if taken)",
        examples=["belgorod-border-raid"],
    )
    publish: bool = Field(False, description="go live at once instead of opening a draft", examples=[True])
    language: Language = Field("en", description="BCP 47 language tag of the coverage", examples=["en"])


class StoryPatch(Request):
    title: Title | None = Field(
        None, description="a new headline; absent leaves it", examples=["Captured soldiers shown on video"]
    )
    summary: Summary | None = Field(
        None, description="a new standfirst; absent leaves it", examples=["Follow the latest here."]
    )
    reason: NoteText | None = Field(
        None, description="internal: why, for the newsroom and auditors", examples=["sharper headline"]
    )


class NewUpdate(Request):
    title: UpdateTitle | None = Field(
        None,
        description="a headline of its own: plain text (not Markdown), at most 200 characters",
        examples=["Governor confirms the raid"],
    )
    body: Body = Field(
        description="Markdown, 1 to 20,000 characters (raw HTML is not rendered)",
        examples=["The Freedom of Russia Legion says it **captured** two soldiers."],
    )
    byline: Line | None = Field(
        None, description="who reported it, if not the author", examples=["Agency staff"]
    )
    sources: Sources = Field(
        (),
        description="where the information comes from (at most 20)",
        examples=[[{"name": "Russian defence ministry", "url": "https://example.org/statement"}]],
    )
    verification: Claim | None = Field(
        None, description="the claim status to start with", examples=[{"status": "unverified"}]
    )
    key_event: bool = Field(
        False, description="list the update among the story's key events", examples=[True]
    )
    pinned: bool = Field(False, description="keep the update at the top of the story", examples=[False])
    occurred_at: Moment | None = Field(
        None,
        description="when what it reports happened (RFC 3339 with an offset), if not now",
        examples=["2023-06-04T10:15:00+03:00"],
    )
    media: MediaList = Field(
        (),
        description="images, videos and links shown with it, or embeds of social posts by URL "
        "(kind embed: X, YouTube, Vimeo, Telegram, Instagram, Bluesky, Mastodon; at most 20)",
        examples=[[{"kind": "image", "url": "https://example.org/photo.jpg", "caption": "The checkpoint"}]],
    )
    publish_at: Moment | None = Field(
        None,
        description="publish it then instead of now (RFC 3339 with an offset): 202 with the scheduled "
        "item; a time within LIVEBLOG_SCHEDULE_SKEW_SECONDS of now is now",
        examples=["2023-06-04T16:00:00+03:00"],
    )


class Correction(Request):
    changes: UpdateChanges = Field(
        description="the fields to change; absent ones stay as they are",
        examples=[{"body": "Three soldiers were captured."}],
    )
    kind: CorrectionKind = Field(
        description="correction, clarification or amendment (with a public note), or a minor edit",
        examples=["correction"],
    )
    reason: NoteText = Field(
        description="internal: why, for the newsroom and auditors",
        examples=["the ministry gave a new figure"],
    )
    note: NoteText | None = Field(
        default=None,
        description="public; required except for minor",
        examples=["An earlier version gave the wrong number of soldiers."],
    )


class VerificationBody(Request):
    status: ClaimStatus = Field(description="the claim's status now", examples=["confirmed"])
    note: NoteText | None = Field(
        None, description="public: what the status rests on", examples=["Confirmed by the regional governor."]
    )


class Flags(Request):
    pinned: bool | None = Field(
        None, description="pin (true) or unpin (false); absent leaves it", examples=[True]
    )
    key_event: bool | None = Field(
        None, description="mark (true) or unmark (false) as a key event; absent leaves it", examples=[True]
    )


class RetractionBody(Request):
    reason: NoteText = Field(description="internal", examples=["the video was from 2022"])
    note: NoteText = Field(
        description="public notice shown with the struck-through update",
        examples=["This update has been retracted: the video it described was not from this raid."],
    )


class RedactionBody(Request):
    legal_basis: NoteText = Field(
        description="public: the legal ground for removing the text", examples=["court order 2026/123"]
    )
    note: NoteText = Field(
        description="public notice shown in the update's place",
        examples=["This update was removed on the order of the district court."],
    )
    reason: NoteText = Field(
        description="internal: why, for the record (never shown to readers)",
        examples=["names a minor; injunction served on 2026-12-01"],
    )


# ----------------------------------------------------------------- responses (docs)


class Response(BaseModel):
    model_config = ConfigDict(extra="allow")


MOMENT = "2023-06-04T07:15:00Z"


class Author(Response):
    name: str = Field(description="the name of the editor who posted it", examples=["Live desk"])


class VerificationOut(Response):
    status: ClaimStatus = Field(description="the claim's status", examples=["unverified"])
    note: str | None = Field(
        description="public: what the status rests on",
        examples=["The reports could not be independently verified."],
    )
    changed_at: str = Field(description="when the status was last set (RFC 3339, UTC)", examples=[MOMENT])


class NoteOut(Response):
    kind: CorrectionKind = Field(
        description="what kind of change the note announces", examples=["correction"]
    )
    note: str = Field(
        description="the public note", examples=["An earlier version gave the wrong number of soldiers."]
    )
    at: str = Field(description="when the change was made (RFC 3339, UTC)", examples=[MOMENT])


class RetractionOut(Response):
    note: str = Field(
        description="the public retraction notice", examples=["This update has been retracted."]
    )
    at: str = Field(description="when it was retracted (RFC 3339, UTC)", examples=[MOMENT])


class RedactionOut(Response):
    at: str = Field(description="when the text was removed (RFC 3339, UTC)", examples=[MOMENT])
    legal_basis: str = Field(description="the public legal basis", examples=["court order 2026/123"])
    note: str = Field(
        description="the public notice",
        examples=["This update was removed on the order of the district court."],
    )


class Update(Response):
    id: str = Field(description="the update's opaque id, assigned by the server", examples=["uq3J8Nn0mGxeT"])
    story: str = Field(description="the slug of its story", examples=["belgorod-captive-soldiers"])
    revision: int = Field(description="1 when posted, +1 on each change; its ETag", examples=[2])
    status: str = Field(description="published | retracted | redacted", examples=["published"])
    title: str | None = Field(
        None, description="its headline (plain text), if it has one", examples=["Governor confirms the raid"]
    )
    body: str = Field(description="the Markdown as written", examples=["Two soldiers were **captured**."])
    body_html: str = Field(
        description="the Markdown rendered and sanitised",
        examples=["<p>Two soldiers were <strong>captured</strong>.</p>"],
    )
    byline: str | None = Field(description="who reported it, if not the author", examples=["Agency staff"])
    author: Author = Field(description="the editor who posted it", examples=[{"name": "Live desk"}])
    sources: list[dict[str, Any]] = Field(
        description="`{name, url}` of each source",
        examples=[[{"name": "Russian defence ministry", "url": None}]],
    )
    media: list[dict[str, Any]] = Field(
        description="`{kind, url, caption}` of each image, video or link; an embed also has "
        "`provider` and `embed_url` (the provider's frame, loaded on the reader's click)",
        examples=[[{"kind": "image", "url": "https://example.org/photo.jpg", "caption": "The checkpoint"}]],
    )
    verification: VerificationOut | None = Field(
        description="the claim status, if one was set",
        examples=[{"status": "unverified", "note": None, "changed_at": MOMENT}],
    )
    key_event: bool = Field(description="whether it is among the story's key events", examples=[True])
    pinned: bool = Field(description="whether it is pinned to the top", examples=[False])
    occurred_at: str | None = Field(description="when what it reports happened, if given", examples=[MOMENT])
    published_at: str = Field(description="when it was posted (RFC 3339, UTC)", examples=[MOMENT])
    revised_at: str | None = Field(description="when it last changed, if it has", examples=[None])
    notes: list[NoteOut] = Field(description="public notes of its corrections, oldest first", examples=[[]])
    retraction: RetractionOut | None = Field(
        description="the retraction notice, if it was retracted", examples=[None]
    )
    redaction: RedactionOut | None = Field(
        None,
        description="present only when status is redacted: the tombstone (every text of the update is gone)",
        examples=[None],
    )


class StoryHeader(Response):
    slug: str = Field(description="the story's address", examples=["belgorod-captive-soldiers"])
    title: str = Field(description="the headline", examples=["Captured soldiers shown on video"])
    summary: str = Field(description="the standfirst", examples=["Live coverage of the border raid."])
    status: str = Field(description="draft | live | closed", examples=["live"])
    language: str = Field(description="BCP 47 language tag", examples=["en"])
    revision: int = Field(description="the header's revision: If-Match of PATCH names it", examples=[3])
    version: int = Field(description="the story's event-stream version; its ETag", examples=[42])
    opened_at: str = Field(description="when it was opened (RFC 3339, UTC)", examples=[MOMENT])
    published_at: str | None = Field(description="when it went live, if it has", examples=[MOMENT])
    updated_at: str = Field(description="when anything in it last changed", examples=[MOMENT])
    closed_at: str | None = Field(description="when coverage ended, if it is closed", examples=[None])


class Story(StoryHeader):
    pinned: list[Update] = Field(description="pinned updates, newest first", examples=[[]])
    key_events: list[Update] = Field(description="key events, newest first", examples=[[]])
    updates: list[Update] = Field(description="the first page of updates, newest first", examples=[[]])
    next: str | None = Field(description="cursor of the next page (`before` of /updates)", examples=["MTI"])


class StoryList(Response):
    items: list[StoryHeader] = Field(
        description="a page of stories, most recently opened first", examples=[[]]
    )
    next: str | None = Field(
        description="cursor of the next page (`before`), or null at the end", examples=[None]
    )


class UpdateList(Response):
    items: list[Update] = Field(description="a page of updates, newest first", examples=[[]])
    next: str | None = Field(description="cursor of the next page, or null at the end", examples=[None])


class FieldError(Response):
    loc: list[str] = Field(
        description="where: `body`, `query`, `path` or `header`, then the field", examples=[["body", "title"]]
    )
    msg: str = Field(
        description="what is wrong with it", examples=["String should have at least 1 character"]
    )
    type: str = Field(description="a machine-readable name of the error", examples=["string_too_short"])


class Problem(Response):
    """An RFC 9457 problem: every error the API gives. Validation problems add ``errors``
    (``[{loc, msg, type}]``), a failed If-Match adds ``current_revision``."""

    type: str = Field(
        description="a URN naming the kind of problem", examples=["urn:liveblog:problem:story-not-found"]
    )
    title: str = Field(description="a short summary of the kind of problem", examples=["Story not found"])
    status: int = Field(description="the HTTP status code", examples=[404])
    detail: str = Field(
        description="what went wrong this time", examples=["there is no story 'no-such-story'"]
    )
    errors: list[FieldError] | None = Field(
        None,
        description="validation problems only: each field that was refused",
        examples=[
            [
                {
                    "loc": ["body", "title"],
                    "msg": "String should have at least 1 character",
                    "type": "string_too_short",
                }
            ]
        ],
    )
    current_revision: int | None = Field(
        None, description="412 only: the resource's revision now (send it in If-Match)", examples=[4]
    )


# ------------------------------------------------------------- audit responses (docs)

HASH = "9f2c1e7b4a5d3c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70"


class Event(Response):
    version: int = Field(
        description="the story's event-stream version: 1, 2, 3, … without gaps", examples=[7]
    )
    position: int = Field(description="its place in the log of every story", examples=[1042])
    type: str = Field(description="the kind of event", examples=["UpdateCorrected"])
    schema_: int = Field(alias="schema", description="the version of the event's data format", examples=[1])
    data: dict[str, Any] = Field(
        description="the event's payload (docs/audit-format.md)", examples=[{"update_id": "uq3J8Nn0mGxeT"}]
    )
    actor: dict[str, Any] | None = Field(
        description="`{id, name, role}` of the token that caused it",
        examples=[{"id": "0f3a9c2b7d1e4a66", "name": "Live desk", "role": "editor"}],
    )
    recorded_at: str = Field(description="when it was appended (RFC 3339, UTC)", examples=[MOMENT])
    hash: str = Field(description="SHA-256 of its canonical JSON, `prev_hash` included", examples=[HASH])
    prev_hash: str = Field(description="the previous event's hash (zeros for the first)", examples=["0" * 64])
    salts: dict[str, str] | None = Field(
        None,
        description="audit format 2: one random salt per member of `data`, each member hashed with its own "
        "(absent on events written before format 2)",
        examples=[{"update_id": "5c" * 32}],
    )
    redacted: dict[str, Any] | None = Field(
        None,
        description="present when a redaction removed this event's text: `{by, commitments}`, the version of "
        "the UpdateRedacted event and the commitments of the removed members (docs/audit-format.md)",
        examples=[{"by": 31, "commitments": {"body": "9e" * 32}}],
    )


class FeedEvent(Event):
    story: str = Field(
        description="the slug of the story the event belongs to", examples=["belgorod-captive-soldiers"]
    )
    cursor: str = Field(
        description="opaque: pass as `after` (or `Last-Event-ID`) to resume right after this event",
        examples=["ZjEuNzQ5LjEwNDI"],
    )


class FeedPage(Response):
    items: list[FeedEvent] = Field(description="events of every story, in commit order", examples=[[]])
    next: str = Field(
        description="opaque cursor: pass as `after` for what follows; equal to `after` when nothing newer "
        "has committed yet",
        examples=["ZjEuNzQ5LjEwNDI"],
    )


class EventList(Response):
    items: list[Event] = Field(description="a page of the log, oldest first", examples=[[]])
    next: str | None = Field(description="`after` of the next page, or null at the end", examples=["100"])


class Revision(Response):
    revision: int = Field(description="the resource's revision after this change", examples=[2])
    version: int = Field(description="the story version of the change", examples=[7])
    at: str = Field(description="when it changed (RFC 3339, UTC)", examples=[MOMENT])
    kind: str = Field(
        description="posted | correction | clarification | amendment | minor | verification | retraction | "
        "flags (and, for the story, its own kinds)",
        examples=["correction"],
    )
    note: str | None = Field(description="the public note, if any", examples=["The time was wrong."])
    body: str | None = Field(description="the update's Markdown after the change", examples=["At 17:00 …"])
    diff: dict[str, Any] = Field(
        description="a word diff of each changed text field", examples=[{"body": [{"equal": "At "}]}]
    )
    changes: dict[str, Any] = Field(
        description="`{field: {from, to}}` of each changed field",
        examples=[{"body": {"from": "At 5 p.m.", "to": "At 17:00"}}],
    )
    actor: dict[str, Any] | None = Field(
        None, description="staff tokens only: `{id, name, role}` of who changed it", examples=[None]
    )
    reason: str | None = Field(None, description="staff tokens only: the internal reason", examples=[None])


class RevisionList(Response):
    items: list[Revision] = Field(description="a page of revisions, oldest first", examples=[[]])
    next: str | None = Field(
        description="pass as `after` for the next page; null on the last page", examples=["r50"]
    )


class Checkpoint(Response):
    story: str = Field(description="the story's slug", examples=["belgorod-captive-soldiers"])
    version: int = Field(description="the version the checkpoint covers", examples=[42])
    head_hash: str = Field(description="the hash of the event at that version", examples=[HASH])
    signed_at: str = Field(description="when it was signed (RFC 3339, UTC)", examples=[MOMENT])
    key_id: str = Field(description="the id of the key that signed it (see /keys)", examples=["k1"])
    algorithm: str = Field(description="the signature algorithm", examples=["Ed25519"])
    signature: str = Field(
        description="base64 signature over the RFC 8785 JSON of `{story, version, head_hash, signed_at}`",
        examples=["q1w2e3…"],
    )


class PublicKey(Response):
    id: str = Field(description="the key's id, as checkpoints name it", examples=["k1"])
    algorithm: str = Field(description="the signature algorithm", examples=["Ed25519"])
    public_key: str = Field(description="the raw public key, base64", examples=["MCowBQYDK2VwAyEA…"])
    created_at: str = Field(description="when the key was created (RFC 3339, UTC)", examples=[MOMENT])


class KeyList(Response):
    items: list[PublicKey] = Field(description="every key that has signed, oldest first", examples=[[]])


# ----------------------------------------------------------------------- webhooks

WEBHOOK_ID = "wh_0193a4b2c1d5e6f7a8b9c0"
WEBHOOK_URL = "https://cms.example.org/hooks/liveblog"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw3mNXB4PjS5o="


class NewWebhook(Request):
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="where deliveries are POSTed: https:// or http://, no credentials, no fragment; "
        "loopback, private and link-local addresses are refused unless the server allows them",
        examples=[WEBHOOK_URL],
    )
    stories: list[Slug] | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="only these stories (slugs, at most 100); absent or null: every published story",
        examples=[["belgorod-captive-soldiers"]],
    )
    types: list[str] | None = Field(
        None,
        min_length=1,
        max_length=20,
        description="only these event types; absent or null: every type",
        examples=[["UpdatePosted", "UpdateCorrected"]],
    )


class WebhookPatch(Request):
    status: Literal["active", "paused"] = Field(
        description="`paused` stops deliveries (the cursor stays); `active` resumes them from the "
        "cursor, with the failure count cleared",
        examples=["paused"],
    )
    reason: str | None = Field(
        None,
        min_length=1,
        max_length=500,
        description="when pausing: why, shown as `paused_reason`",
        examples=["receiver under maintenance"],
    )


class Webhook(Response):
    id: str = Field(description="the endpoint's id", examples=[WEBHOOK_ID])
    url: str = Field(description="where deliveries go", examples=[WEBHOOK_URL])
    stories: list[str] | None = Field(
        description="the stories delivered (null: every published story)", examples=[None]
    )
    types: list[str] | None = Field(
        description="the event types delivered (null: every type)", examples=[None]
    )
    status: str = Field(description="active | paused", examples=["active"])
    paused_reason: str | None = Field(
        description="why it is paused (by an admin, or after too many failed attempts)",
        examples=["paused after 10 consecutive failed attempts; the last: HTTP 500, not a 2xx"],
    )
    failures: int = Field(description="consecutive failed attempts since the last success", examples=[0])
    cursor: str | None = Field(
        description="the change feed's cursor after the last event delivered or skipped", examples=["1042"]
    )
    delivered: int = Field(description="deliveries accepted so far", examples=[57])
    last_attempt_at: str | None = Field(description="when a delivery was last tried", examples=[MOMENT])
    last_success_at: str | None = Field(description="when a delivery was last accepted", examples=[MOMENT])
    last_error: str | None = Field(
        description="what went wrong with the last failed attempt, until one succeeds",
        examples=[None],
    )
    created_at: str = Field(description="when it was registered (RFC 3339, UTC)", examples=[MOMENT])
    updated_at: str = Field(description="when its settings last changed", examples=[MOMENT])


class WebhookWithSecret(Webhook):
    secret: str = Field(
        description="the Standard Webhooks signing secret: shown in this response only (registration, "
        "rotation); keep it, it cannot be read again",
        examples=[WEBHOOK_SECRET],
    )


class WebhookList(Response):
    items: list[Webhook] = Field(description="a page of endpoints, oldest first (no secrets)", examples=[[]])
    next: str | None = Field(description="`after` of the next page, or null at the end", examples=[None])


# ------------------------------------------------------------- submissions (issue 15, part 1)


class NewSubmission(Request):
    """A contributor's proposed update: the new-update body without the flags (pinning and
    key events are an editor's decision, after approval)."""

    body: Body = Field(
        description="Markdown, 1 to 20,000 characters (raw HTML is not rendered)",
        examples=["Two captive soldiers were shown on a video posted by the Legion."],
    )
    title: UpdateTitle | None = Field(
        None, description="a headline proposed for it (plain text, at most 200 characters)", examples=[None]
    )
    byline: Line | None = Field(None, description="who reported it, if not the submitter", examples=[None])
    sources: Sources = Field((), description="where the information comes from (at most 20)", examples=[[]])
    verification: Claim | None = Field(
        None, description="the claim status proposed", examples=[{"status": "unverified"}]
    )
    occurred_at: Moment | None = Field(
        None, description="when what it reports happened (RFC 3339 with an offset)", examples=[None]
    )
    media: MediaList = Field((), description="images, videos and links (at most 20)", examples=[[]])


class ApprovalBody(Request):
    changes: UpdateChanges = Field(
        default_factory=UpdateChanges,
        description="the editor's edits, the shape of a correction's `changes`; absent: as submitted",
        examples=[{"body": "Two soldiers were shown on a video; it could not be verified."}],
    )


class RejectionBody(Request):
    note: NoteText = Field(
        description="to the submitter: why it was not published", examples=["We could not confirm it."]
    )


class Submitter(Response):
    id: str = Field(description="the submitter's token id", examples=["tok_3kP"])
    name: str = Field(
        description="the submitter's name (the update's author once published)", examples=["Field reporter"]
    )


class Submission(Response):
    id: str = Field(description="its id: the id of the update it publishes if approved", examples=["uZ1"])
    story: str = Field(description="the slug of its story", examples=["belgorod-captive-soldiers"])
    status: Literal["pending", "approved", "rejected", "withdrawn"] = Field(
        description="pending until an editor approves or rejects it, or its submitter withdraws it",
        examples=["pending"],
    )
    submitted_by: Submitter = Field(
        description="who submitted it", examples=[{"id": "tok_3kP", "name": "Field reporter"}]
    )
    submitted_at: str = Field(description="when (RFC 3339, UTC)", examples=[MOMENT])
    decided_at: str | None = Field(description="when it was approved, rejected or withdrawn", examples=[None])
    update: dict[str, Any] = Field(
        description="the proposed update as submitted: body, byline, sources, media, verification, "
        "occurred_at (emptied if the published update was redacted)",
        examples=[
            {
                "body": "Two soldiers shown on video.",
                "byline": None,
                "sources": [],
                "media": [],
                "verification": None,
                "occurred_at": None,
            }
        ],
    )
    note: str | None = Field(description="the rejection's note to the submitter", examples=[None])
    changes: dict[str, Any] | None = Field(
        description="the editor's edits at approval (only what differs from the submission)", examples=[None]
    )
    published_update: str | None = Field(
        description="the published update's id, once approved", examples=[None]
    )
    redacted: bool = Field(
        description="the published update was redacted, its submitted text with it", examples=[False]
    )


class SubmissionList(Response):
    items: list[Submission] = Field(description="a page of submissions, newest first", examples=[[]])
    next: str | None = Field(description="cursor of the next page (`before`), or null", examples=[None])


# --------------------------------------------------------------------------- scheduled posts


class PublicationRequest(Request):
    publish_at: Moment | None = Field(
        None,
        description="publish the draft then instead of now: 202 with the scheduled item",
        examples=["2023-06-04T16:00:00+03:00"],
    )


class ScheduleChange(Request):
    publish_at: Moment = Field(
        description="the new time (RFC 3339 with an offset), in the future", examples=["2023-06-04T17:00:00Z"]
    )


class ScheduledContent(Response):
    title: str | None = Field(description="the update's headline", examples=[None])
    body: str = Field(description="the Markdown it will publish", examples=["The governor replied."])
    body_html: str = Field(description="the Markdown rendered", examples=["<p>The governor replied.</p>"])


class ScheduledItemOut(Response):
    id: str = Field(
        description="the item's id (for an update, the id it will have)", examples=["uq3J8Nn0mGxeT"]
    )
    story: str = Field(description="the slug of its story", examples=["belgorod-captive-soldiers"])
    kind: Literal["update", "publication"] = Field(
        description="a new update or the story's publication", examples=["update"]
    )
    status: Literal["scheduled", "published", "cancelled"] = Field(
        description="where it stands", examples=["scheduled"]
    )
    publish_at: str = Field(description="when it is (or was) to be published (UTC)", examples=[MOMENT])
    scheduled_by: str = Field(description="the name of the editor who scheduled it", examples=["Live desk"])
    scheduled_at: str = Field(description="when it was scheduled", examples=[MOMENT])
    changed_at: str = Field(description="when it last changed", examples=[MOMENT])
    published_at: str | None = Field(description="when it was published, once it is", examples=[None])
    late: bool = Field(
        description="published more than 10 s after its time (the servers were down)", examples=[False]
    )
    update: ScheduledContent | None = Field(
        description="the new-update body (kind update; null for a publication)",
        examples=[
            {"title": None, "body": "The governor replied.", "body_html": "<p>The governor replied.</p>"}
        ],
    )


class ScheduledList(Response):
    items: list[ScheduledItemOut] = Field(description="a page of items, soonest first", examples=[[]])
    next: str | None = Field(description="cursor of the next page, or null at the end", examples=[None])
