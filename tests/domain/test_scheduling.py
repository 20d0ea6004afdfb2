"""Scheduled posts and update headlines (issue 15 parts 2 and 3): decide, evolve, replay."""

from __future__ import annotations

import pytest

from liveblog.domain import fold
from liveblog.domain.commands import (
    CancelSchedule,
    CorrectUpdate,
    FireSchedule,
    PostUpdate,
    PublishStory,
    RedactUpdate,
    Reschedule,
    SchedulePublication,
    ScheduleUpdate,
)
from liveblog.domain.decider import LATE_AFTER
from liveblog.domain.events import (
    ScheduleCancelled,
    ScheduleChanged,
    StoryPublished,
    StoryReopened,
    UpdateChanges,
    UpdateCorrected,
    UpdatePosted,
    UpdateRedacted,
)
from liveblog.domain.replay import replay
from liveblog.domain.values import CorrectionKind, StoryStatus
from liveblog.errors import (
    InvalidTransition,
    PublishAtNotInFuture,
    ScheduleNotDue,
    ScheduleNotFound,
    ScheduleNotPending,
    StoryIsClosed,
)
from tests.domain.samples import (
    AUTHOR,
    BODY,
    SLUG,
    closed,
    minute,
    opened,
    posted,
    publication_scheduled,
    published,
    scheduled,
)
from tests.domain.spec import given

LIVE = (opened(), published())


def fire(schedule_id: str = "s1", *, at: int = 30, early: bool = False) -> FireSchedule:
    return FireSchedule(story=SLUG, schedule_id=schedule_id, early=early, at=minute(at))


def fired_post(*, at: int = 30, late: bool | None = None, update_id: str = "s1") -> UpdatePosted:
    return UpdatePosted(
        update_id=update_id,
        body=BODY,
        title="Bridge reopens",
        author=AUTHOR,
        scheduled_id=update_id,
        scheduled_for=minute(30),
        late=late,
        at=minute(at),
    )


# ------------------------------------------------------------------------- titles


def test_an_update_is_posted_with_its_title() -> None:
    command = PostUpdate(
        story=SLUG, update_id="u1", body=BODY, author=AUTHOR, title="Bridge shut", at=minute(5)
    )
    state = fold(None, [*LIVE, *given(*LIVE).when(command).decided()])
    assert state is not None and state.updates["u1"].title == "Bridge shut"


@pytest.mark.parametrize(("new", "expected"), [("Bridge reopens", "Bridge reopens"), ("", None)])
def test_a_correction_changes_or_removes_the_title(new: str, expected: str | None) -> None:
    story = (
        *LIVE,
        posted(),
        UpdateCorrected(
            update_id="u1",
            kind=CorrectionKind.MINOR,
            changes=UpdateChanges(title="Old"),
            reason="r",
            at=minute(6),
        ),
    )
    command = CorrectUpdate(
        story=SLUG,
        update_id="u1",
        changes=UpdateChanges(title=new),
        kind=CorrectionKind.MINOR,
        reason="headline",
        at=minute(7),
    )
    state = fold(None, [*story, *given(*story).when(command).decided()])
    assert state is not None and state.updates["u1"].title == expected


def test_a_redaction_removes_the_title() -> None:
    story = (
        *LIVE,
        posted(),
        UpdateRedacted(update_id="u1", legal_basis="court", note="n", reason="r", at=minute(9)),
    )
    state = fold(None, story)
    assert state is not None and state.updates["u1"].title is None


# ------------------------------------------------------------------------- schedule


def test_an_update_is_scheduled_for_later() -> None:
    command = ScheduleUpdate(
        story=SLUG,
        update_id="s1",
        publish_at=minute(30),
        body=BODY,
        title="Bridge reopens",
        author=AUTHOR,
        at=minute(5),
    )
    given(*LIVE).when(command).then(scheduled())


def test_a_scheduled_update_is_no_update_yet() -> None:
    state = fold(None, (*LIVE, scheduled()))
    assert state is not None
    assert state.updates == {}
    item = state.scheduled["s1"]
    assert (item.kind, item.status, item.scheduled_by) == ("update", "scheduled", AUTHOR)


def test_a_time_not_ahead_is_refused() -> None:
    command = ScheduleUpdate(
        story=SLUG, update_id="s1", publish_at=minute(5), body=BODY, author=AUTHOR, at=minute(5)
    )
    given(*LIVE).when(command).then_raises(PublishAtNotInFuture)


def test_nothing_is_scheduled_on_a_closed_story() -> None:
    command = ScheduleUpdate(
        story=SLUG, update_id="s1", publish_at=minute(90), body=BODY, author=AUTHOR, at=minute(60)
    )
    given(*LIVE, closed()).when(command).then_raises(StoryIsClosed)


def test_an_id_is_used_once() -> None:
    command = ScheduleUpdate(
        story=SLUG, update_id="u1", publish_at=minute(30), body=BODY, author=AUTHOR, at=minute(6)
    )
    given(*LIVE, posted()).when(command).then_raises(InvalidTransition)


def test_a_draft_publication_is_scheduled_once() -> None:
    command = SchedulePublication(
        story=SLUG, schedule_id="p1", publish_at=minute(30), by=AUTHOR, at=minute(1)
    )
    given(opened()).when(command).then(publication_scheduled())
    again = command.model_copy(update={"schedule_id": "p2"})
    given(opened(), publication_scheduled()).when(again).then_raises(InvalidTransition)
    given(*LIVE).when(command).then_raises(InvalidTransition)


def test_a_pending_item_is_rescheduled_or_cancelled() -> None:
    given(*LIVE, scheduled()).when(
        Reschedule(story=SLUG, schedule_id="s1", publish_at=minute(40), at=minute(6))
    ).then(ScheduleChanged(schedule_id="s1", publish_at=minute(40), at=minute(6)))
    given(*LIVE, scheduled()).when(
        Reschedule(story=SLUG, schedule_id="s1", publish_at=minute(30), at=minute(6))
    ).then_nothing()
    given(*LIVE, scheduled()).when(
        Reschedule(story=SLUG, schedule_id="s1", publish_at=minute(6), at=minute(6))
    ).then_raises(PublishAtNotInFuture)
    given(*LIVE, scheduled()).when(CancelSchedule(story=SLUG, schedule_id="s1", at=minute(6))).then(
        ScheduleCancelled(schedule_id="s1", at=minute(6))
    )
    state = fold(
        None, (*LIVE, scheduled(), ScheduleChanged(schedule_id="s1", publish_at=minute(40), at=minute(6)))
    )
    assert state is not None and state.scheduled["s1"].publish_at == minute(40)


def test_an_unknown_item_is_not_found() -> None:
    given(*LIVE).when(CancelSchedule(story=SLUG, schedule_id="nope", at=minute(6))).then_raises(
        ScheduleNotFound
    )


def test_a_due_item_is_published_once() -> None:
    given(*LIVE, scheduled()).when(fire()).then(fired_post())
    state = fold(None, (*LIVE, scheduled(), fired_post()))
    assert state is not None
    assert state.updates["s1"].title == "Bridge reopens"
    assert (state.scheduled["s1"].status, state.scheduled["s1"].published_at) == ("published", minute(30))
    # A second server firing the same item after the first: refused by state.
    given(*LIVE, scheduled(), fired_post()).when(fire(at=31)).then_raises(ScheduleNotPending)


def test_a_cancelled_item_is_never_published_and_a_published_one_never_changes() -> None:
    cancelled = (*LIVE, scheduled(), ScheduleCancelled(schedule_id="s1", at=minute(6)))
    given(*cancelled).when(fire()).then_raises(ScheduleNotPending)
    given(*LIVE, scheduled(), fired_post()).when(
        Reschedule(story=SLUG, schedule_id="s1", publish_at=minute(90), at=minute(31))
    ).then_raises(ScheduleNotPending)
    given(*LIVE, scheduled(), fired_post()).when(
        CancelSchedule(story=SLUG, schedule_id="s1", at=minute(31))
    ).then_raises(ScheduleNotPending)


def test_an_item_is_not_fired_before_its_time_unless_published_now() -> None:
    given(*LIVE, scheduled()).when(fire(at=20)).then_raises(ScheduleNotDue)
    given(*LIVE, scheduled()).when(fire(at=20, early=True)).then(fired_post(at=20))


def test_an_item_published_well_after_its_time_is_late() -> None:
    late_minute = 30 + int(LATE_AFTER.total_seconds() // 60) + 1
    given(*LIVE, scheduled()).when(fire(at=late_minute)).then(fired_post(at=late_minute, late=True))
    state = fold(None, (*LIVE, scheduled(), fired_post(at=late_minute, late=True)))
    assert state is not None and state.scheduled["s1"].late


def test_a_scheduled_update_waits_while_its_story_is_closed() -> None:
    given(*LIVE, scheduled(), closed()).when(fire(at=51)).then_raises(StoryIsClosed)


def test_a_scheduled_publication_publishes_the_draft() -> None:
    fired = StoryPublished(scheduled_id="p1", scheduled_for=minute(30), at=minute(30))
    given(opened(), publication_scheduled()).when(fire("p1")).then(fired)
    state = fold(None, (opened(), publication_scheduled(), fired))
    assert state is not None
    assert state.status is StoryStatus.LIVE and state.scheduled["p1"].status == "published"


def test_publishing_by_hand_cancels_the_scheduled_publication() -> None:
    events = given(opened(), publication_scheduled()).when(PublishStory(story=SLUG, at=minute(2))).decided()
    state = fold(None, (opened(), publication_scheduled(), *events))
    assert state is not None and state.scheduled["p1"].status == "cancelled"
    assert fold(None, (opened(), published())) == fold(None, (opened(), published()))


def test_events_that_do_not_fit_change_nothing_but_the_version() -> None:
    base = fold(None, (*LIVE, scheduled(), ScheduleCancelled(schedule_id="s1", at=minute(6))))
    assert base is not None
    for event in (
        scheduled(at=minute(7)),
        publication_scheduled("s1", at=minute(7)),
        ScheduleChanged(schedule_id="s1", publish_at=minute(40), at=minute(7)),
        ScheduleChanged(schedule_id="zz", publish_at=minute(40), at=minute(7)),
        fired_post(at=31),
        StoryPublished(scheduled_id="s1", at=minute(7)),
    ):
        after = fold(base, [event])
        assert after is not None and after.scheduled == base.scheduled
    assert fold(None, (*LIVE, StoryPublished(scheduled_id="zz", at=minute(7)))) is not None


def test_a_redaction_removes_a_scheduled_updates_text() -> None:
    story = (*LIVE, scheduled(), fired_post())
    events = (
        given(*story)
        .when(
            RedactUpdate(story=SLUG, update_id="s1", legal_basis="court", note="n", reason="r", at=minute(40))
        )
        .decided()
    )
    state = fold(None, (*story, *events))
    assert state is not None and state.scheduled["s1"].update is None


def test_a_log_of_scheduled_posts_replays_through_the_rules() -> None:
    log = (
        opened(),
        publication_scheduled(),
        StoryPublished(scheduled_id="p1", scheduled_for=minute(30), at=minute(30)),
        scheduled(at=minute(31), publish_at=minute(40), update_id="s2"),
        ScheduleChanged(schedule_id="s2", publish_at=minute(45), at=minute(32)),
        scheduled(at=minute(33), publish_at=minute(50), update_id="s3"),
        ScheduleCancelled(schedule_id="s3", at=minute(34)),
        UpdatePosted(
            update_id="s2",
            body=BODY,
            title="Bridge reopens",
            author=AUTHOR,
            scheduled_id="s2",
            scheduled_for=minute(45),
            at=minute(45),
        ),
        closed(at=minute(60)),
        StoryReopened(at=minute(61)),
    )
    assert replay(SLUG, log) == fold(None, log)
