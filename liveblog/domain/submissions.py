"""The submission queue's rules (issue 15, part 1): contributors propose, editors sign off.

Pure, like :mod:`liveblog.domain.decider`, which dispatches the submission commands and
events here. A submission is kept in :attr:`StoryState.submissions` under the update id it
is published under if approved, so the queue is decided from the story's state under its
write lock: of two editors approving the same submission one wins, and the other finds it
no longer pending (:class:`~liveblog.errors.SubmissionNotPending`, 409).

* ``SubmitUpdate``: any story that is not closed; the id must be new (no update, no
  submission has it).
* ``WithdrawSubmission``: only its submitter, only while pending.
* ``RejectSubmission``: only while pending.
* ``ApproveSubmission``: only while pending, and not in a closed story. It yields two
  events: :class:`~liveblog.domain.events.SubmissionApproved` (with the editor's changes,
  those that differ from the submitted text) and the ordinary
  :class:`~liveblog.domain.events.UpdatePosted` of the result, so that readers see an
  update like any other, and the log shows what was submitted, by whom, and what the
  editor changed.
"""

from __future__ import annotations

from typing import assert_never

from liveblog.domain import commands as c
from liveblog.domain import events as e
from liveblog.domain.state import StoryState, SubmissionState
from liveblog.domain.values import StoryStatus, SubmissionStatus
from liveblog.errors import (
    InvalidTransition,
    NotTheSubmitter,
    StoryIsClosed,
    SubmissionNotFound,
    SubmissionNotPending,
)

SubmissionCommand = c.SubmitUpdate | c.WithdrawSubmission | c.ApproveSubmission | c.RejectSubmission


def decide(command: SubmissionCommand, story: StoryState) -> list[e.Event]:
    """The events of a submission command against ``story`` (which exists)."""
    match command:
        case c.SubmitUpdate():
            return _submit(command, story)
        case c.WithdrawSubmission():
            submission = _pending(command.update_id, story)
            if command.by != submission.submitted_by:
                raise NotTheSubmitter("only the contributor who submitted it may withdraw a submission")
            return [e.SubmissionWithdrawn(update_id=submission.id, by=command.by, at=command.at)]
        case c.RejectSubmission():
            submission = _pending(command.update_id, story)
            return [e.SubmissionRejected(update_id=submission.id, note=command.note, at=command.at)]
        case c.ApproveSubmission():
            return _approve(command, story)
        case _:
            assert_never(command)


def _submit(command: c.SubmitUpdate, story: StoryState) -> list[e.Event]:
    if story.status is StoryStatus.CLOSED:
        raise StoryIsClosed(f"story {story.slug!r} is closed; it takes no submissions")
    if command.update_id in story.updates or command.update_id in story.submissions:
        raise InvalidTransition(f"update id {command.update_id!r} is already used")
    return [
        e.UpdateSubmitted(
            update_id=command.update_id,
            submitted_by=command.submitted_by,
            author=command.author,
            body=command.body,
            title=command.title,
            byline=command.byline,
            sources=command.sources,
            verification=command.verification,
            occurred_at=command.occurred_at,
            media=command.media,
            at=command.at,
        )
    ]


def _pending(submission_id: str, story: StoryState) -> SubmissionState:
    submission = story.submissions.get(submission_id)
    if submission is None:
        raise SubmissionNotFound(f"story {story.slug!r} has no submission {submission_id!r}")
    if submission.status is not SubmissionStatus.PENDING:
        raise SubmissionNotPending(f"submission {submission_id!r} was {submission.status} already")
    return submission


def _approve(command: c.ApproveSubmission, story: StoryState) -> list[e.Event]:
    submission = _pending(command.update_id, story)
    if story.status is StoryStatus.CLOSED:
        raise StoryIsClosed(f"story {story.slug!r} is closed; reopen it to publish a submission")
    changes = _effective_changes(command.changes, submission)
    edited = {name: value for name, value in changes if value is not None}
    byline = edited.get("byline", submission.byline)
    return [
        e.SubmissionApproved(
            update_id=submission.id, submitted_by=submission.submitted_by, changes=changes, at=command.at
        ),
        e.UpdatePosted(
            update_id=submission.id,
            body=edited.get("body", submission.body),
            title=edited.get("title", submission.title) or None,
            byline=byline or None,
            author=submission.author,
            sources=edited.get("sources", submission.sources),
            verification=submission.verification,
            occurred_at=edited.get("occurred_at", submission.occurred_at),
            media=edited.get("media", submission.media),
            at=command.at,
        ),
    ]


def _effective_changes(changes: e.UpdateChanges, submission: SubmissionState) -> e.UpdateChanges:
    """Only the fields of ``changes`` that differ from what was submitted."""
    current: dict[str, object] = {
        "body": submission.body,
        "title": submission.title or "",
        "byline": submission.byline or "",
        "sources": submission.sources,
        "occurred_at": submission.occurred_at,
        "media": submission.media,
    }
    return e.UpdateChanges(
        **{name: value for name, value in changes if value is not None and value != current[name]}
    )


def changes(event: e.SubmissionEvent, story: StoryState) -> dict[str, object]:
    """The fields of ``story`` a submission event changes (none when it does not fit)."""
    if isinstance(event, e.UpdateSubmitted):
        if event.update_id in story.submissions or event.update_id in story.updates:
            return {}
        submitted = SubmissionState(
            id=event.update_id,
            seq=story.version + 1,
            status=SubmissionStatus.PENDING,
            submitted_by=event.submitted_by,
            author=event.author,
            submitted_at=event.at,
            body=event.body,
            title=event.title,
            byline=event.byline,
            sources=event.sources,
            verification=event.verification,
            occurred_at=event.occurred_at,
            media=event.media,
        )
        return {"submissions": {**story.submissions, event.update_id: submitted}}
    submission = story.submissions.get(event.update_id)
    if submission is None:
        return {}
    decided: dict[str, object] = {"decided_at": event.at}
    match event:
        case e.SubmissionWithdrawn():
            decided["status"] = SubmissionStatus.WITHDRAWN
        case e.SubmissionRejected():
            decided |= {"status": SubmissionStatus.REJECTED, "note": event.note}
        case e.SubmissionApproved():
            decided |= {"status": SubmissionStatus.APPROVED, "changes": event.changes}
        case _:
            assert_never(event)
    return {"submissions": {**story.submissions, submission.id: submission.model_copy(update=decided)}}


def redacted(event: e.UpdateRedacted, story: StoryState) -> dict[str, object]:
    """The submission an update's redaction also empties, if the update was one: its
    submitted text and the editor's changes go with the update's (``{}`` otherwise)."""
    submission = story.submissions.get(event.update_id)
    if submission is None:
        return {}
    scrubbed = submission.model_copy(
        update={
            "body": "",
            "title": None,
            "byline": None,
            "sources": (),
            "verification": None,
            "occurred_at": None,
            "media": (),
            "note": None,
            "changes": e.UpdateChanges(),
            "redacted": True,
        }
    )
    return {"submissions": {**story.submissions, submission.id: scrubbed}}
