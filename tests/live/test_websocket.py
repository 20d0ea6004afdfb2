"""Live delivery over WebSocket and SSE: exactly once, in order, across the catch-up seam."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveblog.api.services import Services
from liveblog.live import hub
from tests.api.helpers import open_story, post_update


def ws_url(server_url: str, slug: str, after: int | str = 0) -> str:
    return f"{server_url.replace('http', 'ws', 1)}/api/v1/stories/{slug}/live?after={after}"


async def receive(connection: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(connection.recv(), timeout)))


async def events_until(connection: ClientConnection, version: int) -> list[dict[str, Any]]:
    """Every event message up to ``version`` (heartbeats skipped)."""
    seen: list[dict[str, Any]] = []
    while not seen or seen[-1]["version"] < version:
        message = await receive(connection)
        if message["type"] == "event":
            seen.append(message)
    return seen


async def test_hello_then_every_event_after_the_given_version(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)  # versions 1 and 2
    first = await post_update(client, editor, body="First *update*.")  # 3
    async with connect(ws_url(server_url, "border-raid", after=2)) as connection:
        assert await receive(connection) == {"type": "hello", "story": "border-raid", "version": 3}
        backlog = await receive(connection)
        assert backlog["type"] == "event" and backlog["version"] == 3 and backlog["event"] == "UpdatePosted"
        assert backlog["update"] == first and backlog["story"]["version"] == 3
        fix = await client.post(
            f"/api/v1/stories/border-raid/updates/{first['id']}/corrections",
            json={
                "changes": {"body": "First update, corrected."},
                "kind": "correction",
                "reason": "r",
                "note": "Fixed.",
            },
            headers=editor,
        )
        live_event = await receive(connection)
        assert live_event["version"] == 4 and live_event["event"] == "UpdateCorrected"
        assert live_event["update"] == fix.json()
        assert live_event["update"]["notes"][0]["note"] == "Fixed."
        closing = await client.post("/api/v1/stories/border-raid/close", headers=editor)
        closed = await receive(connection)
        assert closed["update"] is None and closed["story"]["status"] == "closed"
        assert closed["story"] == {k: v for k, v in closing.json().items() if k in closed["story"]}


async def test_the_seam_between_catch_up_and_live_has_no_gap_and_no_duplicate(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    for n in range(5):
        await post_update(client, editor, body=f"Before {n}")  # versions 3..7

    async def keep_posting() -> None:
        for n in range(15):
            await post_update(client, editor, body=f"During {n}")  # versions 8..22

    readers = []
    for after in (0, 4, 7):
        readers.append(await connect(ws_url(server_url, "border-raid", after=after)))
        await asyncio.sleep(0)
    writer = asyncio.create_task(keep_posting())
    late = [await connect(ws_url(server_url, "border-raid", after=after)) for after in (2, 6)]
    await writer
    for connection, after in zip([*readers, *late], (0, 4, 7, 2, 6), strict=True):
        hello = await receive(connection)
        assert hello["type"] == "hello"
        versions = [m["version"] for m in await events_until(connection, 22)]
        assert versions == list(range(after + 1, 23)), f"after={after}"
        await connection.close()


async def test_an_after_ahead_of_the_log_gets_a_reset(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    async with connect(ws_url(server_url, "border-raid", after=99)) as connection:
        assert (await receive(connection))["type"] == "hello"
        assert await receive(connection) == {"type": "reset", "version": 2}
        with pytest.raises(ConnectionClosed):
            await receive(connection)


async def test_an_after_older_than_the_replay_window_gets_a_reset(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hub, "REPLAY", 3)
    await open_story(client, editor)
    for n in range(6):
        await post_update(client, editor, body=f"Update {n}")  # versions 3..8
    async with connect(ws_url(server_url, "border-raid", after=1)) as connection:
        await receive(connection)
        assert await receive(connection) == {"type": "reset", "version": 8}
    async with connect(ws_url(server_url, "border-raid", after=5)) as connection:
        await receive(connection)
        assert [m["version"] for m in await events_until(connection, 8)] == [6, 7, 8]


async def test_sse_carries_the_same_events_with_ids_and_honours_last_event_id(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    await post_update(client, editor, body="One")  # 3
    await post_update(client, editor, body="Two")  # 4
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as http:
        headers = {"Accept": "text/event-stream", "Last-Event-ID": "3"}
        async with http.stream(
            "GET", "/api/v1/stories/border-raid/live?after=0", headers=headers
        ) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = response.aiter_lines()
            block: list[str] = []
            blocks: list[list[str]] = []
            async for line in lines:
                if line:
                    block.append(line)
                    continue
                blocks.append(block)
                block = []
                if len(blocks) == 2:
                    await post_update(client, editor, body="Three")  # 5
                if len(blocks) == 3:
                    break
    assert blocks[0][0] == "event: hello" and json.loads(blocks[0][1][6:])["version"] == 4
    assert blocks[1][:2] == ["id: 4", "event: event"]
    assert json.loads(blocks[1][2][6:])["update"]["body"] == "Two"
    assert blocks[2][:2] == ["id: 5", "event: event"]


async def test_a_plain_get_is_told_how_to_subscribe(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    response = await client.get("/api/v1/stories/border-raid/live")
    assert response.status_code == 400 and "text/event-stream" in response.json()["detail"]


@pytest.mark.parametrize(
    ("slug", "after", "code"),
    [("no-such-story", "0", 4404), ("border-raid", "-1", 4400), ("border-raid", "x", 4400)],
)
async def test_bad_subscriptions_are_closed_with_a_reason(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], slug: str, after: str, code: int
) -> None:
    await open_story(client, editor)
    async with connect(ws_url(server_url, slug, after=after)) as connection:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(connection)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


async def test_drafts_are_not_served_to_readers(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor, publish=False)
    async with connect(ws_url(server_url, "border-raid")) as connection:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(connection)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    async with connect(ws_url(server_url, "border-raid"), additional_headers=editor) as connection:
        assert (await receive(connection))["type"] == "hello"


async def test_a_quiet_connection_gets_heartbeats(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    services.hub.heartbeat_every, services.hub.sweep_every = 0.2, 0.1
    await open_story(client, editor)
    async with connect(ws_url(server_url, "border-raid", after=2)) as connection:
        await receive(connection)
        assert await receive(connection, timeout=5) == {"type": "heartbeat", "version": 2}
        assert await receive(connection, timeout=5) == {"type": "heartbeat", "version": 2}


async def test_a_quiet_sse_stream_gets_heartbeats(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    services.hub.heartbeat_every, services.hub.sweep_every = 0.2, 0.1
    await open_story(client, editor)
    async with (
        httpx.AsyncClient(base_url=server_url, timeout=10) as http,
        http.stream(
            "GET", "/api/v1/stories/border-raid/live?after=2", headers={"Accept": "text/event-stream"}
        ) as response,
    ):
        events = [line async for line in _first_lines(response, 4) if line.startswith("event: ")]
    assert events == ["event: hello", "event: heartbeat"]


async def _first_lines(response: httpx.Response, count: int) -> AsyncIterator[str]:
    seen = 0
    async for line in response.aiter_lines():
        yield line
        seen += 1
        if seen == count:
            return


async def test_a_reader_who_leaves_is_noticed_without_any_send(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    await open_story(client, editor)
    connection = await connect(ws_url(server_url, "border-raid", after=2))
    await receive(connection)
    assert services.hub.reader_count() == 1
    await connection.close()
    for _ in range(200):
        if services.hub.reader_count() == 0:
            break
        await asyncio.sleep(0.01)
    assert services.hub.reader_count() == 0


async def test_a_queue_that_overflows_while_its_sender_waits_closes_with_4008(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    """The sender and the overflow watcher both wake on the same overflow: either way the
    reader learns why it was closed."""
    services.hub.queue_bytes = 100  # smaller than any event message
    await open_story(client, editor)
    for version in range(2, 7):
        async with connect(ws_url(server_url, "border-raid", after=version)) as reader:
            assert (await receive(reader))["type"] == "hello"
            await post_update(client, editor)
            with pytest.raises(ConnectionClosed) as closed:
                await receive(reader)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008


async def test_a_reader_who_never_reads_is_closed_with_4008_and_others_get_everything(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    # Small enough that the stalled reader overflows well within the burst (~10 MB against
    # ~4 MB of socket buffers), large enough that the healthy reader's queue holds the few
    # ~35 kB events a busy hub may hand it in one batch.
    services.hub.queue_bytes = 256 * 1024
    await open_story(client, editor)
    stalled = await connect(ws_url(server_url, "border-raid", after=2), max_queue=1)
    healthy = await connect(ws_url(server_url, "border-raid", after=2))
    reading = asyncio.create_task(events_until(healthy, 302))
    body = "A long update that fills buffers. " * 500  # ~17 kB per message
    for _ in range(300):  # ~10 MB: more than the socket buffers and the 256 kB queue
        await post_update(client, editor, body=body)
    versions = [m["version"] for m in await reading]
    assert versions == list(range(3, 303))
    last = 2
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            message = await receive(stalled)
            if message["type"] == "event":
                assert message["version"] == last + 1
                last = message["version"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4008
    assert last < 302
    async with connect(ws_url(server_url, "border-raid", after=last)) as resumed:
        await receive(resumed)
        assert [m["version"] for m in await events_until(resumed, 302)] == list(range(last + 1, 303))
    await healthy.close()


async def test_a_connect_to_a_followed_story_reads_nothing_from_the_database(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    """Issue #17 part 4: admission (the story exists and is readable) and the backlog come
    from the hub's memory once the story is followed in this process."""
    from tests.sql_count import StatementCounter

    await open_story(client, editor)  # versions 1 and 2
    await post_update(client, editor)  # 3
    async with connect(ws_url(server_url, "border-raid", after=2)) as first:
        assert (await receive(first))["type"] == "hello"
        assert (await receive(first))["version"] == 3
        with StatementCounter(services.database) as counter:
            async with connect(ws_url(server_url, "border-raid", after=2)) as second:
                assert await receive(second) == {"type": "hello", "story": "border-raid", "version": 3}
                assert (await receive(second))["version"] == 3
        assert counter.statements == []
    # A story nobody follows here is checked in the store, and a missing one is still 4404.
    async with connect(ws_url(server_url, "no-such-story", after=0)) as missing:
        with pytest.raises(ConnectionClosed) as closed:
            await receive(missing)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
