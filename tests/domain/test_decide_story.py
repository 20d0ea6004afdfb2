"""``decide`` for the story itself: open, publish, close, reopen and revise."""

from __future__ import annotations

import pytest

from liveblog.domain.commands import (
    ChangeVerification,
    CloseStory,
    Command,
    CorrectUpdate,
    OpenStory,
    PostUpdate,
    PublishStory,
    ReopenStory,
    RetractUpdate,
    ReviseStory,
    SetFlags,
)
from liveblog.domain.events import (
    Event,
    StoryClosed,
    StoryOpened,
    StoryPublished,
    StoryReopened,
    StoryRevised,
    UpdateChanges,
)
from liveblog.errors import (
    InvalidTransition,
    NothingToChange,
    RevisionMismatch,
    StoryAlreadyExists,
    StoryNotFound,
)
from tests.domain.samples import (
    BODY,
    SLUG,
    SUMMARY,
    TITLE,
    closed_story,
    draft_story,
    live_story,
    minute,
    opened,
)
from tests.domain.spec import given

NEW_TITLE = "Harbour bridge to stay shut for a week"
NEW_SUMMARY = "Engineers found cracks in the damaged pier."

# ---------------------------------------------------------------------------- open


def test_opening_a_new_story_records_it_as_a_draft_with_default_summary_and_language() -> None:
    given().when(OpenStory(story=SLUG, title=TITLE, at=minute(0))).then(
        StoryOpened(slug=SLUG, title=TITLE, summary="", language="en", at=minute(0))
    )


def test_opening_carries_the_given_summary_and_language() -> None:
    given().when(OpenStory(story=SLUG, title=TITLE, summary=SUMMARY, language="pt-BR", at=minute(0))).then(
        StoryOpened(slug=SLUG, title=TITLE, summary=SUMMARY, language="pt-BR", at=minute(0))
    )


def test_opening_with_publish_opens_and_publishes_at_the_same_moment() -> None:
    given().when(OpenStory(story=SLUG, title=TITLE, publish=True, at=minute(0))).then(
        StoryOpened(slug=SLUG, title=TITLE, summary="", language="en", at=minute(0)),
        StoryPublished(at=minute(0)),
    )


def test_opening_a_taken_slug_is_refused() -> None:
    given(opened()).when(OpenStory(story=SLUG, title="Another story", at=minute(3))).then_raises(
        StoryAlreadyExists
    )


# ------------------------------------------------------------------ unknown story

COMMANDS_ON_AN_EXISTING_STORY: list[Command] = [
    PublishStory(story=SLUG, at=minute(1)),
    CloseStory(story=SLUG, at=minute(1)),
    ReopenStory(story=SLUG, at=minute(1)),
    ReviseStory(story=SLUG, title=NEW_TITLE, at=minute(1)),
    PostUpdate(story=SLUG, update_id="u1", body=BODY, author="Desk", at=minute(1)),
    CorrectUpdate(
        story=SLUG,
        update_id="u1",
        changes=UpdateChanges(body="Fixed."),
        kind="minor",
        reason="typo",
        at=minute(1),
    ),
    ChangeVerification(story=SLUG, update_id="u1", status="confirmed", at=minute(1)),
    SetFlags(story=SLUG, update_id="u1", pinned=True, at=minute(1)),
    RetractUpdate(story=SLUG, update_id="u1", reason="wrong", note="Withdrawn.", at=minute(1)),
]


@pytest.mark.parametrize("command", COMMANDS_ON_AN_EXISTING_STORY, ids=lambda cmd: type(cmd).__name__)
def test_every_command_but_open_needs_an_existing_story(command: Command) -> None:
    given().when(command).then_raises(StoryNotFound)


# ------------------------------------------------------------ status transitions


def test_a_draft_can_be_published() -> None:
    given(*draft_story()).when(PublishStory(story=SLUG, at=minute(2))).then(StoryPublished(at=minute(2)))


@pytest.mark.parametrize("history", [live_story(), closed_story()], ids=["live", "closed"])
def test_only_a_draft_can_be_published(history: tuple[Event, ...]) -> None:
    given(*history).when(PublishStory(story=SLUG, at=minute(60))).then_raises(InvalidTransition)


def test_a_live_story_can_be_closed() -> None:
    given(*live_story()).when(CloseStory(story=SLUG, at=minute(40))).then(StoryClosed(at=minute(40)))


@pytest.mark.parametrize("history", [draft_story(), closed_story()], ids=["draft", "closed"])
def test_only_a_live_story_can_be_closed(history: tuple[Event, ...]) -> None:
    given(*history).when(CloseStory(story=SLUG, at=minute(60))).then_raises(InvalidTransition)


def test_a_closed_story_can_be_reopened() -> None:
    given(*closed_story()).when(ReopenStory(story=SLUG, at=minute(70))).then(StoryReopened(at=minute(70)))


@pytest.mark.parametrize("history", [draft_story(), live_story()], ids=["draft", "live"])
def test_only_a_closed_story_can_be_reopened(history: tuple[Event, ...]) -> None:
    given(*history).when(ReopenStory(story=SLUG, at=minute(60))).then_raises(InvalidTransition)


def test_a_reopened_story_can_be_closed_again() -> None:
    given(*closed_story(), StoryReopened(at=minute(70))).when(CloseStory(story=SLUG, at=minute(80))).then(
        StoryClosed(at=minute(80))
    )


# ------------------------------------------------------------------------- revise


def test_revising_the_headline_records_only_the_headline() -> None:
    given(*live_story()).when(
        ReviseStory(story=SLUG, title=NEW_TITLE, reason="Closure extended", at=minute(30))
    ).then(StoryRevised(title=NEW_TITLE, reason="Closure extended", at=minute(30)))


def test_revising_the_summary_records_only_the_summary() -> None:
    given(*live_story()).when(ReviseStory(story=SLUG, summary=NEW_SUMMARY, at=minute(30))).then(
        StoryRevised(summary=NEW_SUMMARY, at=minute(30))
    )


def test_revising_both_records_both() -> None:
    given(*live_story()).when(
        ReviseStory(story=SLUG, title=NEW_TITLE, summary=NEW_SUMMARY, at=minute(30))
    ).then(StoryRevised(title=NEW_TITLE, summary=NEW_SUMMARY, at=minute(30)))


def test_a_field_sent_unchanged_is_left_out_of_the_revision() -> None:
    given(*live_story()).when(ReviseStory(story=SLUG, title=TITLE, summary=NEW_SUMMARY, at=minute(30))).then(
        StoryRevised(summary=NEW_SUMMARY, at=minute(30))
    )


def test_an_empty_summary_clears_the_summary() -> None:
    given(*live_story()).when(ReviseStory(story=SLUG, summary="", at=minute(30))).then(
        StoryRevised(summary="", at=minute(30))
    )


def test_a_revision_identical_to_the_current_header_is_refused() -> None:
    given(*live_story()).when(
        ReviseStory(story=SLUG, title=TITLE, summary=SUMMARY, reason="no-op", at=minute(30))
    ).then_raises(NothingToChange)


def test_a_revision_with_no_fields_is_refused() -> None:
    given(*live_story()).when(ReviseStory(story=SLUG, at=minute(30))).then_raises(NothingToChange)


def test_a_revision_matching_if_match_goes_through() -> None:
    # Opened (revision 1) and published (revision 2).
    given(*live_story()).when(
        ReviseStory(story=SLUG, title=NEW_TITLE, expected_revision=2, at=minute(30))
    ).then(StoryRevised(title=NEW_TITLE, at=minute(30)))


def test_a_revision_with_a_stale_if_match_is_refused_with_the_current_revision() -> None:
    error = (
        given(*live_story())
        .when(ReviseStory(story=SLUG, title=NEW_TITLE, expected_revision=1, at=minute(30)))
        .then_raises(RevisionMismatch)
    )
    assert error.current_revision == 2


def test_a_stale_if_match_wins_over_nothing_to_change() -> None:
    error = (
        given(*live_story())
        .when(ReviseStory(story=SLUG, title=TITLE, expected_revision=7, at=minute(30)))
        .then_raises(RevisionMismatch)
    )
    assert error.current_revision == 2


def test_a_closed_story_can_still_be_revised() -> None:
    given(*closed_story()).when(ReviseStory(story=SLUG, title=NEW_TITLE, at=minute(60))).then(
        StoryRevised(title=NEW_TITLE, at=minute(60))
    )
