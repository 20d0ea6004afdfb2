"""The GRIP tier for real: a ``liveblog serve`` with ``LIVEBLOG_LIVE_TIER=grip`` behind
Debian's Pushpin, readers connecting through Pushpin over SSE and WebSocket.

One Pushpin and one server for the module (each test writes a story of its own); the
publish endpoint liveblog is given is a relay (:class:`tests.live.pushpin.PublishRelay`)
that can lose a message, to show that Pushpin recovers it from the origin.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveblog.live import grip
from liveblog.store import tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.helpers import open_story, post_update
from tests.live.processes import ServerProcess
from tests.live.pushpin import PublishRelay, Pushpin

TIMEOUT = 30.0  # seconds for a frame that must come; generous, the machine is shared


@dataclass
class Tier:
    origin: str
    proxy: str
    relay: PublishRelay
    pushpin: Pushpin
    database_url: str
    sig_key: str

    def logs(self) -> str:
        return f"--- pushpin:\n{self.pushpin.log_tail()}"


@pytest.fixture(scope="module")
def tier(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tier]:
    directory = tmp_path_factory.mktemp("grip")
    sig_key = secrets.token_urlsafe(24)
    database_url = f"sqlite+aiosqlite:///{directory}/liveblog.db"
    pushpin = Pushpin(directory / "pushpin", origins=[], sig_key=sig_key)
    relay = PublishRelay(pushpin.publish_url)
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": database_url,
        "LIVEBLOG_SIGNING_KEY_PATH": str(directory / "signing.key"),
        "LIVEBLOG_LOG_LEVEL": "warning",
        "LIVEBLOG_WRITE_BURST": "10000",
        "LIVEBLOG_LIVE_TIER": "grip",
        "LIVEBLOG_GRIP_PUBLISH_URLS": json.dumps([relay.url]),
        "LIVEBLOG_GRIP_SIG_KEY": sig_key,
    }
    from liveblog.audit.signing import Signer

    key_id = Signer.from_file(directory / "signing.key").key_id
    server = ServerProcess(name="G", environment=environment, log=directory / "server.log", key_id=key_id)
    asyncio.run(server.start())
    pushpin.origins = [f"127.0.0.1:{server.port}"]
    relay.start()
    try:
        pushpin.start()
        yield Tier(server.url, pushpin.url, relay, pushpin, database_url, sig_key)
    finally:
        pushpin.stop()
        relay.stop()
        server.stop()


@pytest.fixture
async def database(tier: Tier) -> AsyncIterator[Database]:
    database = Database(tier.database_url)
    yield database
    await database.dispose()


@pytest.fixture
async def origin(tier: Tier) -> AsyncIterator[httpx.AsyncClient]:
    """Editors write to the origin (through the proxy would do as well)."""
    async with httpx.AsyncClient(base_url=tier.origin, timeout=30, trust_env=False) as client:
        yield client


async def token(database: Database, role: Role, name: str) -> tuple[str, dict[str, str]]:
    async with database.write() as connection:
        info, secret = await tokens.create(connection, name=name, role=role, now=datetime.now(UTC))
    return info.id, {"Authorization": f"Bearer {secret}"}


def live(tier: Tier, slug: str) -> str:
    return f"{tier.proxy}/api/v1/stories/{slug}/live"


class SseReader:
    """An SSE reader through the proxy: every message, parsed, in order."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        self.ended = False

    async def next(self) -> tuple[str, dict[str, Any]] | None:
        kind, data = "message", ""
        async with asyncio.timeout(TIMEOUT):
            async for line in self._lines:
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data = line[5:].strip()
                elif line == "" and data:
                    return kind, json.loads(data)
        self.ended = True
        return None

    async def events_until(self, version: int) -> list[int]:
        seen: list[int] = []
        while not seen or seen[-1] < version:
            message = await self.next()
            assert message is not None, f"the stream ended after {seen}"
            if message[0] == "event":
                seen.append(message[1]["version"])
        return seen


@pytest.fixture
async def http(tier: Tier) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60, read=None), trust_env=False) as client:
        yield client


async def sse(
    http: httpx.AsyncClient,
    tier: Tier,
    slug: str,
    *,
    after: int | None = None,
    headers: dict[str, str] | None = None,
) -> AsyncIterator[SseReader]:
    url = live(tier, slug) + ("" if after is None else f"?after={after}")
    async with http.stream(
        "GET", url, headers={"Accept": "text/event-stream", **(headers or {})}
    ) as response:
        assert response.status_code == 200, (await response.aread(), tier.logs())
        yield SseReader(response)


async def ws_receive(connection: ClientConnection) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(connection.recv(), TIMEOUT)))


async def ws_events_until(connection: ClientConnection, version: int) -> list[int]:
    seen: list[int] = []
    while not seen or seen[-1] < version:
        message = await ws_receive(connection)
        if message["type"] == "event":
            seen.append(message["version"])
    return seen


def ws_url(tier: Tier, slug: str, after: int) -> str:
    return live(tier, slug).replace("http", "ws", 1) + f"?after={after}"


async def test_sse_and_websocket_readers_get_every_version_once_in_order_through_pushpin(
    tier: Tier, database: Database, origin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    _, editor = await token(database, Role.EDITOR, "Desk")
    story = await open_story(origin, editor, slug="grip-burst")
    start = story["version"]
    sse_readers = [sse(http, tier, "grip-burst", after=start) for _ in range(2)]
    streams = [await anext(reader) for reader in sse_readers]
    sockets = [await connect(ws_url(tier, "grip-burst", start)) for _ in range(2)]
    try:
        for stream in streams:
            assert await stream.next() == (
                "hello",
                {"type": "hello", "story": "grip-burst", "version": start},
            )
        for socket in sockets:
            assert await ws_receive(socket) == {"type": "hello", "story": "grip-burst", "version": start}
        # A burst: concurrent posts, each its own commit and publish.
        posted = await asyncio.gather(
            *(post_update(origin, editor, slug="grip-burst", body=f"No. {n}") for n in range(20))
        )
        assert len(posted) == 20
        last = (await origin.get("/api/v1/stories/grip-burst")).json()["version"]
        assert last == start + 20
        expected = list(range(start + 1, last + 1))
        for stream in streams:
            assert await stream.events_until(last) == expected, tier.logs()
        for socket in sockets:
            assert await ws_events_until(socket, last) == expected
        # Resume through the proxy: `after` on both transports, Last-Event-ID on SSE.
        resumed = sse(http, tier, "grip-burst", after=last - 3)
        stream = await anext(resumed)
        assert (await stream.next() or ("", {}))[0] == "hello"
        assert await stream.events_until(last) == expected[-3:]
        await resumed.aclose()
        by_id = sse(http, tier, "grip-burst", headers={"Last-Event-ID": str(last - 2)})
        stream = await anext(by_id)
        assert (await stream.next() or ("", {}))[0] == "hello"
        assert await stream.events_until(last) == expected[-2:]
        await by_id.aclose()
        async with connect(ws_url(tier, "grip-burst", last - 4)) as socket:
            assert (await ws_receive(socket))["type"] == "hello"
            assert await ws_events_until(socket, last) == expected[-4:]
    finally:
        for socket in sockets:
            await socket.close()
        for reader in sse_readers:
            await reader.aclose()


async def test_a_submissions_versions_pass_through_pushpin_showing_nothing(
    tier: Tier, database: Database, origin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    """A submission's events are the newsroom's: through Pushpin, readers on both
    transports get the posts around them in order, nothing of the submission, and no
    recovery is needed for the versions they skip (their SSE id chain moves on by a comment)."""
    _, editor = await token(database, Role.EDITOR, "Desk")
    _, reporter = await token(database, Role.CONTRIBUTOR, "Field")
    story = await open_story(origin, editor, slug="grip-queue")
    start = story["version"]
    reader = sse(http, tier, "grip-queue", after=start)
    stream = await anext(reader)
    socket = await connect(ws_url(tier, "grip-queue", start))
    try:
        assert (await stream.next() or ("", {}))[0] == "hello"
        assert (await ws_receive(socket))["type"] == "hello"
        await post_update(origin, editor, slug="grip-queue", body="Before the queue")
        queue = "/api/v1/stories/grip-queue/submissions"
        submitted = await origin.post(queue, json={"body": "SECRET-FIELD-NOTE"}, headers=reporter)
        assert submitted.status_code == 201, submitted.text
        rejected = await origin.post(
            f"{queue}/{submitted.json()['id']}/rejection", json={"note": "SECRET-NO"}, headers=editor
        )
        assert rejected.status_code == 200, rejected.text
        await post_update(origin, editor, slug="grip-queue", body="After the queue")
        last = start + 4
        assert (await origin.get("/api/v1/stories/grip-queue")).json()["version"] == last
        received: list[dict[str, Any]] = []
        while not received or received[-1]["version"] < last:
            message = await stream.next()
            assert message is not None
            if message[0] == "event":
                received.append(message[1])
        assert [m["version"] for m in received] == [start + 1, last], tier.logs()
        by_socket: list[dict[str, Any]] = []
        while not by_socket or by_socket[-1]["version"] < last:
            message = await ws_receive(socket)
            if message["type"] == "event":
                by_socket.append(message)
        assert [m["version"] for m in by_socket] == [start + 1, last]
        assert "SECRET" not in json.dumps([received, by_socket])
    finally:
        await socket.close()
        await reader.aclose()


async def test_a_lost_message_is_recovered_from_the_origin_without_skip_or_duplicate(
    tier: Tier, database: Database, origin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    _, editor = await token(database, Role.EDITOR, "Desk")
    story = await open_story(origin, editor, slug="grip-gap")
    start = story["version"]
    reader = sse(http, tier, "grip-gap", after=start)
    stream = await anext(reader)
    try:
        assert (await stream.next() or ("", {}))[0] == "hello"
        # The message of start + 2 is lost on its way to Pushpin (acknowledged, never delivered).
        tier.relay.lose(grip.story_channel("grip-gap", newsroom=False), start + 2)
        for n in range(4):
            await post_update(origin, editor, slug="grip-gap", body=f"Gap {n}")
        seen = await stream.events_until(start + 4)
        assert seen == [start + 1, start + 2, start + 3, start + 4], tier.logs()
        assert (grip.story_channel("grip-gap", newsroom=False), str(start + 2)) in tier.relay.lost
    finally:
        await reader.aclose()


async def test_a_publish_endpoint_briefly_unavailable_delays_but_loses_nothing(
    tier: Tier, database: Database, origin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    _, editor = await token(database, Role.EDITOR, "Desk")
    story = await open_story(origin, editor, slug="grip-retry")
    start = story["version"]
    reader = sse(http, tier, "grip-retry", after=start)
    stream = await anext(reader)
    socket = await connect(ws_url(tier, "grip-retry", start))
    try:
        assert (await stream.next() or ("", {}))[0] == "hello"
        assert (await ws_receive(socket))["type"] == "hello"
        tier.relay.fail(2)  # the next two publishes are refused (503); the publisher retries
        for n in range(3):
            await post_update(origin, editor, slug="grip-retry", body=f"Retry {n}")
        expected = [start + 1, start + 2, start + 3]
        assert await stream.events_until(start + 3) == expected
        assert await ws_events_until(socket, start + 3) == expected
        assert tier.relay.failed >= 2
    finally:
        await socket.close()
        await reader.aclose()


async def test_a_draft_never_reaches_a_reader_and_the_newsroom_follows_it(
    tier: Tier, database: Database, origin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    _, editor = await token(database, Role.EDITOR, "Desk")
    await open_story(origin, editor, slug="grip-draft", publish=False)  # version 1, a draft
    anonymous = await http.get(live(tier, "grip-draft") + "?after=0", headers={"Accept": "text/event-stream"})
    assert anonymous.status_code == 404
    async with connect(ws_url(tier, "grip-draft", 0)) as socket:
        with pytest.raises(ConnectionClosed) as closed:
            await ws_receive(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    newsroom = sse(http, tier, "grip-draft", after=0, headers=editor)
    stream = await anext(newsroom)
    try:
        assert (await stream.next() or ("", {}))[0] == "hello"
        assert await stream.events_until(1) == [1]
        secret = await post_update(origin, editor, slug="grip-draft", body="Embargoed until noon.")
        assert await stream.events_until(2) == [2]
        # Published: readers start after the draft period and get what follows, only that.
        published = await origin.post("/api/v1/stories/grip-draft/publish", headers=editor)
        assert published.status_code in (200, 201), published.text
        version = published.json()["version"]
        reader = sse(http, tier, "grip-draft", after=version)
        public = await anext(reader)
        assert (await public.next() or ("", {}))[0] == "hello"
        after = await post_update(origin, editor, slug="grip-draft", body="Now public.")
        assert await public.events_until(version + 1) == [version + 1]
        assert version == 3
        assert await stream.events_until(4) == [3, 4]
        await reader.aclose()
        # The draft's channel items never went to the readers' channel.
        public_items = [
            item
            for item in tier.relay.seen
            if item.get("channel") == grip.story_channel("grip-draft", newsroom=False)
        ]
        assert [int(item["id"]) for item in public_items] == [version + 1]
        assert all(secret["body"] not in json.dumps(item) for item in public_items)
        assert after["id"]
    finally:
        await newsroom.aclose()


async def test_a_revoked_tokens_connections_are_closed(
    tier: Tier, database: Database, origin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    token_id, editor = await token(database, Role.EDITOR, "Night desk")
    await open_story(origin, editor, slug="grip-revoke")
    stream_reader = sse(http, tier, "grip-revoke", after=2, headers=editor)
    stream = await anext(stream_reader)
    socket = await connect(ws_url(tier, "grip-revoke", 2), additional_headers=editor)
    try:
        assert (await stream.next() or ("", {}))[0] == "hello"
        assert (await ws_receive(socket))["type"] == "hello"
        async with database.write() as connection:
            assert await tokens.revoke(connection, token_id, now=datetime.now(UTC))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws_receive(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        while await stream.next() is not None:
            pass
        assert stream.ended
    finally:
        await socket.close()
        await stream_reader.aclose()


async def test_requests_that_bypass_pushpin_are_refused(tier: Tier, origin: httpx.AsyncClient) -> None:
    _, editor_headers = await token(Database(tier.database_url), Role.EDITOR, "Bypass")
    await open_story(origin, editor_headers, slug="grip-bypass")
    url = "/api/v1/stories/grip-bypass/live?after=2"
    assert (await origin.get(url, headers={"Accept": "text/event-stream"})).status_code == 403
    forged = grip.signature("not-the-key", now=datetime.now(UTC).timestamp())
    refused = await origin.get(url, headers={"Accept": "text/event-stream", "Grip-Sig": forged})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    over_http = await origin.post(
        url, content=b"OPEN\r\n", headers={"Content-Type": grip.WS_CONTENT_TYPE, "Connection-Id": "x"}
    )
    assert over_http.status_code == 403
    # A link the server did not issue (a reader asking for the newsroom's channel) is refused.
    signed = grip.signature(tier.sig_key, now=datetime.now(UTC).timestamp())
    forged_link = await origin.get(url + "&grip=AAAA&token=anything", headers={"Grip-Sig": signed})
    assert forged_link.status_code == 403
    # A real WebSocket straight to the origin is refused as well.
    with pytest.raises(Exception) as refused_socket:
        async with connect(f"{tier.origin.replace('http', 'ws', 1)}{url}"):
            pass
    assert "403" in str(refused_socket.value)


async def test_readers_sending_frames_are_limited_over_http(
    tier: Tier, database: Database, origin: httpx.AsyncClient
) -> None:
    _, editor = await token(database, Role.EDITOR, "Desk")
    await open_story(origin, editor, slug="grip-chatty")
    async with connect(ws_url(tier, "grip-chatty", 2)) as socket:
        assert (await ws_receive(socket))["type"] == "hello"
        await socket.send("x" * 5000)  # over LIVEBLOG_LIVE_INBOUND_BYTES (4096)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await ws_receive(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    async with connect(ws_url(tier, "grip-chatty", 2)) as socket:
        assert (await ws_receive(socket))["type"] == "hello"
        with pytest.raises(ConnectionClosed) as closed:
            for _ in range(200):
                await socket.send("hi")
            while True:
                await ws_receive(socket)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
