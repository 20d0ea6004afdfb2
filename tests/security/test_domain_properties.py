"""Issue item 6 (second half): hypothesis properties of the domain.

For any sequence of commands, built by a small interpreter over the ids that exist (and
some that do not), with clocks that may run backwards and awkward text:

* ``decide`` either raises a :class:`~liveblog.errors.DomainError` or returns events;
* ``evolve`` never raises, and every event advances ``version`` by one;
* every event survives the store's round trip (``event_data`` → JSON → ``event_from_data``);
* :func:`liveblog.domain.replay.replay` accepts every sequence so produced, and ends in the
  same state as folding it.

And for arbitrary events (not produced by ``decide``): ``evolve`` is total, and ``replay``
either accepts the sequence or raises :class:`IllegalEvent`, nothing else.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pydantic
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveblog.domain import commands as c
from liveblog.domain import events as e
from liveblog.domain.decider import decide, evolve, fold
from liveblog.domain.replay import IllegalEvent, replay
from liveblog.domain.state import StoryState
from liveblog.domain.values import ClaimStatus, CorrectionKind, MediaKind
from liveblog.errors import DomainError

SLUG = "prop-story"
START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
ZONES = [UTC, timezone(timedelta(hours=3)), timezone(timedelta(hours=-7, minutes=-30))]
TEXTS = [
    "Shelling reported overnight.",
    "Two people were killed.",
    "  padded with spaces  ",
    "e\u0301clair (decomposed)",
    "\u00e9clair (composed)",
    "<script>alert(1)</script>",
    "**bold** and [a link](https://example.org)",
    "ünïcödé ✓ 🚀",
]
NAMES = ["Agency", "Ministry of defence", "  Spaced  ", "Ａｇｅｎｃｙ"]
URLS = [None, "https://example.org/a", "http://example.org/b?c=d#e"]

text = st.one_of(st.sampled_from(TEXTS), st.text(min_size=1, max_size=40))
maybe_text = st.one_of(st.none(), text)
claims = st.builds(
    lambda status, note: {"status": status, "note": note}, st.sampled_from(list(ClaimStatus)), maybe_text
)
sources = st.lists(
    st.builds(lambda n, u: {"name": n, "url": u}, st.sampled_from(NAMES), st.sampled_from(URLS)), max_size=3
)
media = st.lists(
    st.builds(
        lambda k, u, cap: {"kind": k, "url": u, "caption": cap},
        st.sampled_from(list(MediaKind)),
        st.sampled_from(URLS[1:]),
        st.one_of(st.none(), st.just(""), text),
    ),
    max_size=2,
)
moments = st.one_of(
    st.none(),
    st.builds(
        lambda d, z: (START + timedelta(minutes=d)).astimezone(z),
        st.integers(-600, 600),
        st.sampled_from(ZONES),
    ),
)

ACTIONS = [
    "publish",
    "close",
    "reopen",
    "revise",
    "post",
    "post",
    "post",
    "correct",
    "correct",
    "verify",
    "flag",
    "retract",
    "redact",
    "submit",
    "submit",
    "withdraw",
    "approve",
    "approve",
    "reject",
]


def _update_id(data: st.DataObject, known: list[str]) -> str:
    if known and data.draw(st.integers(0, 9), label="pick known") < 8:
        return data.draw(st.sampled_from(known), label="known id")
    return data.draw(st.sampled_from(["u-unknown", "u-0", "x"]), label="other id")


def _revision(data: st.DataObject) -> int | None:
    return data.draw(st.one_of(st.none(), st.none(), st.integers(1, 4)), label="If-Match")


def draw_command(
    data: st.DataObject, at: datetime, known: list[str], posted: int, opened: bool
) -> dict[str, Any]:
    """The keyword arguments of one command (with ``kind``), drawn by a small interpreter:
    mostly an ``OpenStory`` while there is no story, rarely one afterwards."""
    if not opened and data.draw(st.sampled_from([True] * 9 + [False]), label="open first?"):
        action = "open"
    else:
        action = data.draw(st.sampled_from([*ACTIONS, "open"]), label="action")
    base: dict[str, Any] = {"story": SLUG, "at": at}
    if action == "open":
        return {
            "kind": c.OpenStory,
            **base,
            "title": data.draw(text),
            "summary": data.draw(st.sampled_from(["", *TEXTS])),
            "language": data.draw(st.sampled_from(["en", "uk", "pt-BR"])),
            "publish": data.draw(st.booleans()),
        }
    if action in ("publish", "close", "reopen"):
        kind = {"publish": c.PublishStory, "close": c.CloseStory, "reopen": c.ReopenStory}[action]
        return {"kind": kind, **base}
    if action == "revise":
        return {
            "kind": c.ReviseStory,
            **base,
            "title": data.draw(maybe_text),
            "summary": data.draw(maybe_text),
            "reason": data.draw(maybe_text),
            "expected_revision": _revision(data),
        }
    if action == "submit":
        fresh = data.draw(st.sampled_from([f"s-{posted}", f"s-{posted}", *known[:1]]), label="new id")
        return {
            "kind": c.SubmitUpdate,
            **base,
            "update_id": fresh,
            "submitted_by": data.draw(st.sampled_from(["tok-a", "tok-b"])),
            "author": "Field",
            "body": data.draw(text),
            "verification": data.draw(st.one_of(st.none(), claims)),
        }
    if action in ("withdraw", "approve", "reject"):
        target_id = {"story": SLUG, "at": at, "update_id": _update_id(data, known)}
        if action == "withdraw":
            return {
                "kind": c.WithdrawSubmission,
                **target_id,
                "by": data.draw(st.sampled_from(["tok-a", "tok-b"])),
            }
        if action == "reject":
            return {"kind": c.RejectSubmission, **target_id, "note": data.draw(text)}
        changes = {
            "body": data.draw(maybe_text),
            "byline": data.draw(st.one_of(st.none(), st.just(""), text)),
        }
        return {"kind": c.ApproveSubmission, **target_id, "changes": changes}
    if action == "post":
        fresh = data.draw(st.sampled_from([f"u-{posted}", f"u-{posted}", *known[:1]]), label="new id")
        return {
            "kind": c.PostUpdate,
            **base,
            "update_id": fresh,
            "body": data.draw(text),
            "author": "Prop Editor",
            "byline": data.draw(maybe_text),
            "sources": data.draw(sources),
            "verification": data.draw(st.one_of(st.none(), claims)),
            "key_event": data.draw(st.booleans()),
            "pinned": data.draw(st.booleans()),
            "occurred_at": data.draw(moments),
            "media": data.draw(media),
        }
    target = {
        "story": SLUG,
        "at": at,
        "update_id": _update_id(data, known),
        "expected_revision": _revision(data),
    }
    if action == "correct":
        changes = {
            "body": data.draw(maybe_text),
            "byline": data.draw(st.one_of(st.none(), st.just(""), text)),
            "sources": data.draw(st.one_of(st.none(), sources)),
            "occurred_at": data.draw(moments),
            "media": data.draw(st.one_of(st.none(), media)),
        }
        return {
            "kind": c.CorrectUpdate,
            **target,
            "changes": changes,
            "kind_": data.draw(st.sampled_from(list(CorrectionKind))),
            "reason": data.draw(text),
            "note": data.draw(maybe_text),
        }
    if action == "verify":
        return {
            "kind": c.ChangeVerification,
            **target,
            "status": data.draw(st.sampled_from(list(ClaimStatus))),
            "note": data.draw(maybe_text),
        }
    if action == "flag":
        return {
            "kind": c.SetFlags,
            **target,
            "pinned": data.draw(st.one_of(st.none(), st.booleans())),
            "key_event": data.draw(st.one_of(st.none(), st.booleans())),
        }
    if action == "redact":
        return {
            "kind": c.RedactUpdate,
            **target,
            "legal_basis": data.draw(text),
            "note": data.draw(text),
            "reason": data.draw(text),
        }
    return {"kind": c.RetractUpdate, **target, "reason": data.draw(text), "note": data.draw(text)}


def build(arguments: dict[str, Any]) -> c.Command | None:
    """The command, or ``None`` when its values are not acceptable to the command model
    (that is validation at the edge, not a rule of the domain)."""
    arguments = dict(arguments)
    kind = arguments.pop("kind")
    if "kind_" in arguments:
        arguments["kind"] = arguments.pop("kind_")
    try:
        command: c.Command = kind(**arguments)
    except pydantic.ValidationError:
        return None
    return command


def stored_form(event: e.Event) -> e.Event:
    """The event as it comes back from the store."""
    return e.event_from_data(event.type, json.loads(json.dumps(e.event_data(event))))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_command_sequences_only_produce_events_the_rules_accept(data: st.DataObject) -> None:
    state: StoryState | None = None
    log: list[e.Event] = []
    known: list[str] = []
    at = START
    steps = data.draw(st.integers(1, 30), label="steps")
    for _ in range(steps):
        # The clock mostly moves on, sometimes stands still or runs backwards (a command
        # stamped before another took the write lock), in any time zone.
        at = at + timedelta(seconds=data.draw(st.integers(-120, 3600), label="clock"))
        moment = at.astimezone(data.draw(st.sampled_from(ZONES)))
        command = build(draw_command(data, moment, known, len(log), state is not None))
        if command is None:
            continue
        try:
            decided = decide(command, state)
        except DomainError:
            continue
        assert isinstance(decided, list)
        for event in decided:
            before = state.version if state is not None else 0
            state = evolve(state, event)  # must not raise
            assert state is not None and state.version == before + 1
            assert stored_form(event) == event
            log.append(event)
            if isinstance(event, e.UpdatePosted | e.UpdateSubmitted):
                known.append(event.update_id)
    assert replay(SLUG, log) == fold(None, log) == state
    assert replay(SLUG, [stored_form(event) for event in log]) == state


# ------------------------------------------------------------------ arbitrary events


def _event(data: st.DataObject, at: datetime, ids: list[str]) -> e.Event | None:
    kind = data.draw(
        st.sampled_from(
            [
                "open",
                "published",
                "revised",
                "closed",
                "reopened",
                "posted",
                "corrected",
                "verified",
                "flags",
                "retracted",
                "redacted",
            ]
        )
    )
    update_id = data.draw(st.sampled_from([*ids, "u-0", "u-1", "zz"]))
    try:
        match kind:
            case "open":
                return e.StoryOpened(
                    slug=data.draw(st.sampled_from([SLUG, "elsewhere"])),
                    title=data.draw(text),
                    summary="",
                    language="en",
                    at=at,
                )
            case "published":
                return e.StoryPublished(at=at)
            case "revised":
                return e.StoryRevised(
                    title=data.draw(maybe_text), summary=data.draw(maybe_text), reason=None, at=at
                )
            case "closed":
                return e.StoryClosed(at=at)
            case "reopened":
                return e.StoryReopened(at=at)
            case "posted":
                return e.UpdatePosted(
                    update_id=update_id,
                    body=data.draw(text),
                    author="A",
                    at=at,
                    pinned=data.draw(st.booleans()),
                )
            case "corrected":
                return e.UpdateCorrected(
                    update_id=update_id,
                    kind=data.draw(st.sampled_from(list(CorrectionKind))),
                    changes=e.UpdateChanges(
                        body=data.draw(maybe_text), byline=data.draw(st.one_of(st.none(), st.just("")))
                    ),
                    reason="r",
                    note=data.draw(maybe_text),
                    at=at,
                )
            case "verified":
                return e.VerificationChanged(
                    update_id=update_id, status=data.draw(st.sampled_from(list(ClaimStatus))), at=at
                )
            case "flags":
                return e.UpdateFlagsChanged(
                    update_id=update_id, pinned=data.draw(st.one_of(st.none(), st.booleans())), at=at
                )
            case "redacted":
                return e.UpdateRedacted(update_id=update_id, legal_basis="b", note="n", reason="r", at=at)
            case _:
                return e.UpdateRetracted(update_id=update_id, reason="r", note="n", at=at)
    except pydantic.ValidationError:
        return None


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data())
def test_evolve_is_total_and_replay_only_ever_refuses_with_illegal_event(data: st.DataObject) -> None:
    state: StoryState | None = None
    log: list[e.Event] = []
    ids: list[str] = []
    at = START
    for _ in range(data.draw(st.integers(1, 30))):
        at = at + timedelta(seconds=data.draw(st.integers(-600, 600)))
        event = _event(data, at, ids)
        if event is None:
            continue
        before = state
        state = evolve(state, event)  # total: never raises
        if before is not None:
            assert state is not None and state.version == before.version + 1
        if isinstance(event, e.UpdatePosted):
            ids.append(event.update_id)
        log.append(event)
    assert fold(None, log) == state
    try:
        replayed = replay(SLUG, log)
    except IllegalEvent:
        return
    assert replayed == state
