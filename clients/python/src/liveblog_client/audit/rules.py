"""Check 7 of the audit format: could the newsroom's rules have produced this log?

A small rule set of its own, written from docs/api.md and the server's documented behaviour, not
from its code: the story opens first and once; publish, close and reopen follow the story's
status; nothing is posted to a closed story; corrections, claim statuses and flags apply to
known, unretracted updates and must change something (a correction other than ``minor``
carries a public note); an update is retracted at most once; the story's clock
(``data.at``) never runs backwards; and a social embed's URL is on its provider's host.

The submission queue (docs/api.md "Contributors and sign-off"): a submission
(``UpdateSubmitted``) takes a new id, not to a closed story; it is withdrawn (by its
submitter only), rejected (with a note) or approved (not in a closed story) once, while
pending; an approval's ``changes`` are correctable fields that differ from what was
submitted, and the event right after it is the ``UpdatePosted`` of exactly the submission
with those changes, by its submitter. No update is posted under a submission's id otherwise.

Scheduled posts: an item (``UpdateScheduled``, ``PublicationScheduled``) is prepared for a
time ahead of it, moved (``ScheduleChanged``) or cancelled (``ScheduleCancelled``) only while
pending, and published at most once, by the ``UpdatePosted`` or ``StoryPublished`` naming it
in ``scheduled_id`` with its time in ``scheduled_for`` and ``late: true`` exactly when it
came more than ten seconds after that time. A publication by hand cancels a pending one.

Redaction (``UpdateRedacted``): only of a known update not yet redacted, with a legal basis;
nothing names a redacted update afterwards. A redacted event (an export line marked
``redacted``) has lost the text its content rules would read, so those are skipped for it:
it is held to the structural rules alone (its time, which update it names, the order of
post, retraction and redaction). Its update's content is unknown from then on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

KINDS = frozenset({"correction", "clarification", "amendment", "minor"})
CLAIMS = frozenset({"unverified", "confirmed", "disputed", "denied", "false"})
CORRECTABLE = ("body", "byline", "sources", "occurred_at", "media", "title")
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


def image_problem(media: Any) -> str | None:
    """What is wrong with an uploaded image (a media item with an ``id``) in ``media``: each
    carries its alt text and the type, size and widths the server recorded from the upload
    (docs/audit-format.md, "Images"); ``None`` if nothing."""
    if not isinstance(media, list):
        return None
    for index, item in enumerate(media):
        if not isinstance(item, dict) or item.get("id") is None:
            continue
        widths, width = item.get("widths"), item.get("width")
        if (
            item.get("kind") != "image"
            or item.get("url") is not None
            or not isinstance(item.get("alt"), str)
            or item.get("content_type") not in IMAGE_TYPES
            or not isinstance(width, int)
            or not isinstance(item.get("height"), int)
            or not isinstance(widths, list)
            or not widths
            or widths[-1] != width
        ):
            return f"media[{index}]: an uploaded image without its alt text or its recorded type, size and widths"
    return None


LATE_AFTER_SECONDS = 10
"""A scheduled item published more than this after its time carries ``late: true`` (API.md)."""


# docs/api.md "Social embeds": the host of each provider's canonical URL (Mastodon: the instance's).
EMBED_HOSTS = {
    "x": "x.com",
    "youtube": "www.youtube.com",
    "vimeo": "vimeo.com",
    "telegram": "t.me",
    "instagram": "www.instagram.com",
    "bluesky": "bsky.app",
    "mastodon": None,
}
_PLAIN_HOST = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def media_problem(media: Any) -> str | None:
    """Why a ``media`` list breaks the embed rule, or ``None``: an ``embed`` names one of the
    providers and holds an https URL on that provider's canonical host (a Mastodon post: on a
    plain host name), with no user information and no port; no other kind has a provider."""
    if not isinstance(media, list):
        return None  # the shape is not this rule's business
    for index, item in enumerate(media):
        if not isinstance(item, dict):
            continue
        provider = item.get("provider")
        if item.get("kind") != "embed":
            if provider is not None:
                return f"media[{index}] is a {item.get('kind')} with a provider (only embeds have one)"
            continue
        if provider not in EMBED_HOSTS:
            return f"media[{index}] is an embed of an unknown provider {provider!r}"
        url = item.get("url")
        parts = urlsplit(url) if isinstance(url, str) else None
        expected = EMBED_HOSTS[provider]
        if (
            parts is None
            or parts.scheme != "https"
            or (parts.netloc != expected if expected else not _PLAIN_HOST.fullmatch(parts.netloc))
            or parts.fragment
        ):
            return f"media[{index}] is a {provider} embed whose URL {url!r} is not on {expected or 'a plain host'}"
    return None


def moment(value: Any) -> datetime | None:
    """An aware time from RFC 3339 text; ``None`` when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


@dataclass
class UpdateState:
    fields: dict[str, Any]
    verification: tuple[Any, Any] | None
    pinned: bool
    key_event: bool
    retracted: bool = False
    redacted: bool = False
    # The content is unknown (a redacted event set it): comparisons with it are skipped.
    opaque: bool = False

    def current(self, name: str) -> Any:
        """A correctable field as a correction compares it (no byline is an empty one)."""
        value = self.fields.get(name)
        if name in ("byline", "title"):
            return value or ""
        if name == "occurred_at":
            return moment(value)
        return value if value is not None else []


@dataclass
class Submission:
    submitted_by: Any
    author: Any
    fields: dict[str, Any]
    verification: Any
    status: str = "pending"
    opaque: bool = False


@dataclass
class Newsroom:
    """The story as far as the rules need it, advanced one event at a time by :meth:`apply`."""

    story: str
    status: str | None = None
    title: Any = None
    summary: Any = None
    clock: datetime | None = None
    updates: dict[str, UpdateState] = field(default_factory=dict)
    submissions: dict[str, Submission] = field(default_factory=dict)
    owed: tuple[str, dict[str, Any] | None] | None = None
    """After an approval: the update id (and, unless redacted, the data) of the post it owes."""
    # Scheduled items (issue 15) by id: their kind ("update", "publication"), status
    # ("scheduled", "published", "cancelled") and time.
    scheduled: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, kind: str, data: dict[str, Any], *, redacted: bool = False) -> str | None:
        """Take event ``kind`` with ``data``; the rule it breaks, or ``None`` when legal.
        ``redacted``: the event's text is gone (only its structure can be checked).
        After a broken rule the state is unspecified: stop there."""
        at = moment(data.get("at"))
        if at is None:
            return "its data has no valid time `at`"
        if self.clock is not None and at < self.clock:
            return f"its time {data['at']} runs backwards (the story was already at {self.clock.isoformat()})"
        self.clock = at
        if kind != "StoryOpened" and self.status is None:
            return f"a {kind} before the story was opened"
        if self.owed is not None:
            return self._owed_post(kind, data, redacted=redacted)
        if kind == "UpdatePosted" and data.get("update_id") in self.submissions:
            return f"a post under submission {data.get('update_id')!r}'s id without its approval"
        if redacted and kind in OPAQUE_RULES:
            return OPAQUE_RULES[kind](self, data)
        handler = RULES.get(kind)
        if handler is None:
            return f"unknown event type {kind!r}"
        return handler(self, data)

    def _open(self, data: dict[str, Any]) -> str | None:
        if self.status is not None:
            return "the story is opened a second time"
        if data.get("slug") != self.story:
            return f"it opens story {data.get('slug')!r} in the log of {self.story!r}"
        self.status, self.title, self.summary = "draft", data.get("title"), data.get("summary")
        return None

    def _transition(self, source: str, target: str, what: str) -> str | None:
        if self.status != source:
            return f"only a {source} story can be {what}; this one is {self.status}"
        self.status = target
        return None

    def _publish(self, data: dict[str, Any]) -> str | None:
        if data.get("scheduled_id") is not None:
            broken = self._fire(data, "publication")
            if broken is not None:
                return broken
        broken = self._transition("draft", "live", "published")
        if broken is None and data.get("scheduled_id") is None:
            # Published by hand: a pending scheduled publication will never fire.
            for item in self.scheduled.values():
                if item["kind"] == "publication" and item["status"] == "scheduled":
                    item["status"] = "cancelled"
        return broken

    def _close(self, _data: dict[str, Any]) -> str | None:
        return self._transition("live", "closed", "closed")

    def _reopen(self, _data: dict[str, Any]) -> str | None:
        return self._transition("closed", "live", "reopened")

    def _revise(self, data: dict[str, Any]) -> str | None:
        title, summary = data.get("title"), data.get("summary")
        if title in (None, self.title) and summary in (None, self.summary):
            return "a revision that changes neither headline nor summary"
        if (title is not None and title == self.title) or (summary is not None and summary == self.summary):
            return "a revision that restates an unchanged headline or summary"
        self.title = self.title if title is None else title
        self.summary = self.summary if summary is None else summary
        return None

    def _post(self, data: dict[str, Any]) -> str | None:
        if data.get("scheduled_id") is not None:
            broken = self._fire(data, "update")
            if broken is not None:
                return broken
        if self.status == "closed":
            return "a post to a closed story"
        update_id = data.get("update_id")
        if not isinstance(update_id, str) or update_id in self.updates:
            return f"the update id {update_id!r} is missing or already used"
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            return "an update without a body"
        problem = image_problem(data.get("media")) or media_problem(data.get("media"))
        if problem is not None:
            return problem
        claim = data.get("verification")
        self.updates[update_id] = UpdateState(
            fields={name: data.get(name) for name in CORRECTABLE},
            verification=(claim.get("status"), claim.get("note")) if isinstance(claim, dict) else None,
            pinned=data.get("pinned") is True,
            key_event=data.get("key_event") is True,
        )
        return None

    def _target(self, data: dict[str, Any], *, retracted_ok: bool = False) -> UpdateState | str:
        key = data.get("update_id")
        update = self.updates.get(key) if isinstance(key, str) else None
        if update is None:
            return f"it names an unknown update {data.get('update_id')!r}"
        if update.redacted:
            return f"update {data.get('update_id')!r} was redacted"
        if update.retracted and not retracted_ok:
            return f"update {data.get('update_id')!r} is retracted"
        return update

    def _correct(self, data: dict[str, Any]) -> str | None:
        update = self._target(data)
        if isinstance(update, str):
            return update
        kind, changes = data.get("kind"), data.get("changes")
        if kind not in KINDS:
            return f"unknown correction kind {kind!r}"
        if kind != "minor" and not data.get("note"):
            return f"a {kind} without a public note"
        if not data.get("reason"):
            return "a correction without a reason"
        if not isinstance(changes, dict) or not changes:
            return "a correction that changes nothing"
        problem = image_problem(changes.get("media")) or media_problem(changes.get("media"))
        if problem is not None:
            return problem
        for name, value in changes.items():
            if name not in CORRECTABLE:
                return f"a correction of {name!r}, which cannot be corrected"
            if update.opaque:
                continue
            if (moment(value) if name == "occurred_at" else value) == update.current(name):
                return f"a correction that leaves {name} as it was"
        update.fields.update(changes)
        return None

    def _verify(self, data: dict[str, Any]) -> str | None:
        update = self._target(data)
        if isinstance(update, str):
            return update
        claim = (data.get("status"), data.get("note"))
        if claim[0] not in CLAIMS:
            return f"unknown claim status {claim[0]!r}"
        if claim == update.verification and not update.opaque:
            return "a claim status change that changes nothing"
        update.verification = claim
        return None

    def _flag(self, data: dict[str, Any]) -> str | None:
        update = self._target(data)
        if isinstance(update, str):
            return update
        pinned, key_event = data.get("pinned"), data.get("key_event")
        if pinned is None and key_event is None:
            return "a flag change that changes nothing"
        if not update.opaque and (
            (pinned is not None and pinned == update.pinned)
            or (key_event is not None and key_event == update.key_event)
        ):
            return "a flag change that restates a flag"
        update.pinned = update.pinned if pinned is None else bool(pinned)
        update.key_event = update.key_event if key_event is None else bool(key_event)
        return None

    def _retract(self, data: dict[str, Any]) -> str | None:
        update = self._target(data, retracted_ok=True)
        if isinstance(update, str):
            return update
        if update.retracted:
            return f"update {data.get('update_id')!r} is retracted a second time"
        if not data.get("reason") or not data.get("note"):
            return "a retraction without its reason and public note"
        update.retracted, update.pinned, update.key_event = True, False, False
        return None

    def _redact(self, data: dict[str, Any]) -> str | None:
        key = data.get("update_id")
        update = self.updates.get(key) if isinstance(key, str) else None
        if update is None:
            return f"it redacts an unknown update {key!r}"
        if update.redacted:
            return f"update {key!r} is redacted a second time"
        basis = data.get("legal_basis")
        if not isinstance(basis, str) or not basis.strip():
            return "a redaction without its legal basis"
        update.redacted, update.pinned, update.key_event = True, False, False
        return None

    def unfinished(self) -> str | None:
        """What the log owes at its end (the post an approval makes), or ``None``."""
        if self.owed is not None:
            return f"the log ends before the post that approving {self.owed[0]!r} makes"
        return None

    # The submission queue.

    def _submit(self, data: dict[str, Any]) -> str | None:
        return self._submitted(data, opaque=False)

    def _submit_redacted(self, data: dict[str, Any]) -> str | None:
        return self._submitted(data, opaque=True)

    def _submitted(self, data: dict[str, Any], *, opaque: bool) -> str | None:
        if self.status == "closed":
            return "a submission to a closed story"
        update_id = data.get("update_id")
        if not isinstance(update_id, str) or update_id in self.updates or update_id in self.submissions:
            return f"the submission id {update_id!r} is missing or already used"
        if not isinstance(data.get("submitted_by"), str) or not data.get("submitted_by"):
            return "a submission without its submitter"
        body = data.get("body")
        if not opaque and (not isinstance(body, str) or not body.strip()):
            return "a submission without a body"
        self.submissions[update_id] = Submission(
            submitted_by=data.get("submitted_by"),
            author=data.get("author"),
            fields={name: data.get(name) for name in CORRECTABLE},
            verification=data.get("verification"),
            opaque=opaque,
        )
        return None

    def _pending(self, data: dict[str, Any]) -> Submission | str:
        key = data.get("update_id")
        submission = self.submissions.get(key) if isinstance(key, str) else None
        if submission is None:
            return f"it names an unknown submission {key!r}"
        if submission.status != "pending":
            return f"submission {key!r} was {submission.status} already"
        return submission

    def _withdraw(self, data: dict[str, Any]) -> str | None:
        submission = self._pending(data)
        if isinstance(submission, str):
            return submission
        if data.get("by") != submission.submitted_by:
            return "a submission withdrawn by someone other than its submitter"
        submission.status = "withdrawn"
        return None

    def _reject(self, data: dict[str, Any]) -> str | None:
        submission = self._pending(data)
        if isinstance(submission, str):
            return submission
        note = data.get("note")
        if not isinstance(note, str) or not note.strip():
            return "a rejection without its note"
        submission.status = "rejected"
        return None

    def _approve(self, data: dict[str, Any]) -> str | None:
        return self._approved(data, redacted=False)

    def _approve_redacted(self, data: dict[str, Any]) -> str | None:
        return self._approved(data, redacted=True)

    def _approved(self, data: dict[str, Any], *, redacted: bool) -> str | None:
        submission = self._pending(data)
        if isinstance(submission, str):
            return submission
        if self.status == "closed":
            return "an approval in a closed story"
        if data.get("submitted_by") != submission.submitted_by:
            return "an approval that names another submitter"
        update_id = str(data["update_id"])
        submission.status = "approved"
        if redacted or submission.opaque:
            self.owed = (update_id, None)
            return None
        changes = data.get("changes", {})
        if not isinstance(changes, dict):
            return "an approval whose changes are not an object"
        expected = dict(submission.fields)
        for name, value in changes.items():
            if name not in CORRECTABLE:
                return f"an approval that changes {name!r}, which cannot be changed"
            current = submission.fields.get(name)
            if name in ("byline", "title"):
                same = (value or "") == (current or "")
            elif name == "occurred_at":
                same = moment(value) == moment(current)
            else:
                same = value == (current if current is not None else [])
            if same:
                return f"an approval that restates the submitted {name}"
            expected[name] = value or None if name in ("byline", "title") else value
        expected["author"] = submission.author
        expected["verification"] = submission.verification
        self.owed = (update_id, expected)
        return None

    def _owed_post(self, kind: str, data: dict[str, Any], *, redacted: bool) -> str | None:
        assert self.owed is not None
        update_id, expected = self.owed
        self.owed = None
        if kind != "UpdatePosted" or data.get("update_id") != update_id:
            return f"a {kind} where the approval of {update_id!r} owes its post"
        if expected is not None and not redacted:
            for name, value in expected.items():
                posted = data.get(name)
                if name == "occurred_at":
                    value, posted = moment(value), moment(posted)
                elif name in ("sources", "media"):
                    value, posted = value or [], posted or []
                if posted != value:
                    return f"the approved post's {name} is not the submission's with the editor's changes"
            if data.get("pinned") or data.get("key_event"):
                return "an approved post that is pinned or a key event"
        del self.submissions[update_id]
        handler = OPAQUE_RULES["UpdatePosted"] if redacted else RULES["UpdatePosted"]
        return handler(self, data)

    # The rules of redacted events: their text is gone, their structure is not.

    def _post_redacted(self, data: dict[str, Any]) -> str | None:
        if data.get("scheduled_id") is not None:
            broken = self._fire(data, "update")
            if broken is not None:
                return broken
        if self.status == "closed":
            return "a post to a closed story"
        update_id = data.get("update_id")
        if not isinstance(update_id, str) or update_id in self.updates:
            return f"the update id {update_id!r} is missing or already used"
        self.updates[update_id] = UpdateState(
            fields={}, verification=None, pinned=False, key_event=False, opaque=True
        )
        return None

    def _touch_redacted(self, data: dict[str, Any]) -> str | None:
        """A correction, claim status or flag change whose text is gone: on a known update,
        neither retracted nor redacted; what it changed is unknown from then on."""
        update = self._target(data)
        if isinstance(update, str):
            return update
        update.opaque = True
        return None

    def _retract_redacted(self, data: dict[str, Any]) -> str | None:
        update = self._target(data, retracted_ok=True)
        if isinstance(update, str):
            return update
        if update.retracted:
            return f"update {data.get('update_id')!r} is retracted a second time"
        update.retracted, update.pinned, update.key_event, update.opaque = True, False, False, True
        return None

    # Scheduled posts (issue 15): an item is prepared (never shown to readers), may be moved or
    # cancelled while pending, and is published at most once by the UpdatePosted or
    # StoryPublished naming it in ``scheduled_id``.

    def _new_item(self, item_id: Any, data: dict[str, Any]) -> str | None:
        if not isinstance(item_id, str) or item_id in self.updates or item_id in self.scheduled:
            return f"the scheduled item id {item_id!r} is missing or already used"
        publish_at, at = moment(data.get("publish_at")), moment(data.get("at"))
        if publish_at is None or at is None or publish_at <= at:
            return "a scheduled item whose time `publish_at` is not ahead of it"
        return None

    def _schedule_update(self, data: dict[str, Any]) -> str | None:
        if self.status == "closed":
            return "a post scheduled on a closed story"
        broken = self._new_item(data.get("update_id"), data)
        if broken is not None:
            return broken
        body = data.get("body")
        if not isinstance(body, str) or not body.strip():
            return "a scheduled update without a body"
        self.scheduled[data["update_id"]] = {
            "kind": "update",
            "status": "scheduled",
            "publish_at": data["publish_at"],
        }
        return None

    def _schedule_update_redacted(self, data: dict[str, Any]) -> str | None:
        if self.status == "closed":
            return "a post scheduled on a closed story"
        broken = self._new_item(data.get("update_id"), data)
        if broken is not None:
            return broken
        self.scheduled[data["update_id"]] = {
            "kind": "update",
            "status": "scheduled",
            "publish_at": data["publish_at"],
        }
        return None

    def _schedule_publication(self, data: dict[str, Any]) -> str | None:
        if self.status != "draft":
            return f"only a draft's publication can be scheduled; this story is {self.status}"
        if any(i["kind"] == "publication" and i["status"] == "scheduled" for i in self.scheduled.values()):
            return "a second pending publication"
        broken = self._new_item(data.get("schedule_id"), data)
        if broken is not None:
            return broken
        self.scheduled[data["schedule_id"]] = {
            "kind": "publication",
            "status": "scheduled",
            "publish_at": data["publish_at"],
        }
        return None

    def _pending_item(self, data: dict[str, Any], key: str = "schedule_id") -> dict[str, Any] | str:
        item_id = data.get(key)
        item = self.scheduled.get(item_id) if isinstance(item_id, str) else None
        if item is None:
            return f"it names an unknown scheduled item {data.get(key)!r}"
        if item["status"] != "scheduled":
            return f"scheduled item {data.get(key)!r} was already {item['status']}"
        return item

    def _reschedule(self, data: dict[str, Any]) -> str | None:
        item = self._pending_item(data)
        if isinstance(item, str):
            return item
        publish_at, at = moment(data.get("publish_at")), moment(data.get("at"))
        if publish_at is None or at is None or publish_at <= at:
            return "a scheduled item moved to a time that is not ahead"
        if publish_at == moment(item["publish_at"]):
            return "a reschedule that changes nothing"
        item["publish_at"] = data["publish_at"]
        return None

    def _cancel(self, data: dict[str, Any]) -> str | None:
        item = self._pending_item(data)
        if isinstance(item, str):
            return item
        item["status"] = "cancelled"
        return None

    def _fire(self, data: dict[str, Any], kind: str) -> str | None:
        """The checks of an UpdatePosted or StoryPublished that publishes a scheduled item."""
        item = self._pending_item(data, "scheduled_id")
        if isinstance(item, str):
            return item
        if item["kind"] != kind or (kind == "update" and data.get("update_id") != data.get("scheduled_id")):
            return f"scheduled item {data.get('scheduled_id')!r} is not this {kind}"
        meant, at = moment(data.get("scheduled_for")), moment(data.get("at"))
        if meant is None or at is None or meant != moment(item["publish_at"]):
            return "a scheduled post whose `scheduled_for` is not its item's time"
        late = (at - meant).total_seconds() > LATE_AFTER_SECONDS
        if data.get("late") is not (True if late else None):
            return "a scheduled post whose `late` mark does not match its times"
        item["status"] = "published"
        return None


RULES = {
    "StoryOpened": Newsroom._open,
    "StoryPublished": Newsroom._publish,
    "StoryClosed": Newsroom._close,
    "StoryReopened": Newsroom._reopen,
    "StoryRevised": Newsroom._revise,
    "UpdatePosted": Newsroom._post,
    "UpdateCorrected": Newsroom._correct,
    "VerificationChanged": Newsroom._verify,
    "UpdateFlagsChanged": Newsroom._flag,
    "UpdateRetracted": Newsroom._retract,
    "UpdateRedacted": Newsroom._redact,
    "UpdateSubmitted": Newsroom._submit,
    "SubmissionWithdrawn": Newsroom._withdraw,
    "SubmissionRejected": Newsroom._reject,
    "SubmissionApproved": Newsroom._approve,
    "UpdateScheduled": Newsroom._schedule_update,
    "PublicationScheduled": Newsroom._schedule_publication,
    "ScheduleChanged": Newsroom._reschedule,
    "ScheduleCancelled": Newsroom._cancel,
}
# Redacted events of these types keep their structural rules; any other redacted event
# (a story's event, say: never redacted, its verifier's check 3 fails it) takes the full ones.
OPAQUE_RULES = {
    "UpdatePosted": Newsroom._post_redacted,
    "UpdateCorrected": Newsroom._touch_redacted,
    "VerificationChanged": Newsroom._touch_redacted,
    "UpdateFlagsChanged": Newsroom._touch_redacted,
    "UpdateRetracted": Newsroom._retract_redacted,
    "UpdateSubmitted": Newsroom._submit_redacted,
    "SubmissionApproved": Newsroom._approve_redacted,
    "UpdateScheduled": Newsroom._schedule_update_redacted,
}
