"""The OpenAPI document describes every route, and every event names the actor behind it."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from liveblog.store.database import Database
from liveblog.store.tables import events
from tests.api.helpers import open_story, post_update

API_PATHS = {
    "/api/v1/stories": {"get", "post"},
    "/api/v1/stories/{slug}": {"get", "patch"},
    "/api/v1/stories/{slug}/publish": {"post"},
    "/api/v1/stories/{slug}/close": {"post"},
    "/api/v1/stories/{slug}/reopen": {"post"},
    "/api/v1/stories/{slug}/updates": {"get", "post"},
    "/api/v1/stories/{slug}/updates/{update_id}": {"get"},
    "/api/v1/stories/{slug}/updates/{update_id}/corrections": {"post"},
    "/api/v1/stories/{slug}/updates/{update_id}/verification": {"put"},
    "/api/v1/stories/{slug}/updates/{update_id}/flags": {"put"},
    "/api/v1/stories/{slug}/updates/{update_id}/retraction": {"post"},
}


async def test_openapi_documents_every_route_with_its_problems(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    for path, methods in API_PATHS.items():
        assert set(document["paths"][path]) == methods, path
    correction = document["paths"]["/api/v1/stories/{slug}/updates/{update_id}/corrections"]["post"]
    assert {"200", "412", "422"} <= set(correction["responses"])
    assert "Update" in document["components"]["schemas"]
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


async def test_every_event_records_the_token_that_caused_it(
    client: httpx.AsyncClient, database: Database, editor: dict[str, str], admin: dict[str, str]
) -> None:
    await open_story(client, editor)
    await post_update(client, admin, byline="Agency staff")
    async with database.read() as connection:
        rows = (
            await connection.execute(select(events.c.type, events.c.meta).order_by(events.c.position))
        ).all()
    actors = [(row.type, row.meta["actor"]["name"], row.meta["actor"]["role"]) for row in rows]
    assert actors == [
        ("StoryOpened", "Olena Editor", "editor"),
        ("StoryPublished", "Olena Editor", "editor"),
        ("UpdatePosted", "Sam Admin", "admin"),
    ]
    assert all(len(row.meta["actor"]["id"]) == 16 for row in rows)
