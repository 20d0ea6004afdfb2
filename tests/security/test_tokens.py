"""Issue item 2: tokens.

256-bit random secrets, stored only as a SHA-256 digest, shown once, optional expiry,
revocation effective at once (open WebSockets included), a last-used time, and every editor
write recording which token acted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import connect

from liveblog.api import live
from liveblog.store import tokens
from liveblog.store.database import Database
from liveblog.store.tables import tokens as tokens_table
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import bearer, create_token, revoke_token, stream
from tests.api.helpers import event_count
from tests.security.conftest import API, close_code, published_story, receive, ws_url

SECRET = re.compile(r"^lb_[A-Za-z0-9_-]{43}$")


async def _rows(database: Database) -> list[dict[str, object]]:
    async with database.read() as connection:
        result = await connection.execute(select(tokens_table))
        return [dict(row._mapping) for row in result]


async def test_secrets_carry_256_random_bits_and_never_repeat(database: Database) -> None:
    secrets_seen = set()
    for n in range(64):
        async with database.write() as connection:
            _, secret = await tokens.create(connection, name=f"t{n}", role=Role.EDITOR, now=datetime.now(UTC))
        assert SECRET.match(secret), secret
        raw = base64.urlsafe_b64decode(secret[3:] + "=")
        assert len(raw) * 8 >= 256
        secrets_seen.add(secret)
    assert len(secrets_seen) == 64
    # Every one of the 43 positions takes many values across 64 tokens: no fixed or counter part.
    for position in range(3, 46):
        assert len({secret[position] for secret in secrets_seen}) > 8, position


async def test_only_the_sha256_digest_is_stored(database: Database) -> None:
    token_id, headers = await create_token(database, Role.EDITOR, "Stored Editor")
    secret = headers["Authorization"].removeprefix("Bearer ")
    rows = [row for row in await _rows(database) if row["id"] == token_id]
    assert len(rows) == 1
    row = rows[0]
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    for column, value in row.items():
        text = str(value)
        assert secret not in text and secret[3:] not in text and secret[3:20] not in text, column


def _cli(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "liveblog.cli", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_shows_a_token_once_and_never_lists_it(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/cli.db",
        "LIVEBLOG_SIGNING_KEY_PATH": str(tmp_path / "signing.key"),
        "LIVEBLOG_LOG_LEVEL": "warning",
        "COLUMNS": "250",
    }
    assert _cli(environment, "migrate").returncode == 0
    created = _cli(
        environment, "token", "create", "--role", "editor", "--name", "Cli Editor", "--expires-in-days", "2"
    )
    assert created.returncode == 0, created.stderr
    lines = created.stdout.split()
    assert len(lines) == 1 and SECRET.match(lines[0]), created.stdout
    secret = lines[0]
    assert secret not in created.stderr
    listed = _cli(environment, "token", "list")
    assert listed.returncode == 0, listed.stderr
    assert "Cli Editor" in listed.stdout
    assert secret not in listed.stdout and secret[3:15] not in listed.stdout
    assert (tmp_path / "cli.db").read_bytes().find(secret.encode()) == -1


async def test_malformed_unknown_and_tampered_tokens_are_401_without_echo(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await published_story(client, editor, "open-story")
    good = editor["Authorization"].removeprefix("Bearer ")
    tampered = good[:-1] + ("A" if good[-1] != "A" else "B")
    headers = [
        "Bearer",
        "Bearer ",
        "Bearer    ",
        "Basic dXNlcjpwYXNzd29yZA==",
        f"Token {good}",
        "Bearer lb_",
        "Bearer lb_" + "A" * 43,
        f"Bearer {tampered}",
        f"Bearer {good[3:]}",
        f"Bearer {good}{good}",
        "Bearer lb_" + "x" * 5000,
        f"Bearer {good.upper()}",
    ]
    for value in headers:
        response = await client.get(f"{API}/stories/open-story", headers={"Authorization": value})
        assert response.status_code == 401, (value[:40], response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["www-authenticate"].lower().startswith("bearer")
        presented = value.partition(" ")[2].strip()
        if len(presented) >= 8:
            assert presented[:20] not in response.text, "the presented token is echoed back"
    # The scheme is case-insensitive (RFC 7235), the token is not.
    assert (
        await client.get(f"{API}/stories/open-story", headers={"Authorization": f"bearer {good}"})
    ).status_code == 200


async def test_expiry_is_enforced_and_optional(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "expiry")
    soon = datetime.now(UTC) + timedelta(hours=1)
    _, valid = await create_token(database, Role.EDITOR, "Valid Until Soon", expires_at=soon)
    _, lapsed = await create_token(
        database, Role.EDITOR, "Lapsed", expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    _, forever = await create_token(database, Role.EDITOR, "No Expiry")
    body = {"body": "Written with a token."}
    for headers in (valid, forever):
        assert (
            await client.post(f"{API}/stories/expiry/updates", json=body, headers=headers)
        ).status_code == 201
    before = await event_count(database)
    refused = await client.post(f"{API}/stories/expiry/updates", json=body, headers=lapsed)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    assert await event_count(database) == before


async def test_revocation_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "revoked")
    token_id, headers = await create_token(database, Role.ADMIN, "Soon Revoked")
    first = await client.post(f"{API}/stories/revoked/updates", json={"body": "One."}, headers=headers)
    assert first.status_code == 201
    await revoke_token(database, token_id)
    before = await event_count(database)
    second = await client.post(f"{API}/stories/revoked/updates", json={"body": "Two."}, headers=headers)
    assert second.status_code == 401 and "revoked" in second.json()["detail"]
    assert (await client.get(f"{API}/stories/revoked", headers=headers)).status_code == 401
    assert await event_count(database) == before


async def test_last_used_time_is_recorded(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "used")
    token_id, headers = await create_token(database, Role.AUDITOR, "Used Auditor")
    unused_id, _ = await create_token(database, Role.AUDITOR, "Unused Auditor")

    async def last_used(identifier: str) -> datetime | None:
        async with database.read() as connection:
            infos = {info.id: info for info in await tokens.list_all(connection)}
        return infos[identifier].last_used_at

    assert await last_used(token_id) is None
    started = datetime.now(UTC)
    assert (await client.get(f"{API}/stories/used/events", headers=headers)).status_code == 200
    used = await last_used(token_id)
    assert used is not None
    assert started - timedelta(seconds=5) <= used <= datetime.now(UTC) + timedelta(seconds=5)
    assert await last_used(unused_id) is None


async def test_editor_writes_record_which_token_acted(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], database: Database
) -> None:
    first_id, first = await create_token(database, Role.EDITOR, "First Editor")
    second_id, second = await create_token(database, Role.ADMIN, "Second Admin")
    opened = await client.post(
        f"{API}/stories", json={"title": "Who wrote it", "slug": "who", "publish": True}, headers=first
    )
    assert opened.status_code == 201
    posted = await client.post(f"{API}/stories/who/updates", json={"body": "By the admin."}, headers=second)
    assert posted.status_code == 201
    update_id = posted.json()["id"]
    fixed = await client.post(
        f"{API}/stories/who/updates/{update_id}/corrections",
        json={"changes": {"body": "By the admin, fixed."}, "kind": "minor", "reason": "typo"},
        headers=first,
    )
    assert fixed.status_code == 200
    recorded = await stream(database, "who")
    actors = [
        (event.type, event.metadata["actor"]["id"], event.metadata["actor"]["role"]) for event in recorded
    ]
    assert actors == [
        ("StoryOpened", first_id, "editor"),
        ("StoryPublished", first_id, "editor"),
        ("UpdatePosted", second_id, "admin"),
        ("UpdateCorrected", first_id, "editor"),
    ]
    # The same is what auditors are shown.
    events = (await client.get(f"{API}/stories/who/events", headers=auditor)).json()["items"]
    assert [(e["actor"]["id"], e["actor"]["name"]) for e in events] == [
        (first_id, "First Editor"),
        (first_id, "First Editor"),
        (second_id, "Second Admin"),
        (first_id, "First Editor"),
    ]


async def test_revoking_a_token_closes_its_open_websocket_with_4401(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "watched")
    token_id, headers = await create_token(database, Role.EDITOR, "Watching Editor")
    _, other = await create_token(database, Role.EDITOR, "Other Editor")
    async with (
        connect(ws_url(server_url, "watched", after=3), additional_headers=headers) as revoked_socket,
        connect(ws_url(server_url, "watched", after=3), additional_headers=other) as kept_socket,
        connect(ws_url(server_url, "watched", after=3)) as anonymous_socket,
    ):
        for connection in (revoked_socket, kept_socket, anonymous_socket):
            assert (await receive(connection))["type"] == "hello"
        await revoke_token(database, token_id)
        code = await close_code(revoked_socket, timeout=live.TOKEN_RECHECK_SECONDS * 3 + 4)
        assert code == 4401
        # The others are untouched: they still get what is posted next.
        await client.post(
            f"{API}/stories/watched/updates", json={"body": "After the revocation."}, headers=editor
        )
        for connection in (kept_socket, anonymous_socket):
            message = await receive(connection)
            while message["type"] != "event":
                message = await receive(connection)
            assert message["update"]["body"] == "After the revocation."


async def test_a_token_expiring_closes_its_open_websocket_with_4401(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "expiring")
    expires = datetime.now(UTC) + timedelta(seconds=3)
    _, headers = await create_token(database, Role.EDITOR, "Expiring Editor", expires_at=expires)
    async with connect(ws_url(server_url, "expiring", after=2), additional_headers=headers) as connection:
        assert (await receive(connection))["type"] == "hello"
        assert await close_code(connection, timeout=3 + live.TOKEN_RECHECK_SECONDS * 3 + 4) == 4401


async def test_revoking_a_token_ends_its_open_event_stream_of_a_draft(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """An editor's Server-Sent Events subscription to a draft must not go on delivering the
    draft to a token that has been revoked (the WebSocket closes with 4401 for the same)."""
    opened = await client.post(
        f"{API}/stories", json={"title": "Embargoed", "slug": "embargoed"}, headers=editor
    )
    assert opened.status_code == 201
    token_id, headers = await create_token(database, Role.EDITOR, "Leaving Editor")
    received: list[str] = []
    ended = asyncio.Event()

    async def follow() -> None:
        async with (
            httpx.AsyncClient(base_url=server_url, timeout=30) as http,
            http.stream(
                "GET",
                f"{API}/stories/embargoed/live",
                params={"after": 1},
                headers={"Accept": "text/event-stream", **headers},
            ) as response,
        ):
            assert response.status_code == 200
            async for line in response.aiter_lines():
                received.append(line)
        ended.set()

    follower = asyncio.create_task(follow())
    try:
        for _ in range(200):
            if any(line.startswith("event: hello") for line in received):
                break
            await asyncio.sleep(0.05)
        await revoke_token(database, token_id)
        await asyncio.sleep(live.TOKEN_RECHECK_SECONDS * 2 + 1)
        posted = await client.post(
            f"{API}/stories/embargoed/updates", json={"body": "EMBARGOED DRAFT TEXT"}, headers=editor
        )
        assert posted.status_code == 201
        await asyncio.sleep(2)
        leaked = [line for line in received if "EMBARGOED DRAFT TEXT" in line]
        assert not leaked, "a revoked token's event stream still received draft content"
        assert ended.is_set(), "a revoked token's event stream was left open"
    finally:
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)


@pytest.mark.parametrize("role", [Role.EDITOR, Role.AUDITOR, Role.ADMIN])
async def test_tokens_of_every_role_are_refused_once_revoked(
    role: Role, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await published_story(client, editor, "roles")
    token_id, headers = await create_token(database, role, f"Revoked {role.value}")
    await revoke_token(database, token_id)
    for path in (f"{API}/stories/roles", f"{API}/stories/roles/events", "/stories/roles/history"):
        assert (await client.get(path, headers=headers)).status_code == 401, path
    assert (await client.get(f"{API}/stories/roles", headers=bearer("lb_" + "0" * 43))).status_code == 401


async def test_an_idempotency_key_is_scoped_to_its_token_and_needs_a_valid_one(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """Another token sending the same Idempotency-Key gets a write of its own, never the first
    token's stored response; a revoked token cannot replay its own."""
    await published_story(client, editor, "keyed")
    path = f"{API}/stories/keyed/updates"
    body = {"body": "Same body, same key."}
    first_id, first = await create_token(database, Role.EDITOR, "First Keyholder")
    _, second = await create_token(database, Role.EDITOR, "Second Keyholder")
    one = await client.post(path, json=body, headers={**first, "Idempotency-Key": "shared-key"})
    again = await client.post(path, json=body, headers={**first, "Idempotency-Key": "shared-key"})
    other = await client.post(path, json=body, headers={**second, "Idempotency-Key": "shared-key"})
    assert one.status_code == again.status_code == other.status_code == 201
    assert again.json()["id"] == one.json()["id"]
    assert other.json()["id"] != one.json()["id"]
    assert other.json()["author"]["name"] == "Second Keyholder"
    await revoke_token(database, first_id)
    replay = await client.post(path, json=body, headers={**first, "Idempotency-Key": "shared-key"})
    assert replay.status_code == 401
