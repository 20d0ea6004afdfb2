"""Extra helpers for the API tests: tokens with ids, the raw event log, problem checks, HTML."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import httpx

from liveblog.store import event_store, tokens
from liveblog.store.database import Database
from liveblog.store.event_store import RecordedEvent
from liveblog.store.tokens import Role
from tests.api.helpers import assert_problem

PROBLEM = "urn:liveblog:problem:"
API = "/api/v1"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def create_token(
    database: Database, role: Role, name: str, *, expires_at: datetime | None = None
) -> tuple[str, dict[str, str]]:
    """A new token: its id (for revocation) and its Authorization headers."""
    async with database.write() as connection:
        info, secret = await tokens.create(
            connection, name=name, role=role, now=datetime.now(UTC), expires_at=expires_at
        )
    return info.id, bearer(secret)


async def revoke_token(database: Database, token_id: str) -> None:
    async with database.write() as connection:
        assert await tokens.revoke(connection, token_id, now=datetime.now(UTC))


async def stream(database: Database, slug: str) -> list[RecordedEvent]:
    """The raw events of story ``slug``, in version order."""
    async with database.read() as connection:
        return await event_store.read_stream(connection, slug)


def assert_problem_of(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    """An RFC 9457 problem with ``status`` and type ``urn:liveblog:problem:<kind>``."""
    document = assert_problem(response, status)
    assert document["type"] == PROBLEM + kind, document
    assert isinstance(document["title"], str) and document["title"]
    assert isinstance(document["detail"], str) and document["detail"]
    assert "Traceback" not in response.text
    return document


def assert_validation(response: httpx.Response, *locs: tuple[str, ...]) -> list[dict[str, Any]]:
    """A 422 validation problem whose ``errors`` name each location in ``locs`` (prefix match)."""
    document = assert_problem_of(response, 422, "validation-failed")
    errors = document["errors"]
    assert isinstance(errors, list) and errors, document
    for error in errors:
        assert set(error) == {"loc", "msg", "type"}, error
    seen = [tuple(error["loc"]) for error in errors]
    for loc in locs:
        assert any(found[: len(loc)] == loc for found in seen), (loc, seen)
    return list(errors)


def all_keys(document: Any) -> Iterator[str]:
    """Every object key anywhere in a JSON document."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from all_keys(value)
    elif isinstance(document, list):
        for item in document:
            yield from all_keys(item)


class Elements(HTMLParser):
    """The elements of an HTML fragment as (tag, attributes), in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(fragment: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Elements()
    parser.feed(fragment)
    parser.close()
    return parser.found
