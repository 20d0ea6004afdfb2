"""The scheduler with real ``liveblog serve`` processes on one PostgreSQL database (issue 15):
two servers both running it publish every due item exactly once; an item that fell due
while every server was down is published when one starts, marked late in the log.

Times are seconds ahead; the tests wait for outcomes with generous deadlines and then
assert exactly-once, never how long anything took."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from liveblog.domain.decider import LATE_AFTER
from liveblog.store.database import Database
from liveblog.store.tables import events
from liveblog.store.tokens import Role
from tests.conftest import make_token
from tests.live.processes import ServerGroup, ServerProcess

pytestmark = pytest.mark.postgres

SLUG = "governor-reply"
FAST = {"LIVEBLOG_SCHEDULE_SKEW_SECONDS": "0.5"}
DEADLINE = 120.0


@pytest.fixture
async def group(postgres_url: str, tmp_path: Path) -> AsyncIterator[ServerGroup]:
    servers = ServerGroup(postgres_url, tmp_path)
    try:
        yield servers
    finally:
        await asyncio.to_thread(servers.stop_all)
        print(servers.logs())


async def editor_headers(postgres_url: str) -> dict[str, str]:
    database = Database(postgres_url)
    try:
        return {"Authorization": f"Bearer {await make_token(database, Role.EDITOR, 'Desk')}"}
    finally:
        await database.dispose()


async def posted(postgres_url: str) -> list[dict[str, Any]]:
    database = Database(postgres_url)
    try:
        async with database.read() as connection:
            rows = await connection.execute(
                select(events.c.data, events.c.meta).where(events.c.type == "UpdatePosted")
            )
            return [{**row.data, "_actor": row.meta["actor"]["id"]} for row in rows]
    finally:
        await database.dispose()


async def open_story(http: httpx.AsyncClient, server: ServerProcess, editor: dict[str, str]) -> None:
    body = {"title": "The governor's reply", "slug": SLUG, "publish": True}
    response = await http.post(f"{server.url}/api/v1/stories", json=body, headers=editor)
    assert response.status_code == 201, response.text


async def schedule(
    http: httpx.AsyncClient, server: ServerProcess, editor: dict[str, str], seconds: float, n: int
) -> dict[str, Any]:
    publish_at = (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()
    response = await http.post(
        f"{server.url}/api/v1/stories/{SLUG}/updates",
        json={"body": f"Scheduled {n}.", "title": f"Reply {n}", "publish_at": publish_at},
        headers=editor,
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


async def all_published(
    http: httpx.AsyncClient, server: ServerProcess, editor: dict[str, str], ids: set[str]
) -> dict[str, dict[str, Any]]:
    async with asyncio.timeout(DEADLINE):
        while True:
            response = await http.get(f"{server.url}/api/v1/stories/{SLUG}/scheduled", headers=editor)
            assert response.status_code == 200, response.text
            items = {item["id"]: item for item in response.json()["items"]}
            if all(items.get(i, {}).get("status") == "published" for i in ids):
                return items
            await asyncio.sleep(0.3)


async def test_two_servers_publish_each_due_item_exactly_once(group: ServerGroup, postgres_url: str) -> None:
    editor = await editor_headers(postgres_url)
    servers = await group.start(2, settings=FAST)
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        await open_story(http, servers[0], editor)
        items = [await schedule(http, servers[n % 2], editor, 2 + n * 0.3, n) for n in range(6)]
        ids = {item["id"] for item in items}
        listed = await all_published(http, servers[1], editor, ids)
        await asyncio.sleep(2)  # let a slower rival try too: it must be refused by state
        story = (await http.get(f"{servers[0].url}/api/v1/stories/{SLUG}")).json()
    published = [event["update_id"] for event in await posted(postgres_url)]
    assert sorted(published) == sorted(ids)  # each once, none twice
    assert {u["id"] for u in story["updates"]} == ids
    assert all(listed[i]["published_at"] for i in ids)


async def test_an_item_due_while_every_server_was_down_is_published_on_start_marked_late(
    group: ServerGroup, postgres_url: str
) -> None:
    editor = await editor_headers(postgres_url)
    # Scheduled on a server that runs no scheduler, which then stops: nothing runs one.
    [desk] = await group.start(1, settings={**FAST, "LIVEBLOG_SCHEDULER": "false"})
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
        await open_story(http, desk, editor)
        item = await schedule(http, desk, editor, 1, 0)
        await asyncio.to_thread(desk.stop)
        due = datetime.fromisoformat(item["publish_at"])
        while datetime.now(UTC) <= due + LATE_AFTER + timedelta(seconds=1):
            await asyncio.sleep(0.5)
        servers = await group.start(2, settings=FAST)
        listed = await all_published(http, servers[0], editor, {item["id"]})
    [event] = await posted(postgres_url)
    assert event["update_id"] == item["id"] and event["_actor"] == "scheduler"
    assert event["late"] is True and event["scheduled_for"] == item["publish_at"]
    assert datetime.fromisoformat(event["at"]) > due + LATE_AFTER  # when readers first saw it
    assert listed[item["id"]]["late"] is True
