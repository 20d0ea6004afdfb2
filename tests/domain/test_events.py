"""Events survive being stored: ``event_from_data(type, event_data(event)) == event``."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import ValidationError

from liveblog.domain.events import (
    BaseEvent,
    Event,
    StoryClosed,
    StoryPublished,
    StoryReopened,
    StoryRevised,
    SubmissionApproved,
    SubmissionRejected,
    SubmissionWithdrawn,
    UpdateChanges,
    UpdateCorrected,
    UpdateFlagsChanged,
    VerificationChanged,
    event_data,
    event_from_data,
)
from liveblog.domain.values import Claim, ClaimStatus, CorrectionKind
from tests.domain.samples import (
    COASTGUARD,
    PIER_PHOTO,
    PORT_AUTHORITY,
    minute,
    opened,
    posted,
    redacted,
    retracted,
    submitted,
)

EVENT_TYPES: dict[str, type[BaseEvent]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(Event)[0])
}

ONE_OF_EACH: list[Event] = [
    opened(),
    StoryPublished(at=minute(1)),
    StoryRevised(title="Bridge shut for a week", summary="", reason="Closure extended", at=minute(2)),
    StoryClosed(at=minute(3)),
    StoryReopened(at=minute(4)),
    posted(
        sources=(PORT_AUTHORITY, COASTGUARD),
        verification=Claim(status=ClaimStatus.DISPUTED, note="Owner denies it"),
        key_event=True,
        pinned=True,
        occurred_at=minute(0),
        media=(PIER_PHOTO,),
    ),
    UpdateCorrected(
        update_id="u1",
        kind=CorrectionKind.AMENDMENT,
        changes=UpdateChanges(
            body="Both carriageways are shut.", byline="", sources=(), occurred_at=minute(1)
        ),
        reason="Police update",
        note="Added the time of the collision.",
        at=minute(6),
    ),
    VerificationChanged(update_id="u1", status=ClaimStatus.CONFIRMED, note="Police statement", at=minute(7)),
    UpdateFlagsChanged(update_id="u1", pinned=False, at=minute(8)),
    retracted(at=minute(9)),
    redacted(at=minute(10)),
    submitted(
        "s1",
        verification=Claim(status=ClaimStatus.UNVERIFIED, note="Seen on video"),
        occurred_at=minute(0),
        media=(PIER_PHOTO,),
        at=minute(11),
    ),
    SubmissionWithdrawn(update_id="s1", by="tok_field", at=minute(12)),
    SubmissionRejected(update_id="s2", note="Could not confirm it", at=minute(13)),
    SubmissionApproved(
        update_id="s3", submitted_by="tok_field", changes=UpdateChanges(body="Edited."), at=minute(14)
    ),
]

SPARSE: list[Event] = [
    StoryRevised(title="Only the headline", at=minute(2)),
    posted(byline=None, sources=()),
    UpdateCorrected(
        update_id="u1",
        kind=CorrectionKind.MINOR,
        changes=UpdateChanges(media=()),
        reason="typo",
        at=minute(6),
    ),
    VerificationChanged(update_id="u1", status=ClaimStatus.UNVERIFIED, at=minute(7)),
    UpdateFlagsChanged(update_id="u1", key_event=True, at=minute(8)),
]


def test_the_samples_hold_one_event_of_every_type() -> None:
    assert [event.type for event in ONE_OF_EACH] == list(EVENT_TYPES)
    assert {cls.__name__ for cls in EVENT_TYPES.values()} == {
        cls.__name__ for cls in get_args(get_args(Event)[0])
    }


@pytest.mark.parametrize("event", ONE_OF_EACH + SPARSE, ids=lambda event: event.type)
def test_an_event_rebuilt_from_its_stored_data_equals_the_event(event: Event) -> None:
    assert event_from_data(event.type, event_data(event)) == event


@pytest.mark.parametrize("event", ONE_OF_EACH + SPARSE, ids=lambda event: event.type)
def test_stored_data_has_no_type_and_no_empty_fields(event: Event) -> None:
    data = event_data(event)
    assert "type" not in data
    assert None not in data.values()


def test_stored_times_are_utc_strings() -> None:
    assert event_data(StoryClosed(at=minute(3)))["at"] == "2025-03-14T06:33:00Z"


def test_every_event_type_has_schema_one() -> None:
    assert {cls.SCHEMA for cls in EVENT_TYPES.values()} == {1}


def test_a_payload_that_does_not_fit_its_type_is_rejected() -> None:
    with pytest.raises(ValidationError):
        event_from_data("UpdateRetracted", {"update_id": "u1", "at": "2025-03-14T06:33:00Z"})


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValidationError, match="StoryDeleted"):
        event_from_data("StoryDeleted", {"at": "2025-03-14T06:33:00Z"})
