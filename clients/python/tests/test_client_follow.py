"""``follow()``: every version once and in order, live, across lost connections, "too slow"
closes and server restarts; a reset announced as a Resync."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from lbc_support import REFERENCE_SLUG, Server
from websockets.asyncio.server import ServerConnection, serve

from liveblog_client import AsyncClient, Backoff, Client, LiveEvent, NewStory, NewUpdate, NotFound, Resync
from liveblog_client.follow import FollowItem

QUICK = Backoff(initial=0.05, maximum=0.5)


async def collect(items: AsyncIterator[FollowItem], into: list[FollowItem]) -> list[FollowItem]:
    async for item in items:
        into.append(item)
    return into


def versions(items: list[FollowItem]) -> list[int]:
    return [item.version for item in items if isinstance(item, LiveEvent)]


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_follow_yields_each_event_live_in_order(lb_server: Server, lb_slug: str) -> None:
    async with (
        AsyncClient(lb_server.url, lb_server.token("editor")) as editor,
        AsyncClient(lb_server.url) as reader,
    ):
        await editor.open_story(NewStory(title="Marathon", slug=lb_slug, publish=True))
        seen: list[FollowItem] = []
        following = asyncio.create_task(collect(reader.follow(lb_slug, until_version=6, backoff=QUICK), seen))
        await until(lambda: len(seen) >= 2)  # the two events before it connected, replayed
        posted = [
            await editor.post_update(lb_slug, NewUpdate(body=f"Kilometre {k}")) for k in (10, 20, 30, 40)
        ]
        items = await asyncio.wait_for(following, 60)
    assert versions(items) == [1, 2, 3, 4, 5, 6]
    events = [item for item in items if isinstance(item, LiveEvent)]
    assert [e.event for e in events] == ["StoryOpened", "StoryPublished"] + ["UpdatePosted"] * 4
    assert [e.update.id for e in events[2:] if e.update] == [u.id for u in posted]
    assert events[-1].story.version == 6 and events[0].update is None


async def test_follow_resumes_across_server_restarts_without_loss_or_repeat(
    lb_fresh_server: Server, lb_slug: str
) -> None:
    server = lb_fresh_server
    with Client(server.url, server.token("editor")) as editor:
        editor.open_story(NewStory(title="Summit", slug=lb_slug, publish=True))
        async with AsyncClient(server.url) as reader:
            seen: list[FollowItem] = []
            following = asyncio.create_task(
                collect(reader.follow(lb_slug, until_version=10, backoff=QUICK), seen)
            )
            for n in (1, 2):
                editor.post_update(lb_slug, NewUpdate(body=f"Before the restart, {n}"))
            await until(lambda: versions(seen) == [1, 2, 3, 4])

            await asyncio.to_thread(server.restart)
            # Posted at once: the reader is still away, and must get them from the log.
            for n in (1, 2, 3):
                await asyncio.to_thread(
                    editor.post_update, lb_slug, NewUpdate(body=f"After the restart, {n}")
                )
            await until(lambda: versions(seen) == list(range(1, 8)))

            await asyncio.to_thread(server.restart)
            for n in (1, 2, 3):
                await asyncio.to_thread(editor.post_update, lb_slug, NewUpdate(body=f"After another, {n}"))
            items = await asyncio.wait_for(following, 90)
    assert versions(items) == list(range(1, 11))
    assert not any(isinstance(item, Resync) for item in items)


async def test_a_reset_is_announced_as_a_resync(lb_server: Server, lb_slug: str) -> None:
    async with AsyncClient(lb_server.url, lb_server.token("editor")) as editor:
        await editor.open_story(NewStory(title="Comet", slug=lb_slug, publish=True))
        # Version 50 is ahead of the log: the server cannot serve it and says reset.
        items = editor.follow(lb_slug, after=50, backoff=QUICK)
        resync = await asyncio.wait_for(anext(items), 60)
        await editor.post_update(lb_slug, NewUpdate(body="Visible tonight."))
        posted = await asyncio.wait_for(anext(items), 60)
        await items.aclose()
    assert isinstance(resync, Resync) and resync.story.version == 2
    assert isinstance(posted, LiveEvent) and (posted.version, posted.event) == (3, "UpdatePosted")


async def test_follow_refusals_are_typed_errors_not_retried(lb_server: Server, lb_slug: str) -> None:
    async with (
        AsyncClient(lb_server.url, lb_server.token("editor")) as editor,
        AsyncClient(lb_server.url) as reader,
    ):
        with pytest.raises(NotFound):
            await anext(reader.follow("no-such-story"))
        await editor.open_story(NewStory(title="Draft", slug=lb_slug))
        with pytest.raises(NotFound):
            await anext(reader.follow(lb_slug))  # a draft: editors only
        first = await anext(editor.follow(lb_slug))
    assert isinstance(first, LiveEvent) and first.event == "StoryOpened"


def test_the_sync_client_follows_too(lb_server: Server) -> None:
    with Client(lb_server.url) as reader:
        items = list(reader.follow(REFERENCE_SLUG, after=20, until_version=26))
    assert versions(items) == [21, 22, 23, 24, 25, 26]
    assert isinstance(items[-1], LiveEvent) and items[-1].event == "StoryClosed"


# ----------------------------------------------------- a scripted server, for the edge cases

HEADER = {
    "slug": "scripted",
    "title": "Scripted",
    "summary": "",
    "status": "live",
    "language": "en",
    "revision": 1,
    "opened_at": "2024-01-01T00:00:00Z",
    "published_at": "2024-01-01T00:00:00Z",
    "updated_at": "2024-01-01T00:00:00Z",
    "closed_at": None,
}


def event(version: int) -> str:
    return json.dumps(
        {
            "type": "event",
            "version": version,
            "event": "StoryRevised",
            "at": "2024-01-01T00:00:00Z",
            "story": {**HEADER, "version": version},
            "update": None,
        }
    )


def hello(version: int) -> str:
    return json.dumps({"type": "hello", "story": "scripted", "version": version})


async def scripted_server(sessions: list[tuple[list[str], int]], afters: list[int]) -> AsyncIterator[str]:
    """A WebSocket server that plays one (messages, close code) session per connection and
    records each connection's ``after``."""

    async def handler(connection: ServerConnection) -> None:
        assert connection.request is not None
        afters.append(int(parse_qs(urlsplit(connection.request.path).query)["after"][0]))
        messages, code = sessions.pop(0)
        for message in messages:
            await connection.send(message)
        await connection.close(code)

    async with serve(handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}"


async def test_repeats_are_dropped_and_gaps_refetched() -> None:
    afters: list[int] = []
    heartbeat, unknown = json.dumps({"type": "heartbeat", "version": 6}), json.dumps({"type": "news"})
    sessions = [
        # starts at 2 (1 is not for this reader), repeats 2, then 5 with 4 missing: reconnect after 3
        ([hello(5), event(2), event(3), event(2), event(5)], 1000),
        # closed as too slow after version 5: reconnect after 5
        ([hello(5), event(4), event(5)], 4008),
        ([hello(6), heartbeat, unknown, event(6)], 1000),
    ]
    scripted = scripted_server(sessions, afters)
    url = await anext(scripted)
    try:
        async with AsyncClient(url) as reader:
            items = await collect(reader.follow("scripted", until_version=6, backoff=QUICK), [])
    finally:
        await scripted.aclose()
    assert versions(items) == [2, 3, 4, 5, 6]
    assert afters == [0, 3, 5]


async def test_a_refusal_close_code_is_a_typed_error() -> None:
    afters: list[int] = []
    scripted = scripted_server([([], 4404)], afters)
    url = await anext(scripted)
    try:
        async with AsyncClient(url) as reader:
            with pytest.raises(NotFound):
                await anext(reader.follow("scripted", backoff=QUICK))
    finally:
        await scripted.aclose()
    assert afters == [0]
