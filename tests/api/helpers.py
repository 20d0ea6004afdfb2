"""Small helpers for API tests: open a story, post an update, read the log."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select

from liveblog.store.database import Database
from liveblog.store.tables import events


async def open_story(
    client: httpx.AsyncClient, headers: dict[str, str], slug: str = "border-raid", **fields: Any
) -> dict[str, Any]:
    body = {"title": "Raid across the border", "slug": slug, "publish": True, **fields}
    response = await client.post("/api/v1/stories", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def post_update(
    client: httpx.AsyncClient, headers: dict[str, str], slug: str = "border-raid", **fields: Any
) -> dict[str, Any]:
    body = {"body": "Fighters say they crossed the border at dawn.", **fields}
    response = await client.post(f"/api/v1/stories/{slug}/updates", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def event_count(database: Database) -> int:
    async with database.read() as connection:
        return int((await connection.execute(select(func.count()).select_from(events))).scalar_one())


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The response is an RFC 9457 problem with ``status``; returns its document."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    document = dict(response.json())
    assert {"type", "title", "status", "detail"} <= document.keys()
    assert document["status"] == status
    return document
