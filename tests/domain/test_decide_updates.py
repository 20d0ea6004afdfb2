"""``decide`` for updates: post, correct, verification, flags and retraction."""

from __future__ import annotations

import pytest

from liveblog.domain.commands import (
    ChangeVerification,
    CorrectUpdate,
    PostUpdate,
    RetractUpdate,
    SetFlags,
)
from liveblog.domain.events import (
    UpdateChanges,
    UpdateCorrected,
    UpdateFlagsChanged,
    UpdatePosted,
    VerificationChanged,
)
from liveblog.domain.values import Claim, ClaimStatus, CorrectionKind
from liveblog.errors import (
    AlreadyRetracted,
    InvalidTransition,
    NoteRequired,
    NothingToChange,
    RevisionMismatch,
    StoryIsClosed,
    UpdateIsRetracted,
    UpdateNotFound,
)
from tests.domain.samples import (
    AUTHOR,
    BODY,
    BYLINE,
    COASTGUARD,
    PIER_PHOTO,
    PORT_AUTHORITY,
    SLUG,
    closed,
    closed_story,
    draft_story,
    live_story,
    live_story_with_update,
    minute,
    posted,
    retracted,
)
from tests.domain.spec import given

CORRECTED_BODY = "Police have closed the northbound carriageway of the bridge."


def post(update_id: str = "u1", **fields: object) -> PostUpdate:
    return PostUpdate.model_validate(
        {"story": SLUG, "update_id": update_id, "body": BODY, "author": AUTHOR, "at": minute(5), **fields}
    )


def correct(
    changes: UpdateChanges,
    *,
    kind: CorrectionKind = CorrectionKind.CORRECTION,
    note: str | None = "An earlier version said both carriageways were closed.",
    expected_revision: int | None = None,
    update_id: str = "u1",
) -> CorrectUpdate:
    return CorrectUpdate(
        story=SLUG,
        update_id=update_id,
        changes=changes,
        kind=kind,
        reason="Police clarified the closure",
        note=note,
        expected_revision=expected_revision,
        at=minute(10),
    )


def retract(*, expected_revision: int | None = None, update_id: str = "u1") -> RetractUpdate:
    event = retracted(update_id, at=minute(20))
    return RetractUpdate(
        story=SLUG,
        update_id=update_id,
        reason=event.reason,
        note=event.note,
        expected_revision=expected_revision,
        at=minute(20),
    )


# --------------------------------------------------------------------------- post


def test_posting_to_a_live_story_records_every_field_of_the_update() -> None:
    given(*live_story()).when(
        post(
            byline=BYLINE,
            sources=(PORT_AUTHORITY, COASTGUARD),
            verification=Claim(status=ClaimStatus.UNVERIFIED, note="Awaiting police"),
            key_event=True,
            pinned=True,
            occurred_at=minute(2),
            media=(PIER_PHOTO,),
        )
    ).then(
        UpdatePosted(
            update_id="u1",
            body=BODY,
            byline=BYLINE,
            author=AUTHOR,
            sources=(PORT_AUTHORITY, COASTGUARD),
            verification=Claim(status=ClaimStatus.UNVERIFIED, note="Awaiting police"),
            key_event=True,
            pinned=True,
            occurred_at=minute(2),
            media=(PIER_PHOTO,),
            at=minute(5),
        )
    )


def test_posting_to_a_draft_is_allowed() -> None:
    given(*draft_story()).when(post()).then(
        UpdatePosted(update_id="u1", body=BODY, author=AUTHOR, at=minute(5))
    )


def test_posting_to_a_closed_story_is_refused() -> None:
    given(*closed_story()).when(post(at=minute(60))).then_raises(StoryIsClosed)


def test_posting_with_an_update_id_already_used_is_refused() -> None:
    given(*live_story_with_update()).when(post("u1", at=minute(6))).then_raises(InvalidTransition)


def test_posting_with_an_id_used_by_a_retracted_update_is_refused() -> None:
    given(*live_story_with_update(), retracted("u1")).when(post("u1", at=minute(30))).then_raises(
        InvalidTransition
    )


# ------------------------------------------------------------------------ correct


def test_correcting_an_unknown_update_is_refused() -> None:
    given(*live_story_with_update()).when(
        correct(UpdateChanges(body=CORRECTED_BODY), update_id="u404")
    ).then_raises(UpdateNotFound)


def test_correcting_a_retracted_update_is_refused() -> None:
    given(*live_story_with_update(), retracted()).when(
        correct(UpdateChanges(body=CORRECTED_BODY))
    ).then_raises(UpdateIsRetracted)


@pytest.mark.parametrize(
    "kind", [CorrectionKind.CORRECTION, CorrectionKind.CLARIFICATION, CorrectionKind.AMENDMENT]
)
def test_a_public_correction_without_a_note_is_refused(kind: CorrectionKind) -> None:
    given(*live_story_with_update()).when(
        correct(UpdateChanges(body=CORRECTED_BODY), kind=kind, note=None)
    ).then_raises(NoteRequired)


def test_a_minor_edit_needs_no_note() -> None:
    given(*live_story_with_update()).when(
        correct(UpdateChanges(body=CORRECTED_BODY), kind=CorrectionKind.MINOR, note=None)
    ).then(
        UpdateCorrected(
            update_id="u1",
            kind=CorrectionKind.MINOR,
            changes=UpdateChanges(body=CORRECTED_BODY),
            reason="Police clarified the closure",
            at=minute(10),
        )
    )


def test_a_correction_records_kind_changes_reason_and_public_note() -> None:
    given(*live_story_with_update()).when(
        correct(UpdateChanges(body=CORRECTED_BODY), kind=CorrectionKind.CLARIFICATION)
    ).then(
        UpdateCorrected(
            update_id="u1",
            kind=CorrectionKind.CLARIFICATION,
            changes=UpdateChanges(body=CORRECTED_BODY),
            reason="Police clarified the closure",
            note="An earlier version said both carriageways were closed.",
            at=minute(10),
        )
    )


def test_a_correction_that_changes_nothing_is_refused() -> None:
    given(*live_story_with_update()).when(
        correct(UpdateChanges(body=BODY, byline=BYLINE, sources=(PORT_AUTHORITY,), media=()))
    ).then_raises(NothingToChange)


def test_a_correction_with_no_fields_is_refused() -> None:
    given(*live_story_with_update()).when(correct(UpdateChanges())).then_raises(NothingToChange)


def test_a_correction_keeps_only_the_fields_that_really_change() -> None:
    given(*live_story_with_update()).when(
        correct(
            UpdateChanges(
                body=BODY,
                byline=BYLINE,
                sources=(PORT_AUTHORITY, COASTGUARD),
                occurred_at=minute(3),
                media=(),
            )
        )
    ).then(
        UpdateCorrected(
            update_id="u1",
            kind=CorrectionKind.CORRECTION,
            changes=UpdateChanges(sources=(PORT_AUTHORITY, COASTGUARD), occurred_at=minute(3)),
            reason="Police clarified the closure",
            note="An earlier version said both carriageways were closed.",
            at=minute(10),
        )
    )


def test_an_empty_byline_removes_an_existing_byline() -> None:
    decided = given(*live_story_with_update()).when(correct(UpdateChanges(byline=""))).decided()
    assert [event.changes for event in decided if isinstance(event, UpdateCorrected)] == [
        UpdateChanges(byline="")
    ]


def test_an_empty_byline_on_an_update_without_one_changes_nothing() -> None:
    given(*live_story(), posted(byline=None)).when(correct(UpdateChanges(byline=""))).then_raises(
        NothingToChange
    )


def test_a_correction_matching_if_match_goes_through() -> None:
    decided = (
        given(*live_story_with_update())
        .when(correct(UpdateChanges(body=CORRECTED_BODY), expected_revision=1))
        .decided()
    )
    assert len(decided) == 1


def test_a_correction_with_a_stale_if_match_is_refused_with_the_current_revision() -> None:
    history = (
        *live_story_with_update(),
        UpdateFlagsChanged(update_id="u1", pinned=True, at=minute(7)),
    )
    error = (
        given(*history)
        .when(correct(UpdateChanges(body=CORRECTED_BODY), expected_revision=1))
        .then_raises(RevisionMismatch)
    )
    assert error.current_revision == 2


def test_if_match_concerns_the_update_not_the_rest_of_the_story() -> None:
    history = (*live_story_with_update(), posted("u2", at=minute(8)), posted("u3", at=minute(9)))
    decided = given(*history).when(correct(UpdateChanges(body=CORRECTED_BODY), expected_revision=1)).decided()
    assert len(decided) == 1


# ------------------------------------------------------------------- verification


def verify(
    status: ClaimStatus,
    note: str | None = None,
    *,
    expected_revision: int | None = None,
    update_id: str = "u1",
) -> ChangeVerification:
    return ChangeVerification(
        story=SLUG,
        update_id=update_id,
        status=status,
        note=note,
        expected_revision=expected_revision,
        at=minute(15),
    )


def test_setting_a_first_verification_records_it() -> None:
    given(*live_story_with_update()).when(verify(ClaimStatus.CONFIRMED, "Police statement")).then(
        VerificationChanged(
            update_id="u1", status=ClaimStatus.CONFIRMED, note="Police statement", at=minute(15)
        )
    )


def test_setting_the_same_status_and_note_records_nothing() -> None:
    history = (
        *live_story(),
        posted(verification=Claim(status=ClaimStatus.DISPUTED, note="Owner denies it")),
    )
    given(*history).when(verify(ClaimStatus.DISPUTED, "Owner denies it")).then_nothing()


def test_changing_the_status_records_it() -> None:
    history = (*live_story(), posted(verification=Claim(status=ClaimStatus.UNVERIFIED)))
    given(*history).when(verify(ClaimStatus.FALSE)).then(
        VerificationChanged(update_id="u1", status=ClaimStatus.FALSE, at=minute(15))
    )


def test_changing_only_the_note_records_it() -> None:
    history = (*live_story(), posted(verification=Claim(status=ClaimStatus.CONFIRMED)))
    given(*history).when(verify(ClaimStatus.CONFIRMED, "Also confirmed by the port")).then(
        VerificationChanged(
            update_id="u1", status=ClaimStatus.CONFIRMED, note="Also confirmed by the port", at=minute(15)
        )
    )


def test_verifying_an_unknown_update_is_refused() -> None:
    given(*live_story_with_update()).when(verify(ClaimStatus.CONFIRMED, update_id="u9")).then_raises(
        UpdateNotFound
    )


def test_verifying_a_retracted_update_is_refused() -> None:
    given(*live_story_with_update(), retracted()).when(verify(ClaimStatus.CONFIRMED)).then_raises(
        UpdateIsRetracted
    )


def test_verifying_with_a_stale_if_match_is_refused() -> None:
    error = (
        given(*live_story_with_update())
        .when(verify(ClaimStatus.CONFIRMED, expected_revision=3))
        .then_raises(RevisionMismatch)
    )
    assert error.current_revision == 1


# -------------------------------------------------------------------------- flags


def flags(
    *, pinned: bool | None = None, key_event: bool | None = None, expected_revision: int | None = None
) -> SetFlags:
    return SetFlags(
        story=SLUG,
        update_id="u1",
        pinned=pinned,
        key_event=key_event,
        expected_revision=expected_revision,
        at=minute(12),
    )


def test_flags_equal_to_the_current_ones_record_nothing() -> None:
    given(*live_story(), posted(pinned=True, key_event=False)).when(
        flags(pinned=True, key_event=False)
    ).then_nothing()


def test_setting_no_flags_records_nothing() -> None:
    given(*live_story_with_update()).when(flags()).then_nothing()


def test_only_the_flags_that_change_are_recorded() -> None:
    given(*live_story(), posted(pinned=False, key_event=True)).when(flags(pinned=True, key_event=True)).then(
        UpdateFlagsChanged(update_id="u1", pinned=True, at=minute(12))
    )


def test_unsetting_a_flag_is_recorded() -> None:
    given(*live_story(), posted(key_event=True)).when(flags(key_event=False)).then(
        UpdateFlagsChanged(update_id="u1", key_event=False, at=minute(12))
    )


def test_changing_both_flags_records_both() -> None:
    given(*live_story_with_update()).when(flags(pinned=True, key_event=True)).then(
        UpdateFlagsChanged(update_id="u1", pinned=True, key_event=True, at=minute(12))
    )


def test_flagging_a_retracted_update_is_refused() -> None:
    given(*live_story_with_update(), retracted()).when(flags(pinned=True)).then_raises(UpdateIsRetracted)


def test_flagging_with_a_stale_if_match_is_refused() -> None:
    given(*live_story_with_update()).when(flags(pinned=True, expected_revision=2)).then_raises(
        RevisionMismatch
    )


# --------------------------------------------------------------------- retraction


def test_retracting_an_update_records_reason_and_public_note() -> None:
    given(*live_story_with_update()).when(retract()).then(retracted(at=minute(20)))


def test_retracting_twice_is_refused() -> None:
    given(*live_story_with_update(), retracted()).when(retract()).then_raises(AlreadyRetracted)


def test_retracting_an_unknown_update_is_refused() -> None:
    given(*live_story_with_update()).when(retract(update_id="u2")).then_raises(UpdateNotFound)


def test_a_retraction_matching_if_match_goes_through() -> None:
    given(*live_story_with_update()).when(retract(expected_revision=1)).then(retracted(at=minute(20)))


def test_a_retraction_with_a_stale_if_match_is_refused_with_the_current_revision() -> None:
    history = (
        *live_story_with_update(),
        VerificationChanged(update_id="u1", status=ClaimStatus.CONFIRMED, at=minute(8)),
    )
    error = given(*history).when(retract(expected_revision=1)).then_raises(RevisionMismatch)
    assert error.current_revision == 2


def test_retracting_in_a_closed_story_is_allowed() -> None:
    given(*live_story_with_update(), closed(at=minute(15))).when(retract()).then(retracted(at=minute(20)))
