"""A story's clock never runs backwards: ``decide`` stamps no event before the latest one."""

from __future__ import annotations

from liveblog.domain import fold
from liveblog.domain.commands import CloseStory, PostUpdate, SetFlags
from liveblog.domain.events import StoryClosed, UpdateFlagsChanged, UpdatePosted
from tests.domain.samples import AUTHOR, BODY, SLUG, live_story, live_story_with_update, minute
from tests.domain.spec import given


def test_a_command_stamped_before_the_latest_event_is_recorded_at_the_latest_event() -> None:
    # The update was posted at minute 5; the close was decided at minute 3.
    given(*live_story_with_update()).when(CloseStory(story=SLUG, at=minute(3))).then(
        StoryClosed(at=minute(5))
    )


def test_an_update_posted_with_an_earlier_stamp_is_recorded_at_the_latest_event() -> None:
    given(*live_story_with_update()).when(
        PostUpdate(story=SLUG, update_id="u2", body=BODY, author=AUTHOR, at=minute(4))
    ).then(UpdatePosted(update_id="u2", body=BODY, author=AUTHOR, at=minute(5)))


def test_the_clamp_moves_only_the_record_time_not_the_time_of_the_reported_fact() -> None:
    given(*live_story_with_update()).when(
        PostUpdate(story=SLUG, update_id="u2", body=BODY, author=AUTHOR, occurred_at=minute(0), at=minute(4))
    ).then(UpdatePosted(update_id="u2", body=BODY, author=AUTHOR, occurred_at=minute(0), at=minute(5)))


def test_a_command_stamped_at_the_latest_event_keeps_its_time() -> None:
    given(*live_story_with_update()).when(
        SetFlags(story=SLUG, update_id="u1", pinned=True, at=minute(5))
    ).then(UpdateFlagsChanged(update_id="u1", pinned=True, at=minute(5)))


def test_a_command_stamped_after_the_latest_event_keeps_its_time() -> None:
    given(*live_story()).when(CloseStory(story=SLUG, at=minute(45))).then(StoryClosed(at=minute(45)))


def test_the_folded_story_is_never_updated_earlier_than_before() -> None:
    state = fold(None, live_story_with_update())
    assert state is not None
    events = given(*live_story_with_update()).when(CloseStory(story=SLUG, at=minute(1))).decided()
    after = fold(state, events)
    assert after is not None
    assert after.updated_at == state.updated_at == after.closed_at
