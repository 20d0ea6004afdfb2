"""The reference story (docs/reference-story.md), played through the command handler, and
an open story to try posting to.

Every step goes through :meth:`Application.handle` with an idempotency key of its own, so
playing the demo again (or finishing one that was interrupted) records nothing twice.
The reference story's times are those of the day it happened, and it ends closed; the open
story (:data:`TRY_SLUG`) is stamped when it is first played and stays live.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import assert_never

from liveblog.api.stories import story_response
from liveblog.api.submissions import submission_response
from liveblog.api.updates import new_update_id, update_response
from liveblog.application import Application, Responder, utc_now
from liveblog.audit.signing import Signer
from liveblog.domain import commands as c
from liveblog.domain.events import UpdateChanges
from liveblog.domain.state import StoryState
from liveblog.domain.values import Claim, ClaimStatus, CorrectionKind, Media, MediaKind, Source, StoryStatus
from liveblog.store.database import Database
from liveblog.store.idempotency import IdempotencyKey
from liveblog.store.tokens import Actor, Role

SLUG = "belgorod-captive-soldiers"
LOCAL = timezone(timedelta(hours=3), "MSK")
DESK = Actor(id="demo-desk", name="Live desk", role=Role.EDITOR)
STANDING_NOTE = "The reports could not be independently verified."


def local(hour: int, minute: int) -> datetime:
    """A time on the day of the story, in Belgorod time (UTC+3)."""
    return datetime(2023, 6, 4, hour, minute, tzinfo=LOCAL)


UNVERIFIED = Claim(status=ClaimStatus.UNVERIFIED)
TELEGRAM = Source(name="Freedom of Russia Legion, Telegram channel")
MINISTRY = Source(name="Russian defence ministry")


@dataclass(frozen=True)
class Step:
    """One editor action. ``make`` builds the command from the ids of earlier posts."""

    name: str
    at: datetime
    make: Callable[[dict[str, str], datetime], c.Command]


def _post(body: str, **fields: object) -> Callable[[dict[str, str], datetime], c.Command]:
    def make(_ids: dict[str, str], at: datetime) -> c.Command:
        return c.PostUpdate(
            story=SLUG, update_id=new_update_id(), body=body, author=DESK.name, at=at, **fields
        )

    return make


def _standing_note(post: str) -> Callable[[dict[str, str], datetime], c.Command]:
    def make(ids: dict[str, str], at: datetime) -> c.Command:
        return c.ChangeVerification(
            story=SLUG, update_id=ids[post], at=at, status=ClaimStatus.UNVERIFIED, note=STANDING_NOTE
        )

    return make


def _responder(command: c.Command) -> Responder:
    """The API's rendering of what ``command`` affects, as the HTTP route would answer."""
    match command:
        case c.PostUpdate():
            return partial(update_response, update_id=command.update_id, status=201)
        case c.CorrectUpdate() | c.ChangeVerification() | c.SetFlags() | c.RetractUpdate() | c.RedactUpdate():
            return partial(update_response, update_id=command.update_id)
        case c.OpenStory() | c.PublishStory() | c.CloseStory() | c.ReopenStory() | c.ReviseStory():
            return story_response
        case c.ApproveSubmission():
            return partial(update_response, update_id=command.update_id, status=201)
        case c.SubmitUpdate():
            return partial(submission_response, submission_id=command.update_id, status=201)
        case c.WithdrawSubmission() | c.RejectSubmission():
            return partial(submission_response, submission_id=command.update_id)
        case _:
            assert_never(command)


def steps() -> Iterator[Step]:
    yield Step(
        "open",
        local(13, 30),
        lambda ids, at: c.OpenStory(
            story=SLUG,
            at=at,
            publish=True,
            title="Fighters say they hold two Russian soldiers captive in Belgorod region",
            summary="Anti-Kremlin Russian fighters who crossed from Ukraine say they captured two "
            "soldiers and want to trade them for a meeting with the regional governor.",
        ),
    )
    yield Step(
        "claim",
        local(13, 45),
        _post(
            "Two armed groups of Russians fighting on Kyiv's side, the **Freedom of Russia Legion** and "
            "the **Russian Volunteer Corps**, say they have captured two Russian soldiers. They offer to "
            "hand them over in exchange for a meeting with the governor of Belgorod region.",
            sources=(TELEGRAM,),
            verification=UNVERIFIED,
        ),
    )
    yield Step(
        "deadline",
        local(14, 0),
        _post(
            "In a video, a man who says he commands the Russian Volunteer Corps tells Governor "
            "Vyacheslav Gladkov to come to the village of Novaya Tavolzhanka before 5 p.m. GMT if he "
            "wants the two captives handed to him.",
            key_event=True,
            sources=(TELEGRAM,),
            verification=UNVERIFIED,
            media=(
                Media(
                    kind=MediaKind.VIDEO, url="https://t.me/s/legionoffreedom", caption="The fighters' video"
                ),
            ),
        ),
    )
    yield Step(
        "fix-deadline",
        local(16, 34),
        lambda ids, at: c.CorrectUpdate(
            story=SLUG,
            update_id=ids["deadline"],
            at=at,
            kind=CorrectionKind.CORRECTION,
            changes=UpdateChanges(
                body=(
                    "In a video, a man who says he commands the Russian Volunteer Corps tells Governor "
                    "Vyacheslav Gladkov to come to the village of Novaya Tavolzhanka before 17:00 local "
                    "time (14:00 GMT) if he wants the two captives handed to him."
                )
            ),
            reason="Deadline converted to GMT by mistake; the statement gives local time.",
            note="An earlier version of this update said the deadline was 5 p.m. GMT. It was 17:00 "
            "local time, which is 14:00 GMT.",
        ),
    )
    yield Step(
        "captives",
        local(16, 38),
        _post(
            "The video shows the two captives. One of them seems to be wounded and is lying on an "
            "operating table.",
            verification=UNVERIFIED,
        ),
    )
    yield Step(
        "ministry",
        local(16, 45),
        _post(
            "Russia's defence ministry says its artillery pushed back the latest attempt to cross the "
            'border. It calls the groups "terrorists" working for Kyiv.',
            sources=(MINISTRY,),
            verification=UNVERIFIED,
        ),
    )
    yield Step(
        "no-reaction",
        local(16, 50),
        _post("There has been no immediate response from Gladkov or from Moscow."),
    )
    yield Step(
        "denial",
        local(16, 55),
        _post(
            "Ukraine denies that it is directly involved and says the raids are a consequence of "
            "Russia's invasion.",
        ),
    )
    yield Step(
        "duplicate",
        local(16, 57),
        _post(
            "Ukraine denies that it is directly involved and says the raids are a consequence of "
            "Russia's invasion.",
        ),
    )
    yield Step(
        "retract-duplicate",
        local(16, 58),
        lambda ids, at: c.RetractUpdate(
            story=SLUG,
            update_id=ids["duplicate"],
            at=at,
            reason="Posted twice by mistake.",
            note="This update duplicated an earlier one and has been withdrawn.",
        ),
    )
    yield Step(
        "governor",
        local(17, 2),
        _post(
            "About three hours after the fighters' video, Gladkov says in a video message that he will "
            "meet the group at the Shebekino checkpoint between 17:00 and 18:00 if the soldiers are "
            "alive, and guarantees their safety. He adds that they have most likely been killed.",
            key_event=True,
            pinned=True,
        ),
    )
    yield Step(
        "retitle",
        local(17, 6),
        lambda ids, at: c.ReviseStory(
            story=SLUG,
            at=at,
            title="Belgorod governor says he is ready to meet the group holding two soldiers",
            summary="Governor Vyacheslav Gladkov offers to meet the anti-Kremlin fighters at a border "
            "checkpoint if the two captured soldiers are alive, but says they have probably been killed.",
            reason="The governor has answered the fighters.",
        ),
    )
    yield Step(
        "clarify-no-reaction",
        local(17, 10),
        lambda ids, at: c.CorrectUpdate(
            story=SLUG,
            update_id=ids["no-reaction"],
            at=at,
            kind=CorrectionKind.CLARIFICATION,
            changes=UpdateChanges(
                body=(
                    "There was no immediate response from Gladkov or from Moscow. The governor has since "
                    "responded: see the update on his video message."
                )
            ),
            reason="Overtaken by the governor's video message.",
            note="Gladkov has since responded; see the update on his video message.",
        ),
    )
    yield Step(
        "fighting",
        local(17, 40),
        _post(
            'Gladkov says fighting with a group of "Ukrainian saboteurs" is under way in Novaya '
            "Tavolzhanka. He gives no details.",
        ),
    )
    yield Step(
        "repelled",
        local(19, 15),
        _post(
            "Russia's defence ministry says its forces have broken up the group and pushed the "
            "fighters back into Ukraine.",
            key_event=True,
            sources=(MINISTRY,),
            verification=UNVERIFIED,
        ),
    )
    yield Step(
        "unpin-governor",
        local(19, 16),
        lambda ids, at: c.SetFlags(
            story=SLUG,
            update_id=ids["governor"],
            at=at,
            pinned=False,
        ),
    )
    yield Step(
        "shelling",
        local(20, 30),
        _post(
            "Gladkov says Ukrainian forces shelled the region overnight. Two people were killed on "
            "Saturday evening and hundreds of children have been moved away from the border, he said on Sunday.",
        ),
    )
    yield Step(
        "shelling-wording",
        local(20, 36),
        lambda ids, at: c.CorrectUpdate(
            story=SLUG,
            update_id=ids["shelling"],
            at=at,
            kind=CorrectionKind.MINOR,
            changes=UpdateChanges(
                body=(
                    "Gladkov says Ukrainian forces shelled the region overnight. Two people were killed on "
                    "Saturday evening and hundreds of children have been moved away from the border, he said "
                    "earlier on Sunday."
                )
            ),
            reason="Wording: the governor spoke earlier in the day.",
        ),
    )
    for offset, key in enumerate(("claim", "deadline", "captives", "ministry", "repelled")):
        yield Step(
            f"standing-note-{key}",
            local(21, 30 + offset),
            _standing_note(key),
        )
    yield Step(
        "standing-note",
        local(21, 40),
        _post(
            f"**Note to readers:** {STANDING_NOTE} Claims by the fighters, the governor and the defence "
            "ministry are reported as they were made.",
            pinned=True,
        ),
    )
    yield Step("close", local(23, 30), lambda ids, at: c.CloseStory(story=SLUG, at=at))


async def play(
    database: Database, *, signer: Signer | None = None, progress: Callable[[str], None] = lambda _name: None
) -> dict[str, str]:
    """Play every step (skipping those already played); returns the update ids by step name.

    The log records each step at the time it happened on the day, so questions such as "what
    did the page say at 16:30?" can be asked of the demo.
    """
    now = [local(0, 0)]
    application = Application(database, signer=signer, clock=lambda: now[0])
    ids: dict[str, str] = {}
    for step in steps():
        now[0] = step.at
        command = step.make(ids, step.at)
        key = IdempotencyKey(scope=DESK.id, key=f"demo:{SLUG}:{step.name}", fingerprint=step.name)
        outcome = await application.handle(command, DESK, _responder(command), idempotency_key=key)
        if isinstance(command, c.PostUpdate):
            ids[step.name] = json.loads(outcome.response.body)["id"]
        progress(step.name)
    return ids


STEP_COUNT = sum(1 for _ in steps())


# ------------------------------------------------------------------ the open story

TRY_SLUG = "try-liveblog"
TRY_TITLE = "Try liveblog: post to this story"


def try_commands(at: datetime) -> Iterator[tuple[str, c.Command]]:
    """The open story's steps, by name: opened live, with two updates to start from."""
    yield (
        "open",
        c.OpenStory(
            story=TRY_SLUG,
            at=at,
            publish=True,
            title=TRY_TITLE,
            summary="A live story to try liveblog on: post an update with the editor token that "
            "make run printed, and watch this page change by itself.",
        ),
    )
    yield (
        "welcome",
        c.PostUpdate(
            story=TRY_SLUG,
            update_id=new_update_id(),
            author=DESK.name,
            at=at,
            body="**Welcome.** This story is open. Post to it with the `curl` or the `liveblog-client` "
            "line that `make run` printed: your update appears on this page the moment it is "
            "recorded, without a reload.",
        ),
    )
    yield (
        "how-it-works",
        c.PostUpdate(
            story=TRY_SLUG,
            update_id=new_update_id(),
            author=DESK.name,
            at=at,
            body="Every action (a post, a correction, a retraction, a pin) is an event in the story's "
            "log: *Every change to this story*, above, shows them all with their diffs. The reference "
            "story, `/stories/belgorod-captive-soldiers`, shows a whole day of coverage.",
        ),
    )


TRY_STEP_COUNT = sum(1 for _ in try_commands(local(0, 0)))


async def play_try_story(
    database: Database, *, signer: Signer | None = None, clock: Callable[[], datetime] = utc_now
) -> StoryState:
    """Play the open story (skipping the steps already played) and leave it live: reopened
    if someone closed it since. Returns its state."""
    application = Application(database, signer=signer, clock=clock)
    for name, command in try_commands(clock()):
        key = IdempotencyKey(scope=DESK.id, key=f"demo:{TRY_SLUG}:{name}", fingerprint=name)
        await application.handle(command, DESK, _responder(command), idempotency_key=key)
    async with database.read() as connection:
        state = await application.load(connection, TRY_SLUG)
    assert state is not None
    if state.status is StoryStatus.CLOSED:
        outcome = await application.handle(c.ReopenStory(story=TRY_SLUG, at=clock()), DESK, story_response)
        async with database.read() as connection:
            state = await application.load(connection, TRY_SLUG)
        assert state is not None and outcome.response.status == 200
    return state
