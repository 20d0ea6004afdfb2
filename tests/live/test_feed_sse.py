"""The change feed as Server-Sent Events from a real server: cursors as ids, resuming with
``Last-Event-ID``, an event committed late by an older transaction, a revoked token."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from liveblog.store import event_store
from liveblog.store.database import Database
from liveblog.store.event_store import NewEvent
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import create_token, revoke_token
from tests.api.helpers import open_story, post_update

FEED = "/api/v1/events"


class Follower:
    """One SSE response, read block by block."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.aiter_lines()

    async def block(self) -> dict[str, str] | None:
        """The next block's fields (``None`` when the server ended the stream)."""
        fields: dict[str, str] = {}
        async for line in self.lines:
            if not line:
                if fields:
                    return fields
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        return None

    async def event(self) -> dict[str, Any]:
        while True:
            block = await self.block()
            assert block is not None, "the stream ended"
            if block.get("event") == "event":
                item = dict(json.loads(block["data"]))
                assert block["id"] == item["cursor"]
                return item


@asynccontextmanager
async def follow(server_url: str, headers: dict[str, str], **params: str) -> AsyncIterator[Follower]:
    async with (
        httpx.AsyncClient(timeout=httpx.Timeout(30, read=None), trust_env=False) as http,
        http.stream(
            "GET", f"{server_url}{FEED}", params=params, headers={**headers, "Accept": "text/event-stream"}
        ) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Follower(response)


async def test_sse_gives_each_event_with_its_cursor_and_resumes_after_last_event_id(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    _, consumer = await create_token(database, Role.CONSUMER, "Archive")
    await open_story(client, editor, slug="first")
    async with follow(server_url, consumer) as follower:
        assert await follower.block() == {"retry": "1000"}
        opened, published = await follower.event(), await follower.event()
        await post_update(client, editor, slug="first")  # while following: pushed
        posted = await follower.event()
    assert [(e["story"], e["version"]) for e in (opened, published, posted)] == [
        ("first", 1),
        ("first", 2),
        ("first", 3),
    ]
    await open_story(client, editor, slug="second", publish=False)  # a draft: not for consumers
    await open_story(client, editor, slug="third")
    async with follow(server_url, {**consumer, "Last-Event-ID": published["cursor"]}, after="") as follower:
        again = [await follower.event() for _ in range(3)]
    assert [(e["story"], e["version"]) for e in again] == [("first", 3), ("third", 1), ("third", 2)]
    assert again[0] == posted


# On SQLite the open transaction would hold the one writer lock: PostgreSQL only.
@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
async def test_an_event_committed_late_by_an_older_transaction_is_not_skipped(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """A transaction on one story stays open with its event appended while updates to
    another story commit; the follower gets the late one too, in the feed's order."""
    _, auditor = await create_token(database, Role.AUDITOR, "Auditor")
    await open_story(client, editor, slug="quick")
    holding, release = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> None:
        async with database.write("slow") as connection:
            note = NewEvent(type="Noted", data={}, metadata={"actor": {"id": "test"}})
            await event_store.append(connection, "slow", 0, [note], recorded_at=datetime.now(UTC))
            holding.set()
            await release.wait()

    async with follow(server_url, auditor) as follower:
        assert [(await follower.event())["version"] for _ in range(2)] == [1, 2]
        slow = asyncio.create_task(slow_writer())
        try:
            await holding.wait()
            await post_update(client, editor, slug="quick")  # not blocked by "slow"
        finally:
            release.set()
            await slow
        late = [await follower.event() for _ in range(2)]
    # "slow" took its transaction id first, so it comes first, though it committed last.
    assert [(e["story"], e["version"]) for e in late] == [("slow", 1), ("quick", 3)]


async def test_a_revoked_token_ends_the_stream(server_url: str, database: Database) -> None:
    token_id, consumer = await create_token(database, Role.CONSUMER, "Partner")
    async with follow(server_url, consumer) as follower:
        assert await follower.block() == {"retry": "1000"}
        await revoke_token(database, token_id)
        while (block := await follower.block()) is not None:
            assert block.get("event") == "heartbeat"
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.get(f"{server_url}{FEED}", headers={**consumer, "Accept": "text/event-stream"})
    assert response.status_code == 401
