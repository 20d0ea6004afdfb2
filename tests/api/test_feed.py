"""docs/api.md "The change feed": ``GET /api/v1/events`` as JSON pages and NDJSON; who may
read it, what a consumer sees (no drafts), and cursors that are not ours."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest

from liveblog.store import feed
from liveblog.store.database import Database
from liveblog.store.feed import FeedCursor
from liveblog.store.tokens import Role
from tests.api.helpers import assert_problem, open_story, post_update
from tests.conftest import make_token

FEED = "/api/v1/events"


@pytest.fixture
async def consumer(database: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(database, Role.CONSUMER, 'Search indexer')}"}


async def read_feed(
    client: httpx.AsyncClient,
    database: Database,
    headers: dict[str, str],
    *,
    limit: int = 3,
    ndjson: bool = False,
) -> list[dict[str, Any]]:
    """The whole feed, page by page, until ``next`` stops moving with nothing held back
    (on PostgreSQL the horizon holds events back while any older transaction of the
    cluster, other tests' included, is open)."""
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit} if after is None else {"limit": limit, "after": after}
        accept = {"Accept": "application/x-ndjson"} if ndjson else {}
        response = await client.get(FEED, params=params, headers={**headers, **accept})
        assert response.status_code == 200, response.text
        if ndjson:
            assert response.headers["content-type"].startswith("application/x-ndjson")
            page = [json.loads(line) for line in response.text.splitlines()]
            following = response.headers["liveblog-next"]
        else:
            page, following = response.json()["items"], response.json()["next"]
        items += page
        if page:
            assert following == page[-1]["cursor"]
        if following == after and not await _held_back(database, following):
            return items
        if following == after:
            await asyncio.sleep(0.02)
        after = following


async def _held_back(database: Database, cursor: str) -> bool:
    async with database.read() as connection:
        return await feed.held_back(connection, FeedCursor.decode(cursor))


def story_versions(items: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(item["story"], item["version"]) for item in items]


async def test_the_feed_is_every_event_of_every_story_in_commit_order(
    client: httpx.AsyncClient,
    database: Database,
    editor: dict[str, str],
    auditor: dict[str, str],
    consumer: dict[str, str],
) -> None:
    await open_story(client, editor, slug="first")
    await open_story(client, editor, slug="second")
    await post_update(client, editor, slug="first")
    await post_update(client, editor, slug="second")
    items = await read_feed(client, database, auditor)
    assert story_versions(items) == [
        ("first", 1),
        ("first", 2),
        ("second", 1),
        ("second", 2),
        ("first", 3),
        ("second", 3),
    ]
    # Shaped like a story's …/events items, plus its story and cursor.
    story_log = (await client.get("/api/v1/stories/first/events", headers=auditor)).json()["items"]
    assert [
        {k: v for k, v in item.items() if k not in ("story", "cursor")}
        for item in items
        if item["story"] == "first"
    ] == story_log
    assert len({item["cursor"] for item in items}) == len(items)
    for limit in (1, 2, 100):
        assert await read_feed(client, database, consumer, limit=limit) == items
        assert await read_feed(client, database, consumer, limit=limit, ndjson=True) == items


async def test_a_consumer_never_sees_drafts(
    client: httpx.AsyncClient,
    database: Database,
    editor: dict[str, str],
    auditor: dict[str, str],
    admin: dict[str, str],
    consumer: dict[str, str],
) -> None:
    """A story never published: nothing; one with a draft period: from its publication on
    (the draft's headline and a retracted draft update never reach a consumer)."""
    await open_story(client, editor, slug="secret-draft", title="Secret headline", publish=False)
    await post_update(client, editor, slug="secret-draft", body="Secret update.")
    await open_story(client, editor, slug="prepared", title="Draft headline", publish=False)
    withdrawn = await post_update(client, editor, slug="prepared", body="Draft-only text.")
    response = await client.post(
        f"/api/v1/stories/prepared/updates/{withdrawn['id']}/retraction",
        json={"reason": "not ready", "note": "Withdrawn."},
        headers=editor,
    )
    assert response.status_code == 200, response.text
    revised = await client.patch(
        "/api/v1/stories/prepared", json={"title": "Published headline", "reason": "final"}, headers=editor
    )
    assert revised.status_code == 200, revised.text
    assert (await client.post("/api/v1/stories/prepared/publish", headers=editor)).status_code == 200
    await post_update(client, editor, slug="prepared", body="Public update.")
    await open_story(client, editor, slug="public")

    everything = await read_feed(client, database, auditor)
    assert story_versions(await read_feed(client, database, admin)) == story_versions(everything)
    assert {item["story"] for item in everything} == {"secret-draft", "prepared", "public"}
    seen = await read_feed(client, database, consumer, limit=1)
    assert story_versions(seen) == [("prepared", 5), ("prepared", 6), ("public", 1), ("public", 2)]
    assert seen[0]["type"] == "StoryPublished"
    text = json.dumps(seen)
    for secret in ("Secret", "Draft headline", "Draft-only"):
        assert secret not in text
    # Elsewhere a consumer token reads as a reader: drafts are 404, writes 403.
    assert (await client.get("/api/v1/stories/secret-draft", headers=consumer)).status_code == 404
    assert_problem(
        await client.post("/api/v1/stories/public/updates", json={"body": "x"}, headers=consumer), 403
    )
    assert_problem(await client.get("/api/v1/stories/public/events", headers=consumer), 403)


async def test_who_may_read_the_feed(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], consumer: dict[str, str]
) -> None:
    assert_problem(await client.get(FEED), 401)
    assert_problem(await client.get(FEED, headers={"Authorization": "Bearer lb_nonsense"}), 401)
    assert_problem(await client.get(FEED, headers=editor), 403)
    for headers in (auditor, consumer):
        response = await client.get(FEED, headers=headers)
        assert response.status_code == 200
        assert response.json()["items"] == []
        assert response.headers["cache-control"] == "private, no-cache"


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "hostile",
    [
        "0",
        "-1",
        "x" * 65,
        "x" * 5000,
        "%00",
        "ZjEuNzQ5LjEwNDI=",
        _b64("f1.-1.2"),
        _b64("f1.9223372036854775808.1"),
        _b64("f1.1.2'; DROP TABLE events; --"),
        "\u202eZjEu",
    ],
)
async def test_a_cursor_that_is_not_ours_is_a_problem_not_an_error(
    client: httpx.AsyncClient, auditor: dict[str, str], hostile: str
) -> None:
    for accept in ("application/json", "application/x-ndjson", "text/event-stream"):
        response = await client.get(FEED, params={"after": hostile}, headers={**auditor, "Accept": accept})
        assert_problem(response, 422)
    raw = [(k.encode(), v.encode()) for k, v in {**auditor, "Accept": "text/event-stream"}.items()]
    # Raw bytes, as a hostile client sends them.
    response = await client.get(FEED, headers=[*raw, (b"Last-Event-ID", hostile.encode("utf-8"))])
    assert_problem(response, 422)
    for limit in ("0", "1001", "ten"):
        assert_problem(await client.get(FEED, params={"limit": limit}, headers=auditor), 422)
