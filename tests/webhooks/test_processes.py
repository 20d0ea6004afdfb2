"""Deliveries from real ``liveblog serve`` processes: a server killed mid-stream resumes from
the endpoint's cursor when restarted (nothing lost; at most the delivery in flight twice),
and two servers on one PostgreSQL deliver each event once (one worker per endpoint)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from liveblog.store import event_store
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from liveblog.webhooks.worker import APPLICATION_NAME, LOCK_CLASS, lock_key
from tests.conftest import make_token
from tests.live.processes import ServerGroup, ServerProcess
from tests.webhooks.receiver import Receiver, running_receiver

API = "/api/v1"


@pytest.fixture
def webhook_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """What every server of these tests gets (tests.live.processes copies the environment)."""
    for name, value in {
        "LIVEBLOG_WEBHOOK_ALLOW_PRIVATE": "true",
        "LIVEBLOG_WEBHOOK_POLL_SECONDS": "0.5",
        "LIVEBLOG_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
        "LIVEBLOG_WEBHOOK_RETRY_MAX_SECONDS": "0.5",
    }.items():
        monkeypatch.setenv(name, value)


async def tokens_for(url: str) -> tuple[dict[str, str], dict[str, str]]:
    database = Database(url)
    try:
        admin = await make_token(database, Role.ADMIN, "Hook Admin")
        editor = await make_token(database, Role.EDITOR, "Hook Editor")
    finally:
        await database.dispose()
    return {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {editor}"}


async def every_event(url: str, *stories: str) -> list[tuple[str, int]]:
    database = Database(url)
    try:
        async with database.read() as connection:
            return [
                (story, event.version)
                for story in stories
                for event in await event_store.read_stream(connection, story)
            ]
    finally:
        await database.dispose()


async def post(
    http: httpx.AsyncClient, server: ServerProcess, editor: dict[str, str], slug: str, n: int
) -> None:
    response = await http.post(
        f"{server.url}{API}/stories/{slug}/updates", json={"body": f"Update {n} of {slug}."}, headers=editor
    )
    assert response.status_code == 201, response.text


async def open_published(
    http: httpx.AsyncClient, server: ServerProcess, editor: dict[str, str], slug: str
) -> None:
    response = await http.post(
        f"{server.url}{API}/stories",
        json={"title": f"Story {slug}", "slug": slug, "publish": True},
        headers=editor,
    )
    assert response.status_code == 201, response.text


def check(receiver: Receiver, secret: str, expected: list[tuple[str, int]]) -> Counter[str]:
    """Every expected event arrived, signed, in order per story; the count of each id."""
    payloads = [d.verified(secret) for d in receiver.accepted]
    first_seen: list[tuple[str, int]] = []
    for payload in payloads:
        key = (payload["story"], payload["version"])
        if key not in first_seen:
            first_seen.append(key)
    assert sorted(first_seen) == sorted(expected)
    for story in {story for story, _ in expected}:
        mine = [version for s, version in first_seen if s == story]
        assert mine == sorted(mine), f"{story} out of order: {mine}"
    return Counter(d.id for d in receiver.accepted)


async def test_a_server_killed_mid_stream_resumes_from_the_cursor(
    database: Database, tmp_path: Path, webhook_environment: None
) -> None:
    url = database.url  # migrated (SQLite too), on either backend
    admin, editor = await tokens_for(url)
    group = ServerGroup(url, tmp_path)
    try:
        [server] = await group.start(1)
        # A slow receiver, so a delivery is in flight when the server dies.
        async with running_receiver(Receiver(delay=0.05)) as receiver, httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{server.url}{API}/webhooks", json={"url": receiver.url}, headers=admin
            )
            assert response.status_code == 201, response.text
            hook = response.json()
            await open_published(http, server, editor, "restart-story")
            for n in range(30):
                await post(http, server, editor, "restart-story", n)
            await receiver.wait_for(lambda r: len(r.accepted) >= 8)
            assert server.process is not None
            server.process.kill()  # no shutdown: as a crash would
            await asyncio.to_thread(server.process.wait, 30)
            before_restart = len(receiver.accepted)
            assert before_restart < 32, "the stream was over before the kill; nothing was mid-stream"
            await server.start()
            for n in range(30, 40):
                await post(http, server, editor, "restart-story", n)
            expected = await every_event(url, "restart-story")
            await receiver.wait_for(lambda r: len({d.id for d in r.accepted}) >= len(expected))
            counts = check(receiver, hook["secret"], expected)
            repeated = [message for message, count in counts.items() if count > 1]
            assert len(repeated) <= 1, f"more than the delivery in flight was repeated: {repeated}"
            state = (await http.get(f"{server.url}{API}/webhooks/{hook['id']}", headers=admin)).json()
            assert state["status"] == "active"
    except BaseException:
        print(group.logs())
        raise
    finally:
        group.stop_all()


async def lock_holders(url: str, endpoint_id: str) -> list[dict[str, Any]]:
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    connection = await asyncpg.connect(dsn, timeout=10)
    try:
        rows = await connection.fetch(
            """SELECT a.application_name, l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
               WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1
                 AND l.objid::bigint = $2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
            LOCK_CLASS,
            lock_key(endpoint_id) % (1 << 32),
        )
    finally:
        await connection.close()
    return [dict(row) for row in rows]


@pytest.mark.postgres
async def test_two_servers_deliver_each_event_once(
    postgres_url: str, tmp_path: Path, webhook_environment: None
) -> None:
    admin, editor = await tokens_for(postgres_url)
    group = ServerGroup(postgres_url, tmp_path)
    try:
        servers = await group.start(2)
        async with running_receiver() as receiver, httpx.AsyncClient(timeout=30) as http:
            response = await http.post(
                f"{servers[0].url}{API}/webhooks", json={"url": receiver.url}, headers=admin
            )
            assert response.status_code == 201, response.text
            hook = response.json()
            stories = [f"two-servers-{n}" for n in range(4)]
            for index, slug in enumerate(stories):
                await open_published(http, servers[index % 2], editor, slug)

            async def write(server: ServerProcess, offset: int) -> None:
                for n in range(10):
                    await post(http, server, editor, stories[(n + offset) % 4], n)

            await asyncio.gather(write(servers[0], 0), write(servers[1], 1))
            expected = await every_event(postgres_url, *stories)
            await receiver.wait_for(lambda r: len({d.id for d in r.accepted}) >= len(expected))
            counts = check(receiver, hook["secret"], expected)
            assert set(counts.values()) == {1}, "an event was delivered twice"
            holders = await lock_holders(postgres_url, hook["id"])
            assert len(holders) == 1, holders
            names = {f"{APPLICATION_NAME} {s.process.pid}": s for s in servers if s.process is not None}
            holder = names[holders[0]["application_name"]]
            other = next(s for s in servers if s is not holder)

            # The holder's death hands the endpoint to the other server.
            assert holder.process is not None
            holder.process.kill()
            await asyncio.to_thread(holder.process.wait, 30)
            await open_published(http, other, editor, "after-failover")
            await post(http, other, editor, "after-failover", 0)
            expected += await every_event(postgres_url, "after-failover")
            await receiver.wait_for(lambda r: len({d.id for d in r.accepted}) >= len(expected))
            counts = check(receiver, hook["secret"], expected)
    except BaseException:
        print(group.logs())
        raise
    finally:
        group.stop_all()
