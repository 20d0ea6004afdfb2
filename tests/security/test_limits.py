"""Issue item 5: limits, all configurable.

Request body size (413), field lengths and the number of sources and media (422), the
per-token write rate (429 with Retry-After, nothing recorded), readers' inbound WebSocket
frames (count: 1008; size: closed by the server's frame limit), and live connections per
client address (4429 on the WebSocket, 429 on SSE).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveblog import demo
from liveblog.api import live
from liveblog.api.limits import client_address
from liveblog.config import Settings
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import assert_problem_of, create_token
from tests.api.helpers import event_count
from tests.browser.conftest import LiveServer, live_server  # noqa: F401  (fixture)
from tests.security.conftest import API, close_code, published_story, receive, sse_blocks, ws_url

# ------------------------------------------------------------------ configuration


def test_every_limit_is_a_setting_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "LIVEBLOG_MAX_BODY_BYTES": ("max_body_bytes", "5000", 5000),
        "LIVEBLOG_WRITE_RATE_PER_MINUTE": ("write_rate_per_minute", "7", 7),
        "LIVEBLOG_WRITE_BURST": ("write_burst", "4", 4),
        "LIVEBLOG_LIVE_CONNECTIONS_PER_ADDRESS": ("live_connections_per_address", "3", 3),
        "LIVEBLOG_LIVE_INBOUND_BYTES": ("live_inbound_bytes", "2048", 2048),
        "LIVEBLOG_LIVE_INBOUND_PER_MINUTE": ("live_inbound_per_minute", "9", 9),
        "LIVEBLOG_CORS_WRITE_ORIGINS": ("cors_write_origins", '["https://a.example"]', ["https://a.example"]),
    }
    for variable, (_, raw, _) in values.items():
        monkeypatch.setenv(variable, raw)
    settings = Settings()
    for name, _, expected in values.values():
        assert getattr(settings, name) == expected, name


# ------------------------------------------------------------------ request bodies


@pytest.mark.limits(max_body_bytes=2048)
async def test_a_body_over_the_configured_size_is_413_and_records_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "sized")
    path = f"{API}/stories/sized/updates"
    fits = json.dumps({"body": "x" * 1900}).encode()
    too_big = json.dumps({"body": "x" * 2100}).encode()
    headers = {**editor, "Content-Type": "application/json"}
    assert (await client.post(path, content=fits, headers=headers)).status_code == 201
    before = await event_count(database)
    assert_problem_of(await client.post(path, content=too_big, headers=headers), 413, "payload-too-large")

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit still holds
        for start in range(0, len(too_big), 500):
            yield too_big[start : start + 500]

    assert_problem_of(await client.post(path, content=chunks(), headers=headers), 413, "payload-too-large")
    lying = {**headers, "Content-Length": "10"}
    response = await client.post(path, content=too_big, headers=lying)
    assert response.status_code in (400, 413, 422), response.text
    assert await event_count(database) == before


LONG = 20_000


def _too_long_bodies() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(what, route, at the limit, one over it) for every bounded field and list."""
    source = {"name": "Agency"}
    media = {"kind": "image", "url": "https://example.org/a.jpg"}
    return [
        ("update body", "updates", {"body": "b" * LONG}, {"body": "b" * (LONG + 1)}),
        ("byline", "updates", {"body": "b", "byline": "y" * 300}, {"body": "b", "byline": "y" * 301}),
        (
            "sources",
            "updates",
            {"body": "b", "sources": [source] * 20},
            {"body": "b", "sources": [source] * 21},
        ),
        (
            "source name",
            "updates",
            {"body": "b", "sources": [{"name": "n" * 300}]},
            {"body": "b", "sources": [{"name": "n" * 301}]},
        ),
        ("media", "updates", {"body": "b", "media": [media] * 20}, {"body": "b", "media": [media] * 21}),
        (
            "caption",
            "updates",
            {"body": "b", "media": [{**media, "caption": "c" * 300}]},
            {"body": "b", "media": [{**media, "caption": "c" * 301}]},
        ),
        (
            "url",
            "updates",
            {"body": "b", "sources": [{"name": "n", "url": "https://example.org/" + "u" * 1980}]},
            {"body": "b", "sources": [{"name": "n", "url": "https://example.org/" + "u" * 1981}]},
        ),
        (
            "verification note",
            "updates",
            {"body": "b", "verification": {"status": "unverified", "note": "v" * 2000}},
            {"body": "b", "verification": {"status": "unverified", "note": "v" * 2001}},
        ),
        (
            "title",
            "stories",
            {"title": "t" * 300, "slug": "long-title"},
            {"title": "t" * 301, "slug": "longer-title"},
        ),
        (
            "summary",
            "stories",
            {"title": "t", "summary": "s" * 2000, "slug": "long-summary"},
            {"title": "t", "summary": "s" * 2001, "slug": "longer-summary"},
        ),
        ("slug", "stories", {"title": "t", "slug": "a" * 80}, {"title": "t", "slug": "a" * 81}),
    ]


async def test_field_lengths_and_list_sizes_are_bounded(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "bounded")
    wrong = []
    for what, route, at_limit, over in _too_long_bodies():
        path = f"{API}/stories/bounded/updates" if route == "updates" else f"{API}/stories"
        before = await event_count(database)
        refused = await client.post(path, json=over, headers=editor)
        if refused.status_code != 422 or await event_count(database) != before:
            wrong.append(f"{what} over the limit: {refused.status_code} {refused.text[:100]}")
        accepted = await client.post(path, json=at_limit, headers=editor)
        if accepted.status_code != 201:
            wrong.append(f"{what} at the limit: {accepted.status_code} {accepted.text[:100]}")
    assert not wrong, "\n".join(wrong)


async def test_correction_and_retraction_texts_are_bounded(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    update = await published_story(client, editor, "notes")
    base = f"{API}/stories/notes/updates/{update['id']}"
    before = await event_count(database)
    for path, body in (
        (
            f"{base}/corrections",
            {"changes": {"body": "x"}, "kind": "correction", "reason": "r" * 2001, "note": "n"},
        ),
        (
            f"{base}/corrections",
            {"changes": {"body": "x"}, "kind": "correction", "reason": "r", "note": "n" * 2001},
        ),
        (
            f"{base}/corrections",
            {"changes": {"sources": [{"name": "s"}] * 21}, "kind": "amendment", "reason": "r", "note": "n"},
        ),
        (f"{base}/corrections", {"changes": {"body": "b" * (LONG + 1)}, "kind": "minor", "reason": "r"}),
        (f"{base}/retraction", {"reason": "r" * 2001, "note": "n"}),
        (f"{base}/retraction", {"reason": "r", "note": "n" * 2001}),
        (f"{API}/stories/notes", {"title": "t" * 301}),
    ):
        method = "PATCH" if path.endswith("/notes") else "POST"
        response = await client.request(method, path, json=body, headers=editor)
        assert response.status_code == 422, (path, response.text[:200])
    assert await event_count(database) == before


# ------------------------------------------------------------------ write rate


@pytest.mark.limits(write_burst=3, write_rate_per_minute=1)
async def test_a_token_over_its_write_budget_gets_429_with_retry_after_and_records_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    _, headers = await create_token(database, Role.EDITOR, "Busy Editor")
    update = await published_story(client, headers, "busy")  # writes 1 and 2
    posted = await client.post(f"{API}/stories/busy/updates", json={"body": "Third."}, headers=headers)
    assert posted.status_code == 201  # write 3: the burst is spent
    before = await event_count(database)
    base = f"{API}/stories/busy/updates/{update['id']}"
    refused_writes = [
        ("POST", f"{API}/stories/busy/updates", {"body": "Fourth."}),
        ("PATCH", f"{API}/stories/busy", {"title": "New"}),
        ("POST", f"{base}/corrections", {"changes": {"body": "x"}, "kind": "minor", "reason": "r"}),
        ("PUT", f"{base}/verification", {"status": "confirmed"}),
        ("PUT", f"{base}/flags", {"pinned": True}),
        ("POST", f"{base}/retraction", {"reason": "r", "note": "n"}),
        ("POST", f"{API}/stories/busy/close", None),
        ("POST", f"{API}/stories", {"title": "Another", "slug": "another"}),
    ]
    for method, path, body in refused_writes:
        response = await client.request(method, path, json=body, headers=headers)
        assert_problem_of(response, 429, "rate-limited")
        retry_after = response.headers.get("retry-after", "")
        assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, retry_after
        assert "retry-after" in response.headers.get("access-control-expose-headers", "retry-after").lower()
    assert await event_count(database) == before
    # Reads are not writes; another token has a budget of its own.
    assert (await client.get(f"{API}/stories/busy", headers=headers)).status_code == 200
    other = await client.post(f"{API}/stories/busy/updates", json={"body": "Someone else."}, headers=editor)
    assert other.status_code == 201


# ------------------------------------------------------------------ live: inbound frames


@pytest.mark.limits(live_inbound_per_minute=3)
async def test_a_reader_sending_more_frames_than_allowed_is_closed_with_1008(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await published_story(client, editor, "chatty")
    async with connect(ws_url(server_url, "chatty", after=3)) as connection:
        assert (await receive(connection))["type"] == "hello"
        for n in range(3):  # within the allowance: ignored
            await connection.send(f"hello {n}")
        await client.post(f"{API}/stories/chatty/updates", json={"body": "Still here."}, headers=editor)
        message = await receive(connection)
        assert message["type"] == "event" and message["update"]["body"] == "Still here."
        await connection.send("one too many")
        assert await close_code(connection) == live.CLOSE_POLICY == 1008
    async with connect(ws_url(server_url, "chatty", after=4)) as quiet:  # others are unaffected
        assert (await receive(quiet))["type"] == "hello"


def test_a_frame_over_the_configured_size_closes_the_connection(live_server: LiveServer) -> None:  # noqa: F811
    """Enforced by uvicorn's ``ws_max_size`` as ``liveblog serve`` sets it, so against a real
    ``liveblog serve`` with LIVEBLOG_LIVE_INBOUND_BYTES=1024."""
    live_server.environment["LIVEBLOG_LIVE_INBOUND_BYTES"] = "1024"
    live_server.cli("demo")
    live_server.start()
    url = f"ws://127.0.0.1:{live_server.port}{API}/stories/{demo.SLUG}/live?after={demo.STEP_COUNT + 1}"

    async def scenario() -> tuple[int | None, bool]:
        async with connect(url) as small:
            assert (await receive(small))["type"] == "hello"
            await small.send("x" * 1000)  # within the limit: ignored, the connection stays
            await asyncio.wait_for(await small.ping(), 10)  # still open and answering
            small_survived = True
        async with connect(url) as big:
            assert (await receive(big))["type"] == "hello"
            with contextlib.suppress(ConnectionClosed):
                await big.send("x" * 4000)
            return await close_code(big), small_survived

    code, survived = asyncio.run(scenario())
    assert survived
    assert code == 1009, code  # "message too big"


# ------------------------------------------------------------------ live: connections


@pytest.mark.limits(live_connections_per_address=2)
async def test_the_websocket_over_the_per_address_cap_is_closed_with_4429(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await published_story(client, editor, "crowded")
    first = await connect(ws_url(server_url, "crowded", after=3))
    second = await connect(ws_url(server_url, "crowded", after=3), additional_headers=editor)
    try:
        for connection in (first, second):
            assert (await receive(connection))["type"] == "hello"
        for headers in ({}, editor):  # a token does not lift the cap
            async with connect(ws_url(server_url, "crowded", after=3), additional_headers=headers) as third:
                assert await close_code(third) == 4429
        await first.close()
        await asyncio.sleep(0.2)
        async with connect(ws_url(server_url, "crowded", after=3)) as replacement:  # the slot is free again
            assert (await receive(replacement))["type"] == "hello"
    finally:
        await first.close()
        await second.close()


@pytest.mark.limits(live_connections_per_address=2)
async def test_the_event_stream_over_the_per_address_cap_is_429(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await published_story(client, editor, "crowded")
    hold = asyncio.Event()
    opened: list[int] = []

    async def keep_open() -> None:
        async with (
            httpx.AsyncClient(base_url=server_url, timeout=30) as http,
            http.stream(
                "GET", f"{API}/stories/crowded/live", headers={"Accept": "text/event-stream"}
            ) as response,
        ):
            opened.append(response.status_code)
            await hold.wait()

    holders = [asyncio.create_task(keep_open()) for _ in range(2)]
    try:
        for _ in range(200):
            if len(opened) == 2:
                break
            await asyncio.sleep(0.05)
        assert opened == [200, 200]
        response, blocks = await sse_blocks(server_url, "crowded")
        assert response.status_code == 429 and not blocks
        assert response.headers.get("retry-after", "").isdigit()
        assert response.headers["content-type"].startswith("application/problem+json")
        # WebSocket and SSE share the count.
        async with connect(ws_url(server_url, "crowded", after=3)) as socket:
            assert await close_code(socket) == 4429
    finally:
        hold.set()
        await asyncio.gather(*holders, return_exceptions=True)
    for _ in range(100):  # the streams' slots are given back once they end
        response, blocks = await sse_blocks(server_url, "crowded")
        if response.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert response.status_code == 200 and blocks


# ------------------------------------------------- live: who the client is (item 8)


@pytest.fixture
async def sockets(server_url: str) -> AsyncIterator[Callable[[str], Awaitable[bool]]]:
    """``admitted(forwarded)``: whether a WebSocket to story ``crowded`` saying
    ``X-Forwarded-For: forwarded`` is admitted (``hello``) rather than closed over the
    per-address cap. Admitted ones stay open until the test ends."""
    opened: list[ClientConnection] = []

    async def admitted(forwarded: str) -> bool:
        connection = await connect(
            ws_url(server_url, "crowded", after=3), additional_headers={"X-Forwarded-For": forwarded}
        )
        opened.append(connection)
        try:
            return (await receive(connection))["type"] == "hello"
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4429
            return False

    yield admitted
    for connection in opened:
        await connection.close()


@pytest.mark.limits(live_connections_per_address=2)
async def test_a_forwarded_for_header_is_not_believed_by_default(
    client: httpx.AsyncClient, editor: dict[str, str], sockets: Callable[[str], Awaitable[bool]]
) -> None:
    """Every connection here comes from 127.0.0.1, whatever X-Forwarded-For says: a client
    may not mint itself new addresses to get round the cap (uvicorn believed it from
    127.0.0.1 until LIVEBLOG_TRUSTED_PROXIES replaced that)."""
    await published_story(client, editor, "crowded")
    outcomes = [await sockets(f"203.0.113.{n}") for n in (1, 2, 3)]
    assert outcomes == [True, True, False]


@pytest.mark.limits(live_connections_per_address=2, trusted_proxies=["127.0.0.0/8"])
async def test_behind_a_trusted_proxy_the_cap_counts_the_forwarded_client(
    server_url: str,
    client: httpx.AsyncClient,
    editor: dict[str, str],
    sockets: Callable[[str], Awaitable[bool]],
) -> None:
    await published_story(client, editor, "crowded")
    assert await sockets("203.0.113.1")
    assert await sockets("203.0.113.2")
    assert await sockets("203.0.113.3")  # other clients, other counts
    # The proxy appends the address it saw; what the client wrote further left is not believed.
    assert await sockets("198.51.100.7, 203.0.113.1")
    assert not await sockets("198.51.100.8, 203.0.113.1")
    # SSE counts the same client the same way.
    response, _ = await sse_blocks(server_url, "crowded", {"X-Forwarded-For": "203.0.113.1"})
    assert response.status_code == 429
    response, blocks = await sse_blocks(server_url, "crowded", {"X-Forwarded-For": "203.0.113.4"})
    assert response.status_code == 200 and blocks


def _scope(peer: str, *forwarded: str) -> dict[str, Any]:
    return {
        "type": "http",
        "client": (peer, 50000),
        "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded],
    }


def test_client_address_reads_x_forwarded_for_only_from_trusted_proxies() -> None:
    proxies = ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]
    assert client_address(_scope("203.0.113.5", "1.1.1.1"), proxies) == "203.0.113.5"
    assert client_address(_scope("127.0.0.1", "1.1.1.1"), []) == "127.0.0.1"  # no proxies: none
    assert client_address(_scope("10.1.2.3", "1.1.1.1"), proxies) == "1.1.1.1"
    assert client_address(_scope("10.1.2.3", "6.6.6.6, 1.1.1.1, 10.9.9.9"), proxies) == "1.1.1.1"
    assert client_address(_scope("10.1.2.3", "6.6.6.6", "1.1.1.1"), proxies) == "1.1.1.1"  # two headers
    assert client_address(_scope("2001:db8::1", "2001:0db8:0::2, 1.1.1.1"), proxies) == "1.1.1.1"
    assert client_address(_scope("192.0.2.1", "10.0.0.1, 10.0.0.2"), proxies) == "10.0.0.1"  # all proxies
    assert client_address(_scope("10.1.2.3", "1.1.1.1, not-an-address"), proxies) == "10.1.2.3"
    assert client_address(_scope("10.1.2.3"), proxies) == "10.1.2.3"  # no header: the proxy itself
    assert client_address({"type": "http", "headers": []}, proxies) == "unknown"


def test_trusted_proxies_are_a_setting_of_addresses_and_networks(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().trusted_proxies == []
    monkeypatch.setenv("LIVEBLOG_TRUSTED_PROXIES", '["10.0.0.0/8", "::1"]')
    assert Settings().trusted_proxies == ["10.0.0.0/8", "::1"]
    monkeypatch.setenv("LIVEBLOG_TRUSTED_PROXIES", '["a proxy"]')
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6"):
        Settings()
