"""The submission queue's rules (issue 15, part 1): submit, withdraw, reject, approve; how
they fold, replay and redact."""

from __future__ import annotations

import pytest

from liveblog.domain import commands as c
from liveblog.domain import fold
from liveblog.domain.events import (
    SubmissionApproved,
    SubmissionRejected,
    SubmissionWithdrawn,
    UpdateChanges,
    UpdatePosted,
    event_data,
    is_internal,
)
from liveblog.domain.redaction import PLACEHOLDER, redacted_data, with_placeholders
from liveblog.domain.replay import IllegalEvent, replay
from liveblog.domain.upcasting import event_from_stored
from liveblog.domain.values import Claim, ClaimStatus, SubmissionStatus, UpdateStatus
from liveblog.errors import (
    InvalidTransition,
    NotTheSubmitter,
    StoryIsClosed,
    SubmissionNotFound,
    SubmissionNotPending,
)
from liveblog.store.feed import INTERNAL_TYPES
from tests.domain.samples import (
    AUTHOR,
    BODY,
    BYLINE,
    COASTGUARD,
    CONTRIBUTOR,
    PIER_PHOTO,
    PORT_AUTHORITY,
    REPORTER,
    SLUG,
    SUBMITTED_AT,
    closed,
    live_story,
    live_story_with_submission,
    minute,
    opened,
    posted,
    published,
    redacted,
    submitted,
)
from tests.domain.spec import given

AT = minute(15)


def submit(update_id: str = "s1", **fields: object) -> c.SubmitUpdate:
    values: dict[str, object] = {
        "body": BODY,
        "byline": BYLINE,
        "sources": (PORT_AUTHORITY,),
        "submitted_by": CONTRIBUTOR,
        "author": REPORTER,
        "at": SUBMITTED_AT,
        **fields,
    }
    return c.SubmitUpdate(story=SLUG, update_id=update_id, **values)  # type: ignore[arg-type]


def approve(changes: UpdateChanges | None = None, update_id: str = "s1") -> c.ApproveSubmission:
    return c.ApproveSubmission(story=SLUG, update_id=update_id, changes=changes or UpdateChanges(), at=AT)


def published_as_submitted(**fields: object) -> UpdatePosted:
    values: dict[str, object] = {
        "update_id": "s1",
        "body": BODY,
        "byline": BYLINE,
        "author": REPORTER,
        "sources": (PORT_AUTHORITY,),
        "at": AT,
        **fields,
    }
    return UpdatePosted(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- decide


def test_a_submission_is_recorded_as_submitted() -> None:
    given(*live_story()).when(submit()).then(submitted())


def test_a_draft_story_takes_submissions_a_closed_one_does_not() -> None:
    given(opened()).when(submit()).then(submitted())
    given(opened(), published(), closed()).when(submit(at=minute(55))).then_raises(StoryIsClosed)


def test_a_submission_id_is_never_reused() -> None:
    given(*live_story(), posted("s1")).when(submit()).then_raises(InvalidTransition)
    given(*live_story_with_submission()).when(submit()).then_raises(InvalidTransition)
    # Nor may an ordinary post take a submission's id.
    post = c.PostUpdate(story=SLUG, update_id="s1", body=BODY, author=AUTHOR, at=AT)
    given(*live_story_with_submission()).when(post).then_raises(InvalidTransition)


def test_only_its_submitter_withdraws_a_pending_submission() -> None:
    mine = c.WithdrawSubmission(story=SLUG, update_id="s1", by=CONTRIBUTOR, at=AT)
    given(*live_story_with_submission()).when(mine).then(
        SubmissionWithdrawn(update_id="s1", by=CONTRIBUTOR, at=AT)
    )
    theirs = c.WithdrawSubmission(story=SLUG, update_id="s1", by="tok_other", at=AT)
    given(*live_story_with_submission()).when(theirs).then_raises(NotTheSubmitter)
    withdrawn = SubmissionWithdrawn(update_id="s1", by=CONTRIBUTOR, at=minute(12))
    given(*live_story_with_submission(), withdrawn).when(mine).then_raises(SubmissionNotPending)
    given(*live_story()).when(mine).then_raises(SubmissionNotFound)


def test_a_rejection_needs_a_pending_submission() -> None:
    reject = c.RejectSubmission(story=SLUG, update_id="s1", note="Not confirmed", at=AT)
    given(*live_story_with_submission()).when(reject).then(
        SubmissionRejected(update_id="s1", note="Not confirmed", at=AT)
    )
    rejected = SubmissionRejected(update_id="s1", note="No", at=minute(12))
    given(*live_story_with_submission(), rejected).when(reject).then_raises(SubmissionNotPending)


def test_approving_as_submitted_publishes_an_ordinary_update_by_the_submitter() -> None:
    given(*live_story_with_submission()).when(approve()).then(
        SubmissionApproved(update_id="s1", submitted_by=CONTRIBUTOR, at=AT), published_as_submitted()
    )


def test_an_editors_changes_are_recorded_apart_from_what_was_submitted() -> None:
    changes = UpdateChanges(
        body="Edited by the desk.",
        byline="",
        sources=(COASTGUARD,),
        occurred_at=minute(2),
        media=(PIER_PHOTO,),
    )
    given(*live_story_with_submission()).when(approve(changes)).then(
        SubmissionApproved(update_id="s1", submitted_by=CONTRIBUTOR, changes=changes, at=AT),
        published_as_submitted(
            body="Edited by the desk.",
            byline=None,
            sources=(COASTGUARD,),
            occurred_at=minute(2),
            media=(PIER_PHOTO,),
        ),
    )


def test_changes_equal_to_the_submission_are_not_the_editors() -> None:
    same = UpdateChanges(body=BODY, byline=BYLINE)
    given(*live_story_with_submission()).when(approve(same)).then(
        SubmissionApproved(update_id="s1", submitted_by=CONTRIBUTOR, at=AT), published_as_submitted()
    )


def test_the_claim_submitted_is_the_claim_published() -> None:
    claim = Claim(status=ClaimStatus.UNVERIFIED, note="Seen on video")
    given(*live_story(), submitted(verification=claim)).when(approve()).then(
        SubmissionApproved(update_id="s1", submitted_by=CONTRIBUTOR, at=AT),
        published_as_submitted(verification=claim),
    )


def test_a_second_approval_is_refused_one_editor_wins() -> None:
    approval = SubmissionApproved(update_id="s1", submitted_by=CONTRIBUTOR, at=minute(12))
    given(*live_story_with_submission(), approval, published_as_submitted(at=minute(12))).when(
        approve()
    ).then_raises(SubmissionNotPending)


def test_a_closed_story_publishes_no_submission() -> None:
    given(*live_story_with_submission(), closed()).when(approve()).then_raises(StoryIsClosed)
    given(*live_story()).when(approve()).then_raises(SubmissionNotFound)


# ---------------------------------------------------------------------------- evolve


def test_the_queue_holds_each_submission_and_where_it_stands() -> None:
    story = fold(None, live_story_with_submission())
    assert story is not None
    pending = story.submissions["s1"]
    assert (pending.status, pending.submitted_by, pending.author, pending.seq) == (
        SubmissionStatus.PENDING,
        CONTRIBUTOR,
        REPORTER,
        3,
    )
    assert story.updates == {}
    # The queue is the newsroom's: the story's version counts it, its updated_at does not.
    assert (story.version, story.updated_at) == (3, minute(1))
    rejected = fold(story, [SubmissionRejected(update_id="s1", note="No", at=minute(12))])
    assert rejected is not None
    assert (rejected.submissions["s1"].status, rejected.submissions["s1"].note) == (
        SubmissionStatus.REJECTED,
        "No",
    )
    withdrawn = fold(story, [SubmissionWithdrawn(update_id="s1", by=CONTRIBUTOR, at=minute(12))])
    assert withdrawn is not None
    assert withdrawn.submissions["s1"].status is SubmissionStatus.WITHDRAWN
    assert withdrawn.submissions["s1"].decided_at == minute(12)


def test_an_approval_publishes_through_its_update_posted() -> None:
    changes = UpdateChanges(body="Edited.")
    story = fold(
        None,
        [
            *live_story_with_submission(),
            SubmissionApproved(update_id="s1", submitted_by=CONTRIBUTOR, changes=changes, at=AT),
            published_as_submitted(body="Edited."),
        ],
    )
    assert story is not None
    assert story.submissions["s1"].status is SubmissionStatus.APPROVED
    assert story.submissions["s1"].changes == changes
    assert story.updates["s1"].body == "Edited."
    assert story.updates["s1"].author == REPORTER
    assert story.updated_at == AT


def test_events_that_do_not_fit_the_queue_are_counted_not_applied() -> None:
    story = fold(None, live_story_with_submission())
    assert story is not None
    for stray in (
        submitted(),  # the same id again
        SubmissionRejected(update_id="nope", note="No", at=minute(12)),
    ):
        after = fold(story, [stray])
        assert after is not None
        assert after.submissions == story.submissions
        assert after.version == story.version + 1
    over_update = fold(None, [*live_story(), posted("s1"), submitted()])
    assert over_update is not None
    assert over_update.submissions == {}


def test_redacting_the_published_update_empties_the_submission_too() -> None:
    story = fold(
        None,
        [
            *live_story_with_submission(),
            SubmissionApproved(
                update_id="s1", submitted_by=CONTRIBUTOR, changes=UpdateChanges(body="Edited."), at=AT
            ),
            published_as_submitted(body="Edited."),
            redacted("s1"),
        ],
    )
    assert story is not None
    submission = story.submissions["s1"]
    assert submission.redacted
    assert (submission.body, submission.byline, submission.sources, submission.changes) == (
        "",
        None,
        (),
        UpdateChanges(),
    )
    assert story.updates["s1"].status is UpdateStatus.REDACTED
    # An update that came through no queue is redacted as before.
    plain = fold(None, [*live_story(), posted(), redacted()])
    assert plain is not None
    assert plain.submissions == {}


def test_the_clock_counts_the_queue_too() -> None:
    """A command stamped before the latest submission event is recorded at its time."""
    early = c.PublishStory(story=SLUG, at=minute(3))
    given(opened(), submitted(at=minute(10))).when(early).then(published(at=minute(10)))
    late = fold(None, [opened(), submitted(at=minute(10)), published(at=minute(11))])
    assert late is not None
    assert (late.clock, late.updated_at) == (None, minute(11))


def test_the_queue_events_are_internal() -> None:
    assert is_internal(submitted())
    assert not is_internal(posted())
    assert {
        "UpdateSubmitted",
        "SubmissionWithdrawn",
        "SubmissionRejected",
        "SubmissionApproved",
    } == INTERNAL_TYPES


# ---------------------------------------------------------------------------- replay, redaction

APPROVED_LOG = (
    *live_story_with_submission(),
    submitted("s2", at=minute(11)),
    submitted("s3", at=minute(12)),
    SubmissionWithdrawn(update_id="s2", by=CONTRIBUTOR, at=minute(13)),
    SubmissionRejected(update_id="s3", note="Not confirmed", at=minute(14)),
    SubmissionApproved(
        update_id="s1", submitted_by=CONTRIBUTOR, changes=UpdateChanges(body="Edited."), at=AT
    ),
    published_as_submitted(body="Edited."),
)


def test_a_queue_written_through_the_rules_replays() -> None:
    assert replay(SLUG, APPROVED_LOG) == fold(None, APPROVED_LOG)


def test_an_approval_must_be_followed_by_exactly_what_it_publishes() -> None:
    forged = (*APPROVED_LOG[:-1], published_as_submitted(body="Something else entirely."))
    with pytest.raises(IllegalEvent, match="version 9: UpdatePosted is not what the command before it"):
        replay(SLUG, forged)
    with pytest.raises(IllegalEvent, match="version 9: the log ends before the UpdatePosted"):
        replay(SLUG, APPROVED_LOG[:-1])


def test_a_post_under_a_submissions_id_without_approval_is_illegal() -> None:
    with pytest.raises(IllegalEvent, match="version 4: UpdatePosted refused"):
        replay(SLUG, (*live_story_with_submission(), published_as_submitted()))


def test_an_approval_claiming_another_submitter_is_illegal() -> None:
    forged = (
        *live_story_with_submission(),
        SubmissionApproved(update_id="s1", submitted_by="tok_someone_else", at=AT),
        published_as_submitted(),
    )
    with pytest.raises(IllegalEvent, match="version 4: SubmissionApproved is not what the rules produce"):
        replay(SLUG, forged)


def test_a_redacted_queue_still_replays_to_the_same_story() -> None:
    log = (*APPROVED_LOG, redacted("s1", at=minute(20)))
    versions = {3, 8, 9}  # the submission, its approval, its post: the events of update s1
    stored = []
    for version, event in enumerate(log, start=1):
        data = event_data(event)
        if version in versions:
            stored.append(
                event_from_stored(event.type, event.SCHEMA, redacted_data(event.type, data), redacted=True)
            )
        else:
            stored.append(event)
    assert replay(SLUG, stored, redacted=versions) == fold(None, log)


def test_redaction_removes_the_submitted_text_and_the_editors_changes() -> None:
    data = event_data(submitted(media=(PIER_PHOTO,)))
    assert set(redacted_data("UpdateSubmitted", data)) == {"update_id", "submitted_by", "author", "at"}
    assert with_placeholders("UpdateSubmitted", redacted_data("UpdateSubmitted", data))["body"] == PLACEHOLDER
    approval = event_data(
        SubmissionApproved(update_id="s1", submitted_by=CONTRIBUTOR, changes=UpdateChanges(body="x"), at=AT)
    )
    assert "changes" not in with_placeholders(
        "SubmissionApproved", redacted_data("SubmissionApproved", approval)
    )
