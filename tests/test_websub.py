"""WebSub pings (issue #13, point 3): a real HTTP hub on a port of its own is told about the
feeds of a story that changed, off the write's path, with retries; never about a draft."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from liveblog.api.app import create_app
from liveblog.api.services import Services, running_services
from liveblog.config import Settings
from liveblog.store.database import Database
from liveblog.websub import HubPinger
from tests.api.helpers import open_story, post_update

PUBLIC = "https://live.example.org"
WAIT = 30.0  # seconds: a bound on waiting for the background task, not a measured time


@dataclass
class FakeHub:
    url: str
    pings: list[dict[str, list[str]]] = field(default_factory=list)
    failures_left: int = 0
    attempts: int = 0


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    state = FakeHub(url=f"http://127.0.0.1:{port}/hub")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            state.attempts += 1
            if state.failures_left > 0:
                state.failures_left -= 1
                self.send_response(503)
            else:
                state.pings.append(form)
                self.send_response(204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


async def until(condition: object, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"still waiting for {what}")
        await asyncio.sleep(0.02)


def topics(hub: FakeHub) -> list[str]:
    assert all(ping["hub.mode"] == ["publish"] for ping in hub.pings)
    return [url for ping in hub.pings for url in ping["hub.url"]]


@pytest.fixture
async def client_with_hub(
    hub: FakeHub, database: Database, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        database_url=database.url,
        signing_key_path=tmp_path / "signing.key",
        websub_hub_url=hub.url,
        public_url=PUBLIC,
    )
    async with running_services(settings, database) as services:
        app = create_app(services=services)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


async def test_a_change_to_a_published_story_pings_the_hub_about_its_feeds(
    client_with_hub: httpx.AsyncClient, hub: FakeHub, editor: dict[str, str]
) -> None:
    await open_story(client_with_hub, editor, slug="quiet-draft", publish=False)
    await post_update(client_with_hub, editor, slug="quiet-draft")
    await open_story(client_with_hub, editor)
    expected = [
        f"{PUBLIC}/stories/border-raid/feed.atom",
        f"{PUBLIC}/stories/border-raid/feed.json",
        f"{PUBLIC}/feed.atom",
        f"{PUBLIC}/feed.json",
    ]
    await until(lambda: len(hub.pings) >= 4, "the pings about the new story")
    assert topics(hub) == expected  # and none about the draft
    await post_update(client_with_hub, editor)
    await until(lambda: len(hub.pings) >= 8, "the pings about the new update")
    assert topics(hub)[4:] == expected
    # The hub's topics are the feeds' own URLs.
    atom = (await client_with_hub.get("/stories/border-raid/feed.atom")).text
    assert f'href="{expected[0]}" rel="self"' in atom


async def test_a_failed_ping_is_retried_with_backoff(
    hub: FakeHub, services: Services, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    hub.failures_left = 2
    pinger = HubPinger(hub.url, PUBLIC, services.database, first_delay=0.01, max_delay=0.05)
    assert pinger.topics([]) == []
    committed = services.application.on_commit

    def committed_and_pinged(story: str, version: int) -> None:
        if committed is not None:
            committed(story, version)
        pinger.wake(story, version)

    services.application.on_commit = committed_and_pinged
    await pinger.start()
    try:
        await open_story(client, editor, slug="retried")
        await until(lambda: len(hub.pings) >= 4, "the pings after two failures")
        assert hub.attempts == 6  # the first topic failed twice, then every topic went through
        assert pinger.delivered == pinger.topics(["retried"])
    finally:
        await pinger.stop()


async def test_a_hub_that_never_answers_does_not_hold_up_writes(database: Database) -> None:
    pinger = HubPinger("http://127.0.0.1:9/unreachable", PUBLIC, database, attempts=2, first_delay=0.01)
    await pinger.start()
    try:
        for version in range(50):
            pinger.wake("border-raid", version)  # returns at once, whatever the hub does
        assert pinger.delivered == []
    finally:
        await pinger.stop()
