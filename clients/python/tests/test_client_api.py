"""The sync and async clients against a real server: every resource as a typed model, every
problem as a typed error, and retries that never post twice."""

from __future__ import annotations

import io
import json
from datetime import datetime

import httpx
import pytest
from lbc_support import Server

from liveblog_client import (
    AsyncClient,
    Backoff,
    Changes,
    Claim,
    Client,
    Conflict,
    ConnectionFailed,
    Correction,
    Flags,
    Forbidden,
    NewStory,
    NewUpdate,
    NotFound,
    Retraction,
    RetryPolicy,
    RevisionConflict,
    ServerError,
    StoryPatch,
    Unauthenticated,
    ValidationFailed,
)
from liveblog_client.models import (
    ClaimStatus,
    CorrectionKind,
    Media,
    MediaKind,
    Source,
    StoryStatus,
    UpdateStatus,
)

FAST = RetryPolicy(attempts=4, backoff=Backoff(initial=0.01, maximum=0.05))


def test_a_social_embed_is_posted_read_and_sent_back_as_read(lb_server: Server, lb_slug: str) -> None:
    with Client(lb_server.url, lb_server.token("editor")) as editor:
        editor.open_story(NewStory(title="Embeds", slug=lb_slug, publish=True))
        posted = editor.post_update(
            lb_slug,
            NewUpdate(
                body="A video.", media=[Media(kind=MediaKind.EMBED, url="https://youtu.be/dQw4w9WgXcQ?t=5")]
            ),
        )
        [embed] = posted.media
        assert (embed.kind, embed.provider) == (MediaKind.EMBED, "youtube")
        assert embed.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=5s"
        assert embed.embed_url == "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=5"
        # What was read goes back as it is (embed_url is the server's, never sent).
        telegram = Media(kind=MediaKind.EMBED, url="https://t.me/legionoffreedom/1234", caption="Earlier")
        corrected = editor.correct(
            lb_slug,
            posted.id,
            Correction(changes=Changes(media=[embed, telegram]), kind=CorrectionKind.MINOR, reason="add"),
            if_match=posted.revision,
        )
        assert [m.provider for m in corrected.media] == ["youtube", "telegram"]
        with pytest.raises(ValidationFailed) as refused:
            editor.post_update(
                lb_slug, NewUpdate(body="x", media=[Media(kind=MediaKind.EMBED, url="javascript:alert(1)")])
            )
        assert "only https" in json.dumps(refused.value.errors)


def test_a_story_is_written_and_read_through_the_sync_client(lb_server: Server, lb_slug: str) -> None:
    with Client(lb_server.url, lb_server.token("editor")) as editor, Client(lb_server.url) as reader:
        draft = editor.open_story(
            NewStory(title="Floods in the valley", summary="Rivers rise.", slug=lb_slug)
        )
        assert (draft.slug, draft.status, draft.version) == (lb_slug, StoryStatus.DRAFT, 1)
        with pytest.raises(NotFound):
            reader.story(lb_slug)  # a draft is not for readers
        assert editor.publish_story(lb_slug).status is StoryStatus.LIVE

        posted = editor.post_update(
            lb_slug,
            NewUpdate(
                body="The river is **two metres** above normal.",
                sources=[Source(name="Water agency", url="https://example.org/levels")],
                verification=Claim(status=ClaimStatus.UNVERIFIED),
                media=[
                    Media(kind=MediaKind.IMAGE, url="https://example.org/river.jpg", caption="The bridge")
                ],
                key_event=True,
            ),
        )
        assert posted.revision == 1 and posted.key_event and posted.status is UpdateStatus.PUBLISHED
        assert "<strong>two metres</strong>" in posted.body_html
        assert isinstance(posted.published_at, datetime) and posted.published_at.tzinfo is not None
        assert posted.sources[0].url == "https://example.org/levels"
        assert posted.verification is not None and posted.verification.status is ClaimStatus.UNVERIFIED

        corrected = editor.correct(
            lb_slug,
            posted.id,
            Correction(
                changes=Changes(body="The river is **three metres** above normal."),
                kind=CorrectionKind.CORRECTION,
                reason="Misread the gauge.",
                note="An earlier version said two metres.",
            ),
            if_match=1,
        )
        assert corrected.revision == 2 and corrected.notes[0].note == "An earlier version said two metres."
        confirmed = editor.set_verification(
            lb_slug, posted.id, Claim(status=ClaimStatus.CONFIRMED, note="Gauge seen")
        )
        assert confirmed.verification is not None and confirmed.verification.status is ClaimStatus.CONFIRMED
        assert editor.set_flags(lb_slug, posted.id, Flags(pinned=True)).pinned

        second = editor.post_update(lb_slug, NewUpdate(body="Posted by mistake."))
        retracted = editor.retract(lb_slug, second.id, Retraction(reason="Mistake.", note="Withdrawn."))
        assert retracted.status is UpdateStatus.RETRACTED and retracted.retraction is not None

        revised = editor.revise_story(lb_slug, StoryPatch(title="Floods: river at record height"), if_match=2)
        assert revised.title == "Floods: river at record height" and revised.revision == 3

        story = reader.story(lb_slug)
        assert [u.id for u in story.pinned] == [posted.id]
        assert {u.id for u in story.updates} == {posted.id, second.id}
        assert reader.update(lb_slug, posted.id).revision == 4
        first_page = reader.updates(lb_slug, limit=1)
        assert len(first_page.items) == 1 and first_page.next is not None
        assert reader.updates(lb_slug, before=first_page.next, limit=1).items[0].id == posted.id
        assert lb_slug in {header.slug for header in reader.stories().items}
        assert (
            reader.story(lb_slug, at_version=3).updates[0].body == "The river is **two metres** above normal."
        )

        revisions = reader.history(lb_slug, posted.id).items
        assert [r.kind for r in revisions] == ["posted", "correction", "verification", "flags"]
        assert {op.op for op in revisions[1].diff["body"]} == {"equal", "delete", "insert"}
        assert revisions[1].reason is None  # internal reasons are for staff
        assert editor.history(lb_slug, posted.id).items[1].reason == "Misread the gauge."
        headline = [r.version for r in editor.revisions(lb_slug).items]
        assert headline == [1, 2, 9]
        public = [r.version for r in reader.revisions(lb_slug).items]
        assert public == headline[-len(public) :] and 9 in public  # readers: perhaps not the draft

        assert editor.close_story(lb_slug).status is StoryStatus.CLOSED
        with pytest.raises(Conflict) as closed:
            editor.post_update(lb_slug, NewUpdate(body="Too late."))
        assert closed.value.status == 409 and "closed" in closed.value.detail
        assert editor.reopen_story(lb_slug).status is StoryStatus.LIVE


async def test_the_async_client_reads_writes_and_audits(lb_server: Server, lb_slug: str) -> None:
    async with (
        AsyncClient(lb_server.url, lb_server.token("editor")) as editor,
        AsyncClient(lb_server.url, lb_server.token("auditor")) as auditor,
    ):
        story = await editor.open_story(NewStory(title="Election night", slug=lb_slug, publish=True))
        update = await editor.post_update(story.slug, NewUpdate(body="Polls have closed."))
        await editor.correct(
            lb_slug,
            update.id,
            Correction(
                changes=Changes(body="Polls have now closed."), kind=CorrectionKind.MINOR, reason="Wording"
            ),
        )
        assert (await editor.update(lb_slug, update.id)).revision == 2

        page = await auditor.events(lb_slug, limit=2)
        assert [e.version for e in page.items] == [1, 2] and page.next == "2"
        rest = await auditor.events(lb_slug, after=2)
        assert [(e.version, e.type) for e in rest.items] == [(3, "UpdatePosted"), (4, "UpdateCorrected")]
        assert rest.items[0].actor is not None and rest.items[0].actor.role == "editor"
        assert rest.items[0].prev_hash == page.items[1].hash

        checkpoint = await auditor.checkpoint(lb_slug)  # signed when the story went live
        assert checkpoint.story == lb_slug and checkpoint.algorithm == "Ed25519"
        assert checkpoint.key_id in {key.id for key in (await auditor.keys()).items}

        sink = io.BytesIO()
        written = await auditor.export(lb_slug, sink)
        lines = sink.getvalue().decode().splitlines()
        assert written == len(sink.getvalue()) and json.loads(lines[0])["export"]["version"] == 4
        assert [json.loads(line)["version"] for line in lines[1:5]] == [1, 2, 3, 4]

        with pytest.raises(Forbidden):
            await editor.events(lb_slug)


def test_a_stale_if_match_is_a_revision_conflict(lb_server: Server, lb_slug: str) -> None:
    with Client(lb_server.url, lb_server.token("editor")) as editor:
        editor.open_story(NewStory(title="Storm", slug=lb_slug, publish=True))
        update = editor.post_update(lb_slug, NewUpdate(body="Winds reach 100 km/h."))
        fix = Correction(
            changes=Changes(body="Winds reach 120 km/h."),
            kind=CorrectionKind.CORRECTION,
            reason="r",
            note="n",
        )
        editor.correct(lb_slug, update.id, fix, if_match=1)
        other = Correction(
            changes=Changes(body="Winds reach 130 km/h."),
            kind=CorrectionKind.CORRECTION,
            reason="r",
            note="n",
        )
        with pytest.raises(RevisionConflict) as conflict:
            editor.correct(lb_slug, update.id, other, if_match=1)
        assert conflict.value.status == 412 and conflict.value.current_revision == 2
        with pytest.raises(RevisionConflict):
            editor.revise_story(lb_slug, StoryPatch(title="Storm, again"), if_match=7)
        assert editor.update(lb_slug, update.id).body == "Winds reach 120 km/h."


def test_problems_become_typed_errors(lb_server: Server, lb_slug: str) -> None:
    with (
        Client(lb_server.url, lb_server.token("editor")) as editor,
        Client(lb_server.url) as reader,
        Client(lb_server.url, lb_server.token("auditor")) as auditor,
        Client(lb_server.url, "lb_not-a-token") as stranger,
    ):
        editor.open_story(NewStory(title="Heatwave", slug=lb_slug, publish=True))
        with pytest.raises(Unauthenticated) as missing:
            reader.post_update(lb_slug, NewUpdate(body="x"))
        assert missing.value.problem.type.startswith("urn:liveblog:problem:")
        with pytest.raises(Unauthenticated):
            stranger.story(lb_slug)
        with pytest.raises(Forbidden):
            auditor.post_update(lb_slug, NewUpdate(body="x"))
        with pytest.raises(NotFound):
            reader.story("no-such-story")
        with pytest.raises(NotFound):
            reader.update(lb_slug, "nosuchupdate")
        with pytest.raises(Conflict):
            editor.open_story(NewStory(title="Heatwave", slug=lb_slug))
        with pytest.raises(ValidationFailed) as invalid:
            editor.post_update(lb_slug, NewUpdate(body="   "))
        assert invalid.value.errors and invalid.value.errors[0]["loc"][-1] == "body"
        editor.post_update(lb_slug, NewUpdate(body="Same key"), idempotency_key="k-1")
        with pytest.raises(ValidationFailed) as reused:
            editor.post_update(lb_slug, NewUpdate(body="Another body"), idempotency_key="k-1")
        assert "idempotency" in reused.value.problem.type


class FlakyTransport(httpx.BaseTransport):
    """Passes requests to the server, but fails some: ``lose`` answers (the server did the
    work, the answer never arrives) or ``refuse`` with 503 (the server never saw it)."""

    def __init__(self, *, lose: int = 0, refuse: int = 0) -> None:
        self.inner = httpx.HTTPTransport()
        self.lose, self.refuse = lose, refuse
        self.keys: list[str | None] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return self.inner.handle_request(request)
        self.keys.append(request.headers.get("idempotency-key"))
        if self.refuse:
            self.refuse -= 1
            return httpx.Response(
                503, json={"type": "about:blank", "title": "busy", "status": 503, "detail": ""}
            )
        response = self.inner.handle_request(request)
        if self.lose:
            self.lose -= 1
            response.read()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


def test_a_lost_answer_is_retried_without_a_double_post(lb_server: Server, lb_slug: str) -> None:
    flaky = FlakyTransport(lose=2)
    with Client(lb_server.url, lb_server.token("editor"), retry=FAST, transport=flaky) as editor:
        editor.open_story(NewStory(title="Strike", slug=lb_slug, publish=True))  # answer lost twice
        update = editor.post_update(lb_slug, NewUpdate(body="Trains stop at noon."))
    assert flaky.keys[0] == flaky.keys[1] == flaky.keys[2] != flaky.keys[3]
    with Client(lb_server.url) as reader:
        story = reader.story(lb_slug)
    assert story.version == 3  # opened, published, one post: nothing twice
    assert [u.id for u in story.updates] == [update.id]


def test_a_busy_server_is_retried_with_the_same_key(lb_server: Server, lb_slug: str) -> None:
    flaky = FlakyTransport(refuse=3)
    with Client(lb_server.url, lb_server.token("editor"), retry=FAST, transport=flaky) as editor:
        story = editor.open_story(NewStory(title="Eclipse", slug=lb_slug))
    assert story.slug == lb_slug and len(set(flaky.keys)) == 1 and len(flaky.keys) == 4


def test_retries_give_up_with_a_typed_error(lb_server: Server, lb_slug: str) -> None:
    always_busy = FlakyTransport(refuse=100)
    with (
        Client(lb_server.url, lb_server.token("editor"), retry=FAST, transport=always_busy) as editor,
        pytest.raises(ServerError) as busy,
    ):
        editor.open_story(NewStory(title="Never", slug=lb_slug))
    assert busy.value.status == 503 and len(always_busy.keys) == FAST.attempts
    with Client("http://127.0.0.1:9", retry=FAST) as nowhere, pytest.raises(ConnectionFailed):
        nowhere.stories()


async def test_histories_longer_than_a_page_are_followed_to_the_end(lb_server: Server, lb_slug: str) -> None:
    """The server hands histories out a page at a time (at most 200 revisions): ``history``
    and ``revisions`` still return every one, and the ``_page`` calls give one page."""
    async with (
        AsyncClient(lb_server.url, lb_server.token("editor")) as editor,
        AsyncClient(lb_server.url) as reader,
    ):
        await editor.open_story(NewStory(title="A long night", slug=lb_slug, publish=True))
        update = await editor.post_update(lb_slug, NewUpdate(body="Counting continues."))
        for n in range(230):
            await editor.set_flags(lb_slug, update.id, Flags(pinned=n % 2 == 0))
        for n in range(205):
            await editor.revise_story(lb_slug, StoryPatch(summary=f"Count {n}"))
        history = await reader.history(lb_slug, update.id)
        assert [r.revision for r in history.items] == list(range(1, 232)) and history.next is None
        revisions = await reader.revisions(lb_slug)
        assert [r.revision for r in revisions.items] == list(range(2, 208))  # opened as a draft
        first = await reader.history_page(lb_slug, update.id, limit=100)
        assert len(first.items) == 100 and first.next is not None
        second = await reader.history_page(lb_slug, update.id, after=first.next, limit=100)
        assert second.items[0].revision == 101
        assert len((await reader.revisions_page(lb_slug)).items) == 50  # the server's default page
    with Client(lb_server.url) as sync_reader:
        assert len(sync_reader.history(lb_slug, update.id).items) == 231
        assert len(sync_reader.revisions(lb_slug).items) == 206
        assert len(sync_reader.revisions_page(lb_slug, limit=3).items) == 3
