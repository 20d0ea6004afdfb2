"""Fixtures of the security suite.

* ``settings`` is overridden here so a test can lower any limit with the ``limits`` marker,
  e.g. ``@pytest.mark.limits(write_burst=3)`` (keyword arguments of :class:`Settings`).
* ``server_url`` (a real uvicorn in the test's loop) is the one of ``tests/live``.
* ``identities``: the seven callers of the authorization matrix, as request headers.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveblog.config import Settings
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import create_token, revoke_token
from tests.live.conftest import server_url  # noqa: F401  (re-exported fixture)

API = "/api/v1"
MALFORMED = {"Authorization": "Bearer not-a-liveblog-token"}
IDENTITIES = (
    "anonymous",
    "malformed",
    "revoked",
    "expired",
    "editor",
    "auditor",
    "admin",
    "consumer",
    "contributor",
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "limits(**settings): Settings overrides for this test's server")


@pytest.fixture
def settings(database: Database, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    marker = request.node.get_closest_marker("limits")
    overrides: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    # No checkpoint signed by the sealing sweep behind a test's back (see tests/conftest.py).
    overrides.setdefault("checkpoint_within_seconds", 3600)
    return Settings(database_url=database.url, signing_key_path=tmp_path / "signing.key", **overrides)


@dataclass
class Identity:
    name: str
    headers: dict[str, str]
    token_id: str | None = None


@pytest.fixture
async def identities(database: Database) -> dict[str, Identity]:
    """Anonymous; a malformed token; a revoked and an expired *admin* token (so that
    accepting either would grant everything); a live editor, auditor, admin and consumer token."""
    found = {"anonymous": Identity("anonymous", {}), "malformed": Identity("malformed", dict(MALFORMED))}
    revoked_id, revoked = await create_token(database, Role.ADMIN, "Revoked Admin")
    await revoke_token(database, revoked_id)
    found["revoked"] = Identity("revoked", revoked, revoked_id)
    past = datetime.now(UTC) - timedelta(minutes=5)
    expired_id, expired = await create_token(database, Role.ADMIN, "Expired Admin", expires_at=past)
    found["expired"] = Identity("expired", expired, expired_id)
    for role, name in (
        (Role.EDITOR, "Matrix Editor"),
        (Role.AUDITOR, "Matrix Auditor"),
        (Role.ADMIN, "Matrix Admin"),
        (Role.CONSUMER, "Matrix Consumer"),
        (Role.CONTRIBUTOR, "Matrix Contributor"),
    ):
        token_id, headers = await create_token(database, role, name)
        found[role.value] = Identity(role.value, headers, token_id)
    assert tuple(found) == IDENTITIES or set(found) == set(IDENTITIES)
    return found


# ----------------------------------------------------------------- live helpers


def ws_url(server: str, slug: str, after: int | str = 0) -> str:
    return f"{server.replace('http', 'ws', 1)}{API}/stories/{slug}/live?after={after}"


async def receive(connection: ClientConnection, timeout: float = 10) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(connection.recv(), timeout)))


async def close_code(connection: ClientConnection, timeout: float = 10) -> int | None:
    """Read (and drop) messages until the server closes; the close code it sent."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                await connection.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None


async def ws_outcome(
    server: str, slug: str, headers: dict[str, str], after: int = 0
) -> dict[str, Any] | int | None:
    """The first message of a subscription (a dict), or the close code if closed first."""
    async with connect(ws_url(server, slug, after), additional_headers=headers) as connection:
        try:
            return await receive(connection)
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd is not None else None


async def ws_backlog(
    server: str, slug: str, headers: dict[str, str] | None = None, after: int = 0
) -> list[str]:
    """Every raw text frame of a subscription from ``after`` up to the story's current version."""
    frames: list[str] = []
    async with connect(ws_url(server, slug, after), additional_headers=headers or {}) as connection:
        hello_text = await asyncio.wait_for(connection.recv(), 10)
        frames.append(str(hello_text))
        current = json.loads(hello_text)["version"]
        version = after
        while version < current:
            text = str(await asyncio.wait_for(connection.recv(), 10))
            frames.append(text)
            message = json.loads(text)
            if message["type"] == "event":
                version = message["version"]
            elif message["type"] == "reset":
                break
    return frames


async def sse_blocks(
    server: str,
    slug: str,
    headers: dict[str, str] | None = None,
    after: int = 0,
    until_version: int | None = None,
    count: int | None = None,
) -> tuple[httpx.Response, list[list[str]]]:
    """An SSE subscription: the response and its blocks (lists of lines). Reads ``count``
    blocks, or up to the event of ``until_version``, or else just the hello block; nothing
    when the response is not 200."""
    blocks: list[list[str]] = []
    async with httpx.AsyncClient(base_url=server, timeout=10) as http:
        request_headers = {"Accept": "text/event-stream", **(headers or {})}
        async with http.stream(
            "GET", f"{API}/stories/{slug}/live", params={"after": after}, headers=request_headers
        ) as response:
            if response.status_code != 200:
                await response.aread()
                return response, blocks
            block: list[str] = []
            async with asyncio.timeout(20):
                async for line in response.aiter_lines():
                    if line:
                        block.append(line)
                        continue
                    blocks.append(block)
                    block = []
                    if count is not None:
                        if len(blocks) >= count:
                            break
                        continue
                    if until_version is None:
                        break
                    ids = [int(part[4:]) for part in blocks[-1] if part.startswith("id: ")]
                    if ids and ids[0] >= until_version:
                        break
    return response, blocks


async def published_story(
    client: httpx.AsyncClient, editor: dict[str, str], slug: str, **fields: Any
) -> dict[str, Any]:
    """A published story ``slug`` with one update; returns that update."""
    opened = await client.post(
        f"{API}/stories",
        json={"title": f"Story {slug}", "slug": slug, "publish": True, **fields},
        headers=editor,
    )
    assert opened.status_code == 201, opened.text
    posted = await client.post(
        f"{API}/stories/{slug}/updates", json={"body": f"First update of {slug}."}, headers=editor
    )
    assert posted.status_code == 201, posted.text
    return dict(posted.json())
