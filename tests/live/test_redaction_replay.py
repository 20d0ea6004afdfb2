"""docs/redaction.md, the live hub: once a redaction commits, no reader is served the text again,
whatever version it resumes from, over WebSocket and SSE, on SQLite and PostgreSQL; a
process that starts afterwards replays the rewritten log the same way; and what the hub
still held (its replay, a reader's queue, a reader's owed backlog) is re-encoded."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from liveblog.api.services import Services
from liveblog.live.hub import Frame, Hub
from liveblog.store import tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.helpers import open_story, post_update
from tests.live.processes import ServerGroup
from tests.live.test_websocket import events_until, receive, ws_url

SLUG = "border-raid"
SECRET = "Quillon-Vantregarde"
"""A name a court ordered removed: in the body, the byline, a source, a caption, the notes."""
REASON = "internal: the order names a minor"
BASIS = "court order 2026/123"
NOTE = "Removed on the order of the court."


async def redact(client: httpx.AsyncClient, admin: dict[str, str], update_id: str) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/stories/{SLUG}/updates/{update_id}/redaction",
        json={"legal_basis": BASIS, "note": NOTE, "reason": REASON},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def write_the_secret(
    client: httpx.AsyncClient, editor: dict[str, str], *, opened: bool = False
) -> tuple[dict[str, Any], int]:
    """A story whose update 3 holds the secret everywhere text can be, changed three times,
    around an update that does not; returns the update and the story's version."""
    if not opened:
        await open_story(client, editor)  # 1, 2: published at once, so readers replay from 0
    target = await post_update(
        client,
        editor,
        body=f"Witnesses say **{SECRET}** was at the checkpoint.",
        byline=f"Reported with {SECRET}",
        sources=[{"name": f"{SECRET}'s neighbour", "url": "https://example.org/source"}],
        media=[{"kind": "image", "url": "https://example.org/p.jpg", "caption": f"{SECRET} at dawn"}],
        verification={"status": "disputed", "note": f"{SECRET} denies it"},
    )  # 3
    await post_update(client, editor, body="Another update, about the weather.")  # 4
    corrected = await client.post(
        f"/api/v1/stories/{SLUG}/updates/{target['id']}/corrections",
        json={
            "changes": {"body": f"Witnesses say {SECRET} was near the checkpoint."},
            "kind": "correction",
            "reason": f"{SECRET} asked",
            "note": f"{SECRET} was near, not at, the checkpoint.",
        },
        headers=editor,
    )  # 5
    assert corrected.status_code == 200, corrected.text
    flagged = await client.put(
        f"/api/v1/stories/{SLUG}/updates/{target['id']}/flags", json={"key_event": True}, headers=editor
    )  # 6
    assert flagged.status_code == 200, flagged.text
    return target, 6


async def ws_replay(server_url: str, after: int, version: int) -> list[str]:
    """Every message text a WebSocket reader gets from ``after`` up to ``version``."""
    texts = []
    async with connect(ws_url(server_url, SLUG, after=after)) as connection:
        hello = await receive(connection)
        assert hello["type"] == "hello" and hello["version"] == version
        texts.append(json.dumps(hello))
        if after < version:
            texts += [json.dumps(m, ensure_ascii=False) for m in await events_until(connection, version)]
    return texts


async def sse_replay(server_url: str, after: int, version: int) -> list[str]:
    """Every ``data:`` line a Server-Sent Events reader gets from ``after`` up to ``version``."""
    texts: list[str] = []
    async with (
        httpx.AsyncClient(base_url=server_url, timeout=10) as http,
        http.stream(
            "GET", f"/api/v1/stories/{SLUG}/live?after={after}", headers={"Accept": "text/event-stream"}
        ) as response,
    ):
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if not line.startswith("data: "):
                continue
            texts.append(line[6:])
            message = json.loads(line[6:])
            if message["version"] >= version and (message["type"] == "event" or after >= version):
                break
    return texts


def assert_no_trace(texts: list[str]) -> None:
    for text in texts:
        assert SECRET not in text and SECRET.lower() not in text.lower()
        assert REASON not in text


async def test_replay_from_any_version_after_a_redaction_holds_no_trace(
    server_url: str,
    client: httpx.AsyncClient,
    editor: dict[str, str],
    admin: dict[str, str],
    services: Services,
) -> None:
    target, version = await write_the_secret(client, editor)
    async with connect(ws_url(server_url, SLUG, after=0)) as live:
        assert (await receive(live))["type"] == "hello"
        before = await events_until(live, version)
        # The search below finds what it looks for: the hub holds the text before.
        assert any(SECRET in json.dumps(m, ensure_ascii=False) for m in before)
        assert any(SECRET in text for text in await sse_replay(server_url, 0, version))

        redacted = await redact(client, admin, target["id"])
        version += 1
        # The open reader is sent the redaction as an ordinary event: the tombstone.
        (message,) = await events_until(live, version)
    assert message["event"] == "UpdateRedacted" and message["update"] == redacted
    assert message["update"]["status"] == "redacted"
    assert message["update"]["redaction"]["legal_basis"] == BASIS
    assert message["update"]["redaction"]["note"] == NOTE
    assert_no_trace([json.dumps(message, ensure_ascii=False)])

    for after in range(version + 1):
        ws = await ws_replay(server_url, after, version)
        sse = await sse_replay(server_url, after, version)
        assert_no_trace(ws)
        assert_no_trace(sse)
    # What a replay from 0 says of the redacted update at every version: its tombstone.
    replayed = [json.loads(text) for text in await ws_replay(server_url, 0, version)][1:]
    about = [m for m in replayed if m["update"] is not None and m["update"]["id"] == target["id"]]
    assert [m["version"] for m in about] == [3, 5, 6, 7]
    for m in about:
        assert m["update"]["status"] == "redacted" and m["update"]["body"] == ""
        assert m["update"]["redaction"] == redacted["redaction"]
        # As the past read model has it at that version: its revision and flags then.
        past = (await client.get(f"/api/v1/stories/{SLUG}", params={"at_version": m["version"]})).json()
        (then,) = [u for u in past["updates"] if u["id"] == target["id"]]
        assert m["update"] == then
    # The other update is untouched.
    assert replayed[3]["update"]["body"] == "Another update, about the weather."


async def test_a_hub_that_starts_after_the_redaction_replays_the_rewritten_log(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str], services: Services
) -> None:
    """As a process started after the redaction (or one whose channel was idle) would: it
    reads the rewritten events from the store."""
    target, version = await write_the_secret(client, editor)
    redacted = await redact(client, admin, target["id"])
    fresh = Hub(services.application)
    subscription = await fresh.subscribe(SLUG, 0)
    assert [frame.version for frame in subscription.backlog] == list(range(1, version + 2))
    assert_no_trace([frame.text for frame in subscription.backlog])
    for frame in subscription.backlog:
        update = json.loads(frame.text)["update"]
        if update is not None and update["id"] == target["id"]:
            assert update["status"] == "redacted" and update["redaction"] == redacted["redaction"]


async def test_what_the_hub_holds_for_readers_is_re_encoded_when_the_redaction_arrives(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str], services: Services
) -> None:
    """A reader's owed backlog not yet sent and its queue not yet read, both holding the
    text, are rewritten in place when the hub reads the redaction."""
    hub = Hub(services.application)  # not woken by commits: it reads when asked, below
    await open_story(client, editor)
    owed = await hub.subscribe(SLUG, 0)  # owed versions 1..2; its queue gets the rest
    target, version = await write_the_secret(client, editor, opened=True)
    late = await hub.subscribe(SLUG, version)  # reads 3..6: queued for `owed`
    backlogged = await hub.subscribe(SLUG, 0)  # owed 1..6, holding the text
    assert any(SECRET in frame.text for frame in backlogged.backlog)

    await redact(client, admin, target["id"])
    await hub.subscribe(SLUG, version + 1)  # the hub reads the redaction

    assert_no_trace([frame.text for frame in backlogged.backlog])
    queued: list[Frame] = []
    while (frame := await owed.subscriber.next(timeout=0)) is not None:
        queued.append(frame)
    assert [frame.version for frame in queued] == list(range(3, version + 2))
    assert_no_trace([frame.text for frame in queued])
    # Re-encoded once per message: the queue and the backlog share the new text.
    assert [frame.version for frame in backlogged.backlog[2:]] == [3, 4, 5, 6]
    assert all(q.text is b.text for q, b in zip(queued[:4], backlogged.backlog[2:], strict=True))
    late_frames = [await late.subscriber.next(timeout=0)]
    assert [frame.version for frame in late_frames if frame is not None] == [version + 1]
    # A hub that starts now, from the rewritten log, replays the very same bytes.
    fresh = await Hub(services.application).subscribe(SLUG, 0)
    seen = await hub.subscribe(SLUG, 0)
    assert [frame.text for frame in fresh.backlog] == [frame.text for frame in seen.backlog]


async def headers_of(database_url: str, *roles: Role) -> list[dict[str, str]]:
    database = Database(database_url)
    try:
        async with database.write() as connection:
            made = [
                await tokens.create(connection, name=f"{role.value} token", role=role, now=datetime.now(UTC))
                for role in roles
            ]
        return [{"Authorization": f"Bearer {secret}"} for _, secret in made]
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_another_process_re_encodes_its_replay_when_it_reads_the_redaction(
    postgres_url: str, tmp_path: Path
) -> None:
    """Server A commits the redaction; server B, whose reader had the text, learns of it by
    NOTIFY, reads the UpdateRedacted event and from then on replays the tombstone."""
    group = ServerGroup(postgres_url, tmp_path)
    try:
        a, b = await group.start(2)
        editor, admin = await headers_of(postgres_url, Role.EDITOR, Role.ADMIN)
        async with httpx.AsyncClient(base_url=a.url, timeout=30, trust_env=False) as through_a:
            target, version = await write_the_secret(through_a, editor)
            async with connect(b.live_url(SLUG, 0)) as live:
                assert (await receive(live))["type"] == "hello"
                assert any(SECRET in json.dumps(m) for m in await events_until(live, version))
                redacted = await redact(through_a, admin, target["id"])
                (message,) = await events_until(live, version + 1)
                assert message["update"] == redacted
                # B's channel still has a reader, so what follows is served from its memory.
                assert_no_trace(await ws_replay(b.url, 0, version + 1))
                assert_no_trace(await sse_replay(b.url, 0, version + 1))
            assert_no_trace(await ws_replay(a.url, 0, version + 1))
    finally:
        await asyncio.to_thread(group.stop_all)
        print(group.logs())
