"""Redaction in the domain: the rule, the redacted state, and reading events that lost text."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from liveblog.domain import fold
from liveblog.domain.commands import (
    ChangeVerification,
    CorrectUpdate,
    RedactUpdate,
    RetractUpdate,
    SetFlags,
)
from liveblog.domain.events import (
    Event,
    UpdateChanges,
    UpdateCorrected,
    UpdateEvent,
    UpdateFlagsChanged,
    VerificationChanged,
    event_data,
)
from liveblog.domain.redaction import (
    PLACEHOLDER,
    REMOVED_MEMBERS,
    redacted_data,
    removed_members,
    with_placeholders,
)
from liveblog.domain.replay import IllegalEvent, replay
from liveblog.domain.state import Redaction
from liveblog.domain.upcasting import event_from_stored
from liveblog.domain.values import Claim, ClaimStatus, CorrectionKind, UpdateStatus
from liveblog.errors import AlreadyRedacted, UpdateIsRedacted, UpdateNotFound
from tests.domain.samples import (
    PIER_PHOTO,
    REDACTED_AT,
    SLUG,
    closed,
    live_story_with_update,
    minute,
    opened,
    posted,
    published,
    redacted,
    retracted,
)
from tests.domain.spec import given


def redact(
    update_id: str = "u1", *, at: Any = REDACTED_AT, expected_revision: int | None = None
) -> RedactUpdate:
    return RedactUpdate(
        story=SLUG,
        update_id=update_id,
        legal_basis="court order 2026/123",
        note="Removed on the order of the harbour district court.",
        reason="Names a minor; injunction served by the family's lawyer",
        at=at,
        expected_revision=expected_revision,
    )


# --------------------------------------------------------------------------- decide


def test_redacting_an_update_records_basis_note_and_reason() -> None:
    given(*live_story_with_update()).when(redact()).then(redacted())


def test_a_retracted_update_can_be_redacted() -> None:
    given(*live_story_with_update(), retracted()).when(redact()).then(redacted())


def test_an_update_of_a_closed_story_can_be_redacted() -> None:
    given(*live_story_with_update(), closed()).when(redact(at=minute(60))).then(redacted(at=minute(60)))


def test_redacting_twice_is_refused() -> None:
    given(*live_story_with_update(), redacted()).when(redact(at=minute(41))).then_raises(AlreadyRedacted)


def test_redacting_an_unknown_update_is_refused() -> None:
    given(*live_story_with_update()).when(redact("u9")).then_raises(UpdateNotFound)


def test_redaction_honours_if_match() -> None:
    given(*live_story_with_update()).when(redact(expected_revision=1)).then(redacted())


@pytest.mark.parametrize(
    "command",
    [
        CorrectUpdate(
            story=SLUG,
            update_id="u1",
            changes=UpdateChanges(body="New text"),
            kind=CorrectionKind.MINOR,
            reason="typo",
            at=minute(41),
        ),
        ChangeVerification(story=SLUG, update_id="u1", status=ClaimStatus.CONFIRMED, at=minute(41)),
        SetFlags(story=SLUG, update_id="u1", pinned=True, at=minute(41)),
        RetractUpdate(story=SLUG, update_id="u1", reason="r", note="n", at=minute(41)),
    ],
    ids=lambda command: type(command).__name__,
)
def test_nothing_acts_on_a_redacted_update(command: Any) -> None:
    given(*live_story_with_update(), redacted()).when(command).then_raises(UpdateIsRedacted)


# --------------------------------------------------------------------------- evolve


def test_a_redacted_update_keeps_only_its_tombstone() -> None:
    story = fold(None, (*live_story_with_update(), redacted()))
    assert story is not None
    update = story.updates["u1"]
    assert update.status is UpdateStatus.REDACTED
    assert (update.body, update.byline, update.sources, update.media) == ("", None, (), ())
    assert (update.verification, update.notes, update.retraction, update.occurred_at) == (
        None,
        (),
        None,
        None,
    )
    assert (update.pinned, update.key_event) == (False, False)
    assert update.redaction == Redaction(
        at=REDACTED_AT,
        legal_basis="court order 2026/123",
        note="Removed on the order of the harbour district court.",
    )
    assert update.revision == 2
    assert update.revised_at == REDACTED_AT


# ------------------------------------------------------------------ removed members

HISTORY: tuple[Event, ...] = (
    opened(),
    published(),
    posted(
        verification=Claim(status=ClaimStatus.DISPUTED, note="Owner denies it"),
        pinned=True,
        key_event=True,
        occurred_at=minute(0),
        media=(PIER_PHOTO,),
    ),
    UpdateCorrected(
        update_id="u1",
        kind=CorrectionKind.CORRECTION,
        changes=UpdateChanges(body="Zyxwvut Quillfeather was on the bridge.", occurred_at=minute(2)),
        reason="police named him",
        note="We added who was on the bridge.",
        at=minute(6),
    ),
    UpdateCorrected(
        update_id="u1",
        kind=CorrectionKind.MINOR,
        changes=UpdateChanges(body="Zyxwvut Quillfeather was on the bridge!"),
        reason="typo",
        note="an exclamation mark",
        at=minute(7),
    ),
    VerificationChanged(update_id="u1", status=ClaimStatus.CONFIRMED, note="Police said so", at=minute(8)),
    UpdateFlagsChanged(update_id="u1", pinned=False, at=minute(9)),
    retracted(),
    posted("u2", at=minute(21), body="Another update stays."),
    redacted(),
)


def _stored_redacted(events: tuple[Event, ...]) -> list[Event]:
    """``events`` as read back once u1 was redacted: every earlier event of u1 lost its text."""
    read = []
    for event in events:
        data = event_data(event)
        if data.get("update_id") == "u1" and event.type != "UpdateRedacted":
            read.append(event_from_stored(event.type, 1, redacted_data(event.type, data), redacted=True))
        else:
            read.append(event_from_stored(event.type, 1, data))
    return read


def test_every_update_event_type_says_what_redaction_removes() -> None:
    types = {cls.model_fields["type"].default for cls in get_args(UpdateEvent)}
    assert set(REMOVED_MEMBERS) == types
    assert removed_members("UpdateRedacted") == frozenset()
    assert removed_members("StoryOpened") == frozenset()


def test_redaction_keeps_the_update_id_the_time_and_what_holds_no_text() -> None:
    kept = redacted_data("UpdatePosted", event_data(HISTORY[2]))
    assert set(kept) == {"update_id", "at", "author", "key_event", "pinned", "occurred_at"}
    assert set(redacted_data("UpdateCorrected", event_data(HISTORY[3]))) == {"update_id", "at", "kind"}
    assert set(redacted_data("VerificationChanged", event_data(HISTORY[5]))) == {"update_id", "at", "status"}


def test_a_redacted_log_folds_to_the_story_the_original_folds_to() -> None:
    assert fold(None, _stored_redacted(HISTORY)) == fold(None, HISTORY)


def test_a_redacted_log_replays_through_the_rules() -> None:
    redacted_versions = {3, 4, 5, 6, 7, 8}
    assert replay(SLUG, _stored_redacted(HISTORY), redacted_versions) == fold(None, HISTORY)


def test_a_redacted_log_replayed_without_saying_so_is_illegal() -> None:
    with pytest.raises(IllegalEvent, match="version 4"):
        replay(SLUG, _stored_redacted(HISTORY))


@pytest.mark.parametrize("version", [1, 10])
def test_only_an_updates_events_before_a_redaction_can_be_redacted(version: int) -> None:
    with pytest.raises(IllegalEvent, match=f"version {version}: a .* event cannot be redacted"):
        replay(SLUG, HISTORY, {version})


def test_placeholders_keep_the_public_notes_of_a_correction_that_is_not_minor() -> None:
    minor = with_placeholders("UpdateCorrected", {"update_id": "u1", "at": "x", "kind": "minor"})
    assert "note" not in minor
    major = with_placeholders("UpdateCorrected", {"update_id": "u1", "at": "x", "kind": "correction"})
    assert major["note"] == PLACEHOLDER
    assert with_placeholders("UpdateFlagsChanged", {"update_id": "u1", "at": "x"}) == {
        "update_id": "u1",
        "at": "x",
    }
