"""``evolve``: the story as it stands after its events, and totality on events that do not fit."""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import strategies as st

from liveblog.domain import StoryState, UpdateState, evolve, fold
from liveblog.domain.events import (
    Event,
    StoryPublished,
    StoryReopened,
    StoryRevised,
    UpdateChanges,
    UpdateCorrected,
    UpdateFlagsChanged,
    VerificationChanged,
)
from liveblog.domain.state import PublicNote, Retraction, Verification
from liveblog.domain.values import (
    Claim,
    ClaimStatus,
    CorrectionKind,
    StoryStatus,
    UpdateStatus,
)
from tests.domain.samples import (
    AUTHOR,
    BODY,
    BYLINE,
    COASTGUARD,
    PIER_PHOTO,
    PORT_AUTHORITY,
    SLUG,
    SUMMARY,
    T0,
    TITLE,
    closed,
    live_story,
    live_story_with_update,
    minute,
    opened,
    posted,
    published,
    retracted,
)

NOTE = "An earlier version misnamed the ship."
NEW_BODY = "The ship that struck the pier was the Northern Lark."


def state_after(*events: Event) -> StoryState:
    state = fold(None, events)
    assert state is not None
    return state


def update_after(*events: Event, update_id: str = "u1") -> UpdateState:
    return state_after(*events).updates[update_id]


def corrected(
    changes: UpdateChanges,
    *,
    kind: CorrectionKind = CorrectionKind.CORRECTION,
    note: str | None = NOTE,
    at_minute: int = 10,
    update_id: str = "u1",
) -> UpdateCorrected:
    return UpdateCorrected(
        update_id=update_id,
        kind=kind,
        changes=changes,
        reason="Port log checked",
        note=note,
        at=minute(at_minute),
    )


# ------------------------------------------------------------------------ the story


def test_an_opened_story_is_a_draft_at_version_and_revision_one() -> None:
    assert state_after(opened()) == StoryState(
        slug=SLUG,
        title=TITLE,
        summary=SUMMARY,
        status=StoryStatus.DRAFT,
        language="en",
        revision=1,
        version=1,
        opened_at=T0,
        published_at=None,
        updated_at=T0,
        closed_at=None,
        updates={},
    )


def test_publishing_makes_the_story_live_and_revises_its_header() -> None:
    state = state_after(opened(), published(at=minute(1)))
    assert (state.status, state.published_at, state.revision, state.version, state.updated_at) == (
        StoryStatus.LIVE,
        minute(1),
        2,
        2,
        minute(1),
    )


def test_closing_records_when_the_story_closed() -> None:
    state = state_after(*live_story(), closed(at=minute(50)))
    assert (state.status, state.closed_at, state.revision, state.version) == (
        StoryStatus.CLOSED,
        minute(50),
        3,
        3,
    )


def test_reopening_makes_the_story_live_again_and_forgets_the_close_time() -> None:
    state = state_after(*live_story(), closed(at=minute(50)), StoryReopened(at=minute(70)))
    assert (state.status, state.closed_at, state.published_at, state.revision, state.updated_at) == (
        StoryStatus.LIVE,
        None,
        minute(1),
        4,
        minute(70),
    )


def test_revising_the_headline_keeps_the_summary() -> None:
    state = state_after(*live_story(), StoryRevised(title="Bridge shut for a week", at=minute(30)))
    assert (state.title, state.summary, state.revision) == ("Bridge shut for a week", SUMMARY, 3)


def test_revising_the_summary_keeps_the_headline() -> None:
    state = state_after(*live_story(), StoryRevised(summary="", at=minute(30)))
    assert (state.title, state.summary, state.revision) == (TITLE, "", 3)


def test_version_counts_every_event_but_update_events_leave_the_header_revision_alone() -> None:
    state = state_after(
        *live_story(),
        posted("u1"),
        posted("u2", at=minute(6)),
        UpdateFlagsChanged(update_id="u1", pinned=True, at=minute(7)),
        retracted("u2", at=minute(8)),
    )
    assert (state.version, state.revision, state.updated_at) == (6, 2, minute(8))


def test_evolve_returns_a_new_state_and_leaves_the_previous_one_as_it_was() -> None:
    before = state_after(*live_story())
    after = evolve(before, posted())
    assert after is not None and "u1" in after.updates
    assert before.updates == {} and before.version == 2


def test_folding_no_events_leaves_the_state_as_it_is() -> None:
    before = state_after(*live_story())
    assert fold(before, []) is before
    assert fold(None, []) is None


# ---------------------------------------------------------------------- the updates


def test_a_posted_update_starts_at_revision_one_with_its_story_version_as_seq() -> None:
    claim = Claim(status=ClaimStatus.UNVERIFIED, note="Awaiting police")
    event = posted(
        sources=(PORT_AUTHORITY, COASTGUARD),
        verification=claim,
        key_event=True,
        pinned=True,
        occurred_at=minute(2),
        media=(PIER_PHOTO,),
        at=minute(5),
    )
    assert update_after(*live_story(), event) == UpdateState(
        id="u1",
        seq=3,
        revision=1,
        status=UpdateStatus.PUBLISHED,
        body=BODY,
        byline=BYLINE,
        author=AUTHOR,
        sources=(PORT_AUTHORITY, COASTGUARD),
        verification=Verification(
            status=ClaimStatus.UNVERIFIED, note="Awaiting police", changed_at=minute(5)
        ),
        key_event=True,
        pinned=True,
        occurred_at=minute(2),
        published_at=minute(5),
        revised_at=None,
        media=(PIER_PHOTO,),
        notes=(),
        retraction=None,
    )


def test_an_update_posted_without_a_claim_has_no_verification() -> None:
    assert update_after(*live_story_with_update()).verification is None


def test_a_correction_changes_the_fields_and_adds_a_public_note() -> None:
    update = update_after(*live_story_with_update(), corrected(UpdateChanges(body=NEW_BODY), at_minute=10))
    assert (update.body, update.byline, update.sources, update.revision, update.revised_at) == (
        NEW_BODY,
        BYLINE,
        (PORT_AUTHORITY,),
        2,
        minute(10),
    )
    assert update.notes == (PublicNote(kind=CorrectionKind.CORRECTION, note=NOTE, at=minute(10)),)
    assert update.published_at == minute(5)


def test_a_correction_can_replace_sources_media_and_time_of_the_fact() -> None:
    update = update_after(
        *live_story_with_update(),
        corrected(UpdateChanges(sources=(), media=(PIER_PHOTO,), occurred_at=minute(1))),
    )
    assert (update.sources, update.media, update.occurred_at) == ((), (PIER_PHOTO,), minute(1))


def test_public_notes_accumulate_in_order() -> None:
    update = update_after(
        *live_story_with_update(),
        corrected(UpdateChanges(body=NEW_BODY), at_minute=10),
        corrected(
            UpdateChanges(byline="Harbour desk"),
            kind=CorrectionKind.CLARIFICATION,
            note="Byline",
            at_minute=11,
        ),
    )
    assert [(n.kind, n.at) for n in update.notes] == [
        (CorrectionKind.CORRECTION, minute(10)),
        (CorrectionKind.CLARIFICATION, minute(11)),
    ]
    assert (update.byline, update.revision) == ("Harbour desk", 3)


def test_an_empty_byline_in_a_correction_clears_the_byline() -> None:
    update = update_after(*live_story_with_update(), corrected(UpdateChanges(byline="")))
    assert update.byline is None


def test_a_minor_edit_note_is_not_shown_to_readers() -> None:
    update = update_after(
        *live_story_with_update(),
        corrected(UpdateChanges(body=NEW_BODY), kind=CorrectionKind.MINOR, note="fixed a typo"),
    )
    assert (update.body, update.notes, update.revision) == (NEW_BODY, (), 2)


def test_a_minor_edit_without_a_note_adds_no_note() -> None:
    update = update_after(
        *live_story_with_update(),
        corrected(UpdateChanges(body=NEW_BODY), kind=CorrectionKind.MINOR, note=None),
    )
    assert update.notes == ()


def test_a_verification_change_records_status_note_and_time() -> None:
    update = update_after(
        *live_story_with_update(),
        VerificationChanged(
            update_id="u1", status=ClaimStatus.CONFIRMED, note="Police statement", at=minute(15)
        ),
    )
    assert update.verification == Verification(
        status=ClaimStatus.CONFIRMED, note="Police statement", changed_at=minute(15)
    )
    assert (update.revision, update.revised_at) == (2, minute(15))


def test_a_flags_change_sets_only_the_flags_it_carries() -> None:
    update = update_after(
        *live_story(), posted(key_event=True), UpdateFlagsChanged(update_id="u1", pinned=True, at=minute(12))
    )
    assert (update.pinned, update.key_event, update.revision) == (True, True, 2)


def test_a_flags_change_can_clear_a_flag() -> None:
    update = update_after(
        *live_story(),
        posted(pinned=True, key_event=True),
        UpdateFlagsChanged(update_id="u1", key_event=False, at=minute(12)),
    )
    assert (update.pinned, update.key_event) == (True, False)


def test_a_retraction_strikes_the_update_through_but_keeps_its_content() -> None:
    update = update_after(*live_story_with_update(), retracted(at=minute(20)))
    assert update.status is UpdateStatus.RETRACTED
    assert update.retraction == Retraction(
        note="This update reported a second collision that did not happen.", at=minute(20)
    )
    assert (update.body, update.revision, update.revised_at) == (BODY, 2, minute(20))


def test_a_retraction_unpins_the_update_and_removes_it_from_the_key_events() -> None:
    update = update_after(*live_story(), posted(pinned=True, key_event=True), retracted())
    assert (update.pinned, update.key_event) == (False, False)


def test_an_event_for_one_update_leaves_the_others_alone() -> None:
    state = state_after(*live_story_with_update(), posted("u2", at=minute(6)), retracted("u1"))
    assert state.updates["u2"] == update_after(
        *live_story_with_update(), posted("u2", at=minute(6)), update_id="u2"
    )


# --------------------------------------------------------------------- totality

EVENTS_THAT_NEED_A_STORY: list[Event] = [
    published(),
    closed(),
    StoryReopened(at=minute(2)),
    StoryRevised(title="Anything", at=minute(2)),
    posted(),
    corrected(UpdateChanges(body=NEW_BODY)),
    VerificationChanged(update_id="u1", status=ClaimStatus.CONFIRMED, at=minute(2)),
    UpdateFlagsChanged(update_id="u1", pinned=True, at=minute(2)),
    retracted(),
]

EVENTS_FOR_AN_UNKNOWN_UPDATE: list[Event] = [
    corrected(UpdateChanges(body=NEW_BODY), update_id="ghost", at_minute=30),
    VerificationChanged(update_id="ghost", status=ClaimStatus.FALSE, at=minute(30)),
    UpdateFlagsChanged(update_id="ghost", pinned=True, at=minute(30)),
    retracted("ghost", at=minute(30)),
]


@pytest.mark.parametrize("event", EVENTS_THAT_NEED_A_STORY, ids=lambda event: event.type)
def test_an_event_before_the_story_was_opened_leaves_no_story(event: Event) -> None:
    assert evolve(None, event) is None


def test_a_second_opening_is_counted_but_not_applied() -> None:
    before = state_after(*live_story_with_update())
    after = state_after(*live_story_with_update(), opened(at=minute(9), title="A different story"))
    assert after == before.model_copy(update={"version": before.version + 1, "updated_at": minute(9)})


@pytest.mark.parametrize("history", [live_story(), (*live_story(), closed())], ids=["live", "closed"])
def test_publishing_a_story_that_is_not_a_draft_is_counted_but_not_applied(
    history: tuple[Event, ...],
) -> None:
    before = state_after(*history)
    after = state_after(*history, StoryPublished(at=minute(55)))
    assert after == before.model_copy(update={"version": before.version + 1, "updated_at": minute(55)})


def test_posting_a_used_update_id_is_counted_but_not_applied() -> None:
    before = state_after(*live_story_with_update())
    after = state_after(*live_story_with_update(), posted("u1", body="A different text.", at=minute(9)))
    assert after == before.model_copy(update={"version": before.version + 1, "updated_at": minute(9)})


@pytest.mark.parametrize("event", EVENTS_FOR_AN_UNKNOWN_UPDATE, ids=lambda event: event.type)
def test_an_event_for_an_unknown_update_is_counted_but_not_applied(event: Event) -> None:
    before = state_after(*live_story_with_update())
    after = state_after(*live_story_with_update(), event)
    assert after == before.model_copy(update={"version": before.version + 1, "updated_at": minute(30)})


# A pool of events, fitting and not fitting, for the property below.
ANY_EVENT = st.sampled_from(
    [
        opened(),
        opened(at=minute(3), title="Another story"),
        published(),
        closed(),
        StoryReopened(at=minute(51)),
        StoryRevised(title="Bridge shut for a week", at=minute(30)),
        posted("u1"),
        posted("u2", pinned=True, key_event=True),
        corrected(UpdateChanges(body=NEW_BODY, byline="")),
        corrected(UpdateChanges(media=()), kind=CorrectionKind.MINOR, note="typo"),
        VerificationChanged(update_id="u1", status=ClaimStatus.DENIED, at=minute(16)),
        UpdateFlagsChanged(update_id="u2", pinned=False, at=minute(17)),
        retracted("u1"),
        retracted("u2"),
        *EVENTS_FOR_AN_UNKNOWN_UPDATE,
    ]
)


@hypothesis.given(st.lists(ANY_EVENT, max_size=25))
def test_evolve_never_raises_and_version_counts_every_event_from_the_opening_on(events: list[Event]) -> None:
    state = fold(None, events)
    first_opening = next((n for n, event in enumerate(events) if event.type == "StoryOpened"), None)
    if first_opening is None:
        assert state is None
        return
    assert state is not None
    counted = events[first_opening:]
    assert state.version == len(counted)
    assert state.updated_at == counted[-1].at
    for update in state.updates.values():
        assert update.revision >= 1
        if update.status is UpdateStatus.RETRACTED:
            assert update.retraction is not None
