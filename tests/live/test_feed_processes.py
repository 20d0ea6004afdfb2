"""The change feed end to end: 16 editors write to 16 stories through two ``liveblog serve``
processes on one PostgreSQL database while three consumers follow ``GET /api/v1/events``
(JSON pages, NDJSON pages, Server-Sent Events), each from either server, dropping the
connection at random and resuming from the last cursor it got. Each gets every event exactly
once, in the same order as the others and as the feed read at the end."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.conftest import make_token
from tests.live.processes import ServerGroup, ServerProcess

pytestmark = pytest.mark.postgres

FEED = "/api/v1/events"
WRITERS, UPDATES = 16, 8
TOTAL = WRITERS * (2 + UPDATES)  # each story: opened, published, then its updates


async def tokens(postgres_url: str) -> dict[str, dict[str, str]]:
    database = Database(postgres_url)
    try:
        found = {}
        for name, role in (
            ("editor", Role.EDITOR),
            ("consumer", Role.CONSUMER),
            ("auditor", Role.AUDITOR),
        ):
            found[name] = {"Authorization": f"Bearer {await make_token(database, role, name)}"}
        return found
    finally:
        await database.dispose()


async def writer(
    http: httpx.AsyncClient, servers: list[ServerProcess], editor: dict[str, str], n: int
) -> None:
    slug = f"ticker-{n}"
    body = {"title": f"Ticker {n}", "slug": slug, "publish": True}
    response = await http.post(f"{servers[n % 2].url}/api/v1/stories", json=body, headers=editor)
    assert response.status_code == 201, response.text
    for u in range(UPDATES):
        server = servers[(n + u + 1) % 2]
        response = await http.post(
            f"{server.url}/api/v1/stories/{slug}/updates", json={"body": f"Update {u}."}, headers=editor
        )
        assert response.status_code == 201, response.text


Done = Callable[[list[dict[str, Any]]], bool]


async def pager(
    http: httpx.AsyncClient,
    servers: list[ServerProcess],
    headers: dict[str, str],
    rng: random.Random,
    *,
    ndjson: bool,
) -> list[dict[str, Any]]:
    """Page through the feed from a random server each time with a random page size."""
    received: list[dict[str, Any]] = []
    after: str | None = None
    while len(received) < TOTAL:
        params: dict[str, Any] = {"limit": rng.randint(1, 20)}
        if after is not None:
            params["after"] = after
        accept = "application/x-ndjson" if ndjson else "application/json"
        response = await http.get(
            f"{rng.choice(servers).url}{FEED}", params=params, headers={**headers, "Accept": accept}
        )
        assert response.status_code == 200, response.text
        if ndjson:
            items = [json.loads(line) for line in response.text.splitlines()]
            following = response.headers["liveblog-next"]
        else:
            items, following = response.json()["items"], response.json()["next"]
        received += items
        if following == after:
            await asyncio.sleep(rng.random() / 20)
        after = following
    return received


async def follower(
    http: httpx.AsyncClient, servers: list[ServerProcess], headers: dict[str, str], rng: random.Random
) -> list[dict[str, Any]]:
    """Follow the feed over SSE; leave after a random number of events and come back to
    a random server with ``Last-Event-ID`` (or ``after``) = the last ``id`` received."""
    received: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(received) < TOTAL:
        budget = rng.randint(1, 40)
        request_headers = {**headers, "Accept": "text/event-stream"}
        params: dict[str, str] = {}
        if cursor is not None:
            if rng.random() < 0.5:
                request_headers["Last-Event-ID"] = cursor
            else:
                params["after"] = cursor
        url = f"{rng.choice(servers).url}{FEED}"
        async with http.stream("GET", url, params=params, headers=request_headers) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            block: dict[str, str] = {}
            while budget > 0 and len(received) < TOTAL:
                try:
                    line = await anext(lines)
                except StopAsyncIteration:
                    break  # the server ended the stream: come back as after a drop
                if line:
                    field, _, value = line.partition(": ")
                    block[field] = value
                    continue
                if "id" in block:
                    cursor = block["id"]
                if block.get("event") == "event":
                    item = json.loads(block["data"])
                    assert item["cursor"] == block["id"]
                    received.append(item)
                    budget -= 1
                block = {}
    return received


async def test_three_consumers_see_every_event_of_16_writers_on_two_servers_exactly_once(
    group: ServerGroup, postgres_url: str
) -> None:
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")
    servers = await group.start(2)
    found = await tokens(postgres_url)
    timeout = httpx.Timeout(30, read=None)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
        consumers = [
            asyncio.create_task(pager(http, servers, found["auditor"], random.Random(seed), ndjson=False)),
            asyncio.create_task(
                pager(http, servers, found["consumer"], random.Random(seed + 1), ndjson=True)
            ),
            asyncio.create_task(follower(http, servers, found["consumer"], random.Random(seed + 2))),
        ]
        await asyncio.wait_for(
            asyncio.gather(*(writer(http, servers, found["editor"], n) for n in range(WRITERS))), timeout=300
        )
        seen = await asyncio.wait_for(asyncio.gather(*consumers), timeout=300)
        final = await pager(http, servers, found["auditor"], random.Random(seed + 3), ndjson=False)
    order = [item["cursor"] for item in final]
    assert len(order) == len(set(order)) == TOTAL
    for received in seen:
        assert [item["cursor"] for item in received] == order  # each event once, in one order
    for n in range(WRITERS):
        versions = [item["version"] for item in final if item["story"] == f"ticker-{n}"]
        assert versions == list(range(1, 3 + UPDATES))
