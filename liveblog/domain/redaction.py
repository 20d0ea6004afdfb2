"""What redaction removes from the events of an update, and how such events are read back.

A redaction (:class:`~liveblog.domain.events.UpdateRedacted`) removes an update's text from
every event of that update that came before it. The log is hashed per top-level member of
an event's data (format 2, ``docs/audit-format.md``), so a member is removed whole, and what
stays still verifies. :data:`REMOVED_MEMBERS` says, for each update event type, which members
are text (or carry text) and go; everything else stays.

Kept, always: ``update_id`` and ``at`` (which update, and when: the record must still show
that something was there and changed), and the members that are not text:

* ``UpdatePosted``: ``key_event``, ``pinned``, ``occurred_at`` (flags and a time); ``author``
  too: it names the staff member who posted, not what was posted, the event's ``actor``
  (which the hash covers and no redaction touches) names them anyway, and the record of who
  wrote a removed text is part of the accountability a redaction must not erase.
* ``UpdateCorrected``: ``kind``; ``VerificationChanged``: ``status``.
* ``UpdateFlagsChanged``: everything (it holds no text).

Removed: ``body``, ``byline``, ``title``, ``sources`` (names and URLs), ``media`` (URLs and captions),
``verification`` (a claim's note is text, and its status says something about that text);
a correction's ``changes`` (new body, byline, sources, media: the member is removed whole, its
``occurred_at`` with it), ``reason`` and ``note``; a verification's ``note``; a retraction's
``reason`` and ``note`` (notes and reasons quote or describe the text); a scheduled
update's (``UpdateScheduled``) as its ``UpdatePosted``'s. ``UpdateRedacted``
is never redacted: it is the record of the removal.

Reading an event that lost members (:func:`with_placeholders`) fills them with values that
validate and that fold into the same story as the original, up to the text of that update:
the same revisions, the same number of public notes, the same flags. Once the
``UpdateRedacted`` event is folded the update holds no text at all, so the state after it
is the same whichever way it was reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from liveblog.domain.values import CorrectionKind

PLACEHOLDER = "[redacted]"
"""What a removed text reads as when a redacted event is decoded (never shown to readers:
the views of a redacted update show its tombstone)."""

REMOVED_MEMBERS: Mapping[str, frozenset[str]] = {
    "UpdatePosted": frozenset({"body", "byline", "title", "sources", "verification", "media"}),
    "UpdateCorrected": frozenset({"changes", "reason", "note"}),
    "VerificationChanged": frozenset({"note"}),
    "UpdateFlagsChanged": frozenset(),
    "UpdateRetracted": frozenset({"reason", "note"}),
    "UpdateRedacted": frozenset(),
    # A submission's events share its published update's id: redacting the update removes
    # the submitted text and the editor's changes too. A submission that was never
    # published has no update to redact (docs/api.md "Contributors and sign-off").
    "UpdateSubmitted": frozenset({"body", "title", "byline", "sources", "verification", "media"}),
    "SubmissionApproved": frozenset({"changes"}),
    "SubmissionWithdrawn": frozenset(),
    "SubmissionRejected": frozenset(),
    "UpdateScheduled": frozenset({"body", "byline", "title", "sources", "verification", "media"}),
}
"""For every update event type, the members of its data that a redaction removes."""


def removed_members(event_type: str) -> frozenset[str]:
    """The members a redaction removes from an ``event_type`` event (none for a story event)."""
    return REMOVED_MEMBERS.get(event_type, frozenset())


def redacted_data(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` without the members a redaction removes."""
    removed = removed_members(event_type)
    return {name: value for name, value in data.items() if name not in removed}


def with_placeholders(event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """The data of a redacted ``event_type`` event (in the current schema) with every
    removed member given a placeholder, so that it decodes and folds (see the module)."""
    filled = redacted_data(event_type, data)
    if event_type in ("UpdatePosted", "UpdateSubmitted", "UpdateScheduled"):
        filled["body"] = PLACEHOLDER
    elif event_type == "UpdateCorrected":
        filled["changes"] = {}
        filled["reason"] = PLACEHOLDER
        if filled.get("kind") != CorrectionKind.MINOR.value:
            # A correction that is not minor always had a public note (NoteRequired), and
            # its note is one of the update's public notes: keep their count.
            filled["note"] = PLACEHOLDER
    elif event_type == "UpdateRetracted":
        filled["reason"] = PLACEHOLDER
        filled["note"] = PLACEHOLDER
    return filled
