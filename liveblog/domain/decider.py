"""``decide`` and ``evolve``: the rules of a live story, with no I/O.

``decide(command, state)`` returns the events a command produces, or raises a
:class:`~liveblog.errors.DomainError` when the newsroom's rules forbid it. An empty list
means the command is already satisfied (an idempotent ``PUT`` that changes nothing).

``evolve(state, event)`` is total: it never raises, whatever the event. Every event applied
to an existing story advances ``version`` by one, so ``version`` counts the stream.

Both ``match`` over closed unions (:data:`~liveblog.domain.commands.Command`,
:data:`~liveblog.domain.events.Event`) and end in ``assert_never``: a command or event type
added to its union without a rule here is a mypy error, and an object of a type outside the
union fails loudly (``AssertionError``) instead of falling into some other event's rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import assert_never

from liveblog.domain import commands as c
from liveblog.domain import events as e
from liveblog.domain import submissions
from liveblog.domain.state import PublicNote, Redaction, Retraction, StoryState, UpdateState, Verification
from liveblog.domain.values import CorrectionKind, StoryStatus, UpdateStatus
from liveblog.errors import (
    AlreadyRedacted,
    AlreadyRetracted,
    InvalidTransition,
    NoteRequired,
    NothingToChange,
    RevisionMismatch,
    StoryAlreadyExists,
    StoryIsClosed,
    StoryNotFound,
    UpdateIsRedacted,
    UpdateIsRetracted,
    UpdateNotFound,
)

# --------------------------------------------------------------------------- decide


def decide(command: c.Command, state: StoryState | None) -> list[e.Event]:
    """The events ``command`` produces against ``state`` (``None``: no such story yet)."""
    if isinstance(command, c.OpenStory):
        return _open(command, state)
    story = _existing(command.story, state)
    latest = story.clock if story.clock is not None else story.updated_at
    if command.at < latest:
        # A story's clock never runs backwards: a command stamped just before another one
        # took the write lock is recorded at the time of the latest event, not before it.
        command = command.model_copy(update={"at": latest})
    match command:
        case c.PublishStory():
            return _publish(command, story)
        case c.CloseStory():
            return _close(command, story)
        case c.ReopenStory():
            return _reopen(command, story)
        case c.ReviseStory():
            return _revise(command, story)
        case c.PostUpdate():
            return _post(command, story)
        case c.CorrectUpdate():
            return _correct(command, story)
        case c.ChangeVerification():
            return _verify(command, story)
        case c.SetFlags():
            return _flag(command, story)
        case c.RetractUpdate():
            return _retract(command, story)
        case c.RedactUpdate():
            return _redact(command, story)
        case c.SubmitUpdate() | c.WithdrawSubmission() | c.ApproveSubmission() | c.RejectSubmission():
            return submissions.decide(command, story)
        case _:
            assert_never(command)


def _existing(slug: str, state: StoryState | None) -> StoryState:
    if state is None:
        raise StoryNotFound(f"there is no story {slug!r}")
    return state


def _open(command: c.OpenStory, state: StoryState | None) -> list[e.Event]:
    if state is not None:
        raise StoryAlreadyExists(f"the slug {command.story!r} is already taken")
    opened: list[e.Event] = [
        e.StoryOpened(
            slug=command.story,
            title=command.title,
            summary=command.summary,
            language=command.language,
            at=command.at,
        )
    ]
    if command.publish:
        opened.append(e.StoryPublished(at=command.at))
    return opened


def _publish(command: c.PublishStory, story: StoryState) -> list[e.Event]:
    if story.status is not StoryStatus.DRAFT:
        raise InvalidTransition(f"only a draft can be published; this story is {story.status}")
    return [e.StoryPublished(at=command.at)]


def _close(command: c.CloseStory, story: StoryState) -> list[e.Event]:
    if story.status is not StoryStatus.LIVE:
        raise InvalidTransition(f"only a live story can be closed; this story is {story.status}")
    return [e.StoryClosed(at=command.at)]


def _reopen(command: c.ReopenStory, story: StoryState) -> list[e.Event]:
    if story.status is not StoryStatus.CLOSED:
        raise InvalidTransition(f"only a closed story can be reopened; this story is {story.status}")
    return [e.StoryReopened(at=command.at)]


def _revise(command: c.ReviseStory, story: StoryState) -> list[e.Event]:
    _check_revision(command.expected_revision, story.revision, "story")
    title = command.title if command.title not in (None, story.title) else None
    summary = command.summary if command.summary not in (None, story.summary) else None
    if title is None and summary is None:
        raise NothingToChange("the new headline and summary are the same as the current ones")
    return [e.StoryRevised(title=title, summary=summary, reason=command.reason, at=command.at)]


def _post(command: c.PostUpdate, story: StoryState) -> list[e.Event]:
    if story.status is StoryStatus.CLOSED:
        raise StoryIsClosed(f"story {story.slug!r} is closed; reopen it to post")
    if command.update_id in story.updates or command.update_id in story.submissions:
        raise InvalidTransition(f"update id {command.update_id!r} is already used")
    return [
        e.UpdatePosted(
            update_id=command.update_id,
            body=command.body,
            byline=command.byline,
            author=command.author,
            sources=command.sources,
            verification=command.verification,
            key_event=command.key_event,
            pinned=command.pinned,
            occurred_at=command.occurred_at,
            media=command.media,
            at=command.at,
        )
    ]


def _correct(command: c.CorrectUpdate, story: StoryState) -> list[e.Event]:
    update = _live_update(command, story)
    if command.kind is not CorrectionKind.MINOR and command.note is None:
        raise NoteRequired(f"a {command.kind} needs a public note saying what was wrong")
    changes = _effective_changes(command.changes, update)
    if changes.is_empty():
        raise NothingToChange("the correction leaves the update exactly as it is")
    return [
        e.UpdateCorrected(
            update_id=update.id,
            kind=command.kind,
            changes=changes,
            reason=command.reason,
            note=command.note,
            at=command.at,
        )
    ]


def _effective_changes(changes: e.UpdateChanges, update: UpdateState) -> e.UpdateChanges:
    """Only the fields of ``changes`` that differ from ``update``."""
    current: dict[str, object] = {
        "body": update.body,
        "byline": update.byline or "",
        "sources": update.sources,
        "occurred_at": update.occurred_at,
        "media": update.media,
    }
    return e.UpdateChanges(
        **{name: value for name, value in changes if value is not None and value != current[name]}
    )


def _verify(command: c.ChangeVerification, story: StoryState) -> list[e.Event]:
    update = _live_update(command, story)
    current = update.verification
    if current is not None and (current.status, current.note) == (command.status, command.note):
        return []
    return [
        e.VerificationChanged(update_id=update.id, status=command.status, note=command.note, at=command.at)
    ]


def _flag(command: c.SetFlags, story: StoryState) -> list[e.Event]:
    update = _live_update(command, story)
    pinned = command.pinned if command.pinned not in (None, update.pinned) else None
    key_event = command.key_event if command.key_event not in (None, update.key_event) else None
    if pinned is None and key_event is None:
        return []
    return [e.UpdateFlagsChanged(update_id=update.id, pinned=pinned, key_event=key_event, at=command.at)]


def _retract(command: c.RetractUpdate, story: StoryState) -> list[e.Event]:
    update = _unredacted_update(command, story)
    if update.status is UpdateStatus.RETRACTED:
        raise AlreadyRetracted(f"update {update.id!r} was already retracted")
    _check_revision(command.expected_revision, update.revision, "update")
    return [e.UpdateRetracted(update_id=update.id, reason=command.reason, note=command.note, at=command.at)]


def _redact(command: c.RedactUpdate, story: StoryState) -> list[e.Event]:
    """A redaction is the law's, not the newsroom's: it applies to a retracted update and to
    a closed story alike; only an update redacted already refuses it."""
    update = _update(command, story)
    if update.status is UpdateStatus.REDACTED:
        raise AlreadyRedacted(f"update {update.id!r} was already redacted")
    _check_revision(command.expected_revision, update.revision, "update")
    return [
        e.UpdateRedacted(
            update_id=update.id,
            legal_basis=command.legal_basis,
            note=command.note,
            reason=command.reason,
            at=command.at,
        )
    ]


def _unredacted_update(command: c.UpdateCommand, story: StoryState) -> UpdateState:
    """The update ``command`` targets, which must exist and not be redacted."""
    update = _update(command, story)
    if update.status is UpdateStatus.REDACTED:
        raise UpdateIsRedacted(f"update {update.id!r} was removed for legal reasons and can no longer change")
    return update


def _update(command: c.UpdateCommand, story: StoryState) -> UpdateState:
    update = story.updates.get(command.update_id)
    if update is None:
        raise UpdateNotFound(f"story {story.slug!r} has no update {command.update_id!r}")
    return update


def _live_update(command: c.UpdateCommand, story: StoryState) -> UpdateState:
    """The update ``command`` targets, which must exist, be unretracted and match If-Match."""
    update = _unredacted_update(command, story)
    if update.status is UpdateStatus.RETRACTED:
        raise UpdateIsRetracted(f"update {update.id!r} is retracted and can no longer change")
    _check_revision(command.expected_revision, update.revision, "update")
    return update


def _check_revision(expected: int | None, current: int, what: str) -> None:
    if expected is not None and expected != current:
        raise RevisionMismatch(
            f"the {what} is at revision {current}, not {expected}; reload it and try again",
            current_revision=current,
        )


# --------------------------------------------------------------------------- evolve


def evolve(state: StoryState | None, event: e.Event) -> StoryState | None:
    """The state after ``event``. Total: an event that does not fit is counted, not applied."""
    if state is None:
        return _opened(event) if isinstance(event, e.StoryOpened) else None
    return _advance(state, event, _changes(event, state))


def _opened(event: e.StoryOpened) -> StoryState:
    return StoryState(
        slug=event.slug,
        title=event.title,
        summary=event.summary,
        status=StoryStatus.DRAFT,
        language=event.language,
        revision=1,
        version=1,
        opened_at=event.at,
        published_at=None,
        updated_at=event.at,
        closed_at=None,
        updates={},
    )


def fold(state: StoryState | None, events: Iterable[e.Event]) -> StoryState | None:
    """``evolve`` over ``events`` in order."""
    for event in events:
        state = evolve(state, event)
    return state


def _advance(state: StoryState, event: e.Event, changes: dict[str, object]) -> StoryState:
    # The submission queue is the newsroom's: its events count in the stream (``version``)
    # but do not tell readers that the story changed (``updated_at``).
    # ``clock`` keeps their time, so that the story's clock still never runs backwards.
    if e.is_internal(event):
        timing: dict[str, object] = {"clock": event.at}
    else:
        timing = {"updated_at": event.at, "clock": None}
    return state.model_copy(update={**changes, "version": state.version + 1, **timing})


def _changes(event: e.Event, story: StoryState) -> dict[str, object]:
    """The fields of ``story`` that ``event`` changes (none when it does not fit)."""
    header_revision = story.revision + 1
    match event:
        case e.StoryOpened():
            return {}  # a second opening: counted, not applied
        case e.StoryPublished():
            if story.status is not StoryStatus.DRAFT:
                return {}
            return {"status": StoryStatus.LIVE, "published_at": event.at, "revision": header_revision}
        case e.StoryClosed():
            return {"status": StoryStatus.CLOSED, "closed_at": event.at, "revision": header_revision}
        case e.StoryReopened():
            return {"status": StoryStatus.LIVE, "closed_at": None, "revision": header_revision}
        case e.StoryRevised():
            revised: dict[str, object] = {"revision": header_revision}
            if event.title is not None:
                revised["title"] = event.title
            if event.summary is not None:
                revised["summary"] = event.summary
            return revised
        case e.UpdatePosted():
            if event.update_id in story.updates:
                return {}
            return {"updates": {**story.updates, event.update_id: _posted(event, story.version + 1)}}
        case (
            e.UpdateCorrected()
            | e.VerificationChanged()
            | e.UpdateFlagsChanged()
            | e.UpdateRetracted()
            | e.UpdateRedacted()
        ):
            update = story.updates.get(event.update_id)
            if update is None:
                return {}
            changed = update.model_copy(
                update={
                    **_update_changes(event, update),
                    "revision": update.revision + 1,
                    "revised_at": event.at,
                }
            )
            scrubbed = submissions.redacted(event, story) if isinstance(event, e.UpdateRedacted) else {}
            return {"updates": {**story.updates, update.id: changed}, **scrubbed}
        case e.UpdateSubmitted() | e.SubmissionWithdrawn() | e.SubmissionRejected() | e.SubmissionApproved():
            return submissions.changes(event, story)
        case _:
            assert_never(event)


def _posted(event: e.UpdatePosted, seq: int) -> UpdateState:
    verification = (
        Verification(status=event.verification.status, note=event.verification.note, changed_at=event.at)
        if event.verification is not None
        else None
    )
    return UpdateState(
        id=event.update_id,
        seq=seq,
        revision=1,
        status=UpdateStatus.PUBLISHED,
        body=event.body,
        byline=event.byline,
        author=event.author,
        sources=event.sources,
        verification=verification,
        key_event=event.key_event,
        pinned=event.pinned,
        occurred_at=event.occurred_at,
        published_at=event.at,
        revised_at=None,
        media=event.media,
        notes=(),
        retraction=None,
    )


def _update_changes(
    event: e.UpdateCorrected
    | e.VerificationChanged
    | e.UpdateFlagsChanged
    | e.UpdateRetracted
    | e.UpdateRedacted,
    update: UpdateState,
) -> dict[str, object]:
    match event:
        case e.UpdateCorrected():
            changed: dict[str, object] = {name: value for name, value in event.changes if value is not None}
            if "byline" in changed:
                changed["byline"] = changed["byline"] or None
            if event.note is not None and event.kind is not CorrectionKind.MINOR:
                # A minor edit's note stays in the history; readers are not shown it.
                changed["notes"] = (*update.notes, PublicNote(kind=event.kind, note=event.note, at=event.at))
            return changed
        case e.VerificationChanged():
            return {"verification": Verification(status=event.status, note=event.note, changed_at=event.at)}
        case e.UpdateFlagsChanged():
            return {
                name: value
                for name, value in (("pinned", event.pinned), ("key_event", event.key_event))
                if value is not None
            }
        case e.UpdateRetracted():
            # A retracted update leaves the pinned list and the key events: it stays in the
            # record (struck through) but no longer headlines the story.
            return {
                "status": UpdateStatus.RETRACTED,
                "retraction": Retraction(note=event.note, at=event.at),
                "pinned": False,
                "key_event": False,
            }
        case e.UpdateRedacted():
            # Every text is gone, and with it whatever derives from the text (the claim's
            # status, the time it reports, the public notes); only the tombstone is shown.
            # The result does not depend on the text it replaces, so folding a log whose
            # events of this update lost their text (their placeholders, see
            # liveblog.domain.redaction) ends in exactly this state too.
            return {
                "status": UpdateStatus.REDACTED,
                "body": "",
                "byline": None,
                "sources": (),
                "media": (),
                "verification": None,
                "occurred_at": None,
                "notes": (),
                "retraction": None,
                "pinned": False,
                "key_event": False,
                "redaction": Redaction(at=event.at, legal_basis=event.legal_basis, note=event.note),
            }
        case _:
            assert_never(event)
