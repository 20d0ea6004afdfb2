"""Replaying a log through the rules: is every event one that ``decide`` could have produced?

Each event is turned back into the command that yields it, and ``decide`` is asked again on
the state before it. An event that ``decide`` would refuse, or would produce differently
(a correction that changes nothing, a post to a closed story, a clock running backwards),
makes the sequence illegal. Verifiers use this to reject a log that hashes correctly but
could never have been written through the application.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import assert_never

from liveblog.domain import commands as c
from liveblog.domain import events as e
from liveblog.domain.decider import decide, evolve
from liveblog.domain.state import StoryState
from liveblog.errors import DomainError


class IllegalEvent(Exception):
    """Event number ``index`` (1-based: the story version it would have) breaks the rules."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(f"version {index}: {reason}")
        self.index = index
        self.reason = reason


def command_for(event: e.Event, story: str) -> c.Command:
    """The command that produces exactly ``event`` when it is legal."""
    match event:
        case e.StoryOpened():
            return c.OpenStory(
                story=story, title=event.title, summary=event.summary, language=event.language, at=event.at
            )
        case e.StoryPublished():
            return c.PublishStory(story=story, at=event.at)
        case e.StoryClosed():
            return c.CloseStory(story=story, at=event.at)
        case e.StoryReopened():
            return c.ReopenStory(story=story, at=event.at)
        case e.StoryRevised():
            return c.ReviseStory(
                story=story, title=event.title, summary=event.summary, reason=event.reason, at=event.at
            )
        case e.UpdatePosted():
            return c.PostUpdate(
                story=story, **event.model_dump(exclude={"type", "update_id"}), update_id=event.update_id
            )
        case e.UpdateCorrected():
            return c.CorrectUpdate(
                story=story,
                update_id=event.update_id,
                changes=event.changes,
                kind=event.kind,
                reason=event.reason,
                note=event.note,
                at=event.at,
            )
        case e.VerificationChanged():
            return c.ChangeVerification(
                story=story, update_id=event.update_id, status=event.status, note=event.note, at=event.at
            )
        case e.UpdateFlagsChanged():
            return c.SetFlags(
                story=story,
                update_id=event.update_id,
                pinned=event.pinned,
                key_event=event.key_event,
                at=event.at,
            )
        case e.UpdateRetracted():
            return c.RetractUpdate(
                story=story, update_id=event.update_id, reason=event.reason, note=event.note, at=event.at
            )
        case e.UpdateRedacted():
            return c.RedactUpdate(
                story=story,
                update_id=event.update_id,
                legal_basis=event.legal_basis,
                note=event.note,
                reason=event.reason,
                at=event.at,
            )
        case e.UpdateSubmitted():
            return c.SubmitUpdate(story=story, **event.model_dump(exclude={"type"}))
        case e.SubmissionWithdrawn():
            return c.WithdrawSubmission(story=story, update_id=event.update_id, by=event.by, at=event.at)
        case e.SubmissionRejected():
            return c.RejectSubmission(story=story, update_id=event.update_id, note=event.note, at=event.at)
        case e.SubmissionApproved():
            return c.ApproveSubmission(
                story=story, update_id=event.update_id, changes=event.changes, at=event.at
            )
        case _:
            assert_never(event)


def replay(story: str, events: Iterable[e.Event], redacted: Container[int] = ()) -> StoryState | None:
    """Fold ``events`` of ``story``, checking each against the rules.

    ``redacted``: the versions whose events lost their text to a redaction (decoded with
    placeholders). The rules look at that text (a correction must change something), so
    such an event is folded without asking them; it must still be about an update. The
    chain binds it, and the redaction that removed its text is itself checked by the rules.

    A command that yields several events (an approval: ``SubmissionApproved`` and the
    ``UpdatePosted`` it publishes) is decided at its first event; the events after it must
    be exactly the rest of what it yields, and the log cannot end before them.

    Raises :class:`IllegalEvent` at the first event ``decide`` would not have produced.
    """
    state: StoryState | None = None
    owed: list[e.Event] = []
    """The rest of the events of the command decided at an earlier event."""
    index = 0
    for index, event in enumerate(events, start=1):
        if isinstance(event, e.StoryOpened) and event.slug != story:
            raise IllegalEvent(index, f"opens story {event.slug!r} inside the log of {story!r}")
        if index in redacted:
            if e.update_id_of(event) is None or isinstance(event, e.UpdateRedacted):
                raise IllegalEvent(index, f"a {event.type} event cannot be redacted")
            owed = owed[1:]
            state = evolve(state, event)
            continue
        if owed:
            if owed[0] != event:
                raise IllegalEvent(index, f"{event.type} is not what the command before it produces")
            owed = owed[1:]
            state = evolve(state, event)
            continue
        try:
            decided = decide(command_for(event, story), state)
        except DomainError as exc:
            raise IllegalEvent(index, f"{event.type} refused by the rules: {exc.detail}") from exc
        if decided[:1] != [event]:
            raise IllegalEvent(index, f"{event.type} is not what the rules produce at this point")
        owed = decided[1:]
        state = evolve(state, event)
    if owed:
        raise IllegalEvent(index + 1, f"the log ends before the {owed[0].type} its last command produces")
    return state
