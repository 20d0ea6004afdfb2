"""Idempotency-Key: a retry gets the first response byte for byte and records nothing new."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import API, assert_problem_of, create_token, stream
from tests.api.helpers import event_count, open_story, post_update

STORY = f"{API}/stories/border-raid"
UPDATES = f"{STORY}/updates"
REPLAYED_HEADERS = ("content-type", "etag", "location")


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


def assert_same_response(first: httpx.Response, again: httpx.Response) -> None:
    assert again.status_code == first.status_code
    assert again.content == first.content
    for name in REPLAYED_HEADERS:
        assert again.headers.get(name) == first.headers.get(name), name


async def test_a_replayed_post_returns_the_first_response_and_appends_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    body: dict[str, Any] = {"body": "Fighters crossed at dawn.", "sources": [{"name": "Ministry"}]}
    before = await event_count(database)
    first = await client.post(UPDATES, json=body, headers=keyed(editor, "post-1"))
    assert first.status_code == 201, first.text
    assert first.headers["location"].endswith(first.json()["id"])
    assert await event_count(database) == before + 1
    for _ in range(3):
        again = await client.post(UPDATES, json=body, headers=keyed(editor, "post-1"))
        assert_same_response(first, again)
    assert await event_count(database) == before + 1
    items = (await client.get(UPDATES)).json()["items"]
    assert [item["id"] for item in items] == [first.json()["id"]]
    events = await stream(database, "border-raid")
    assert events[-1].metadata.get("idempotency_key") == "post-1"


async def test_a_replay_is_the_first_response_even_after_the_story_moved_on(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    body = {"body": "Original text"}
    first = await client.post(UPDATES, json=body, headers=keyed(editor, "k"))
    assert first.status_code == 201
    update_id = first.json()["id"]
    corrected = await client.post(
        f"{UPDATES}/{update_id}/corrections",
        json={"changes": {"body": "Corrected text"}, "kind": "minor", "reason": "typo"},
        headers=editor,
    )
    assert corrected.status_code == 200
    assert (await client.post(f"{STORY}/close", headers=editor)).status_code == 200
    before = await event_count(database)
    again = await client.post(UPDATES, json=body, headers=keyed(editor, "k"))
    assert_same_response(first, again)  # not a 409 for the closed story, not the corrected text
    assert again.json()["body"] == "Original text"
    assert await event_count(database) == before


async def test_the_same_key_with_a_different_body_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    first = await client.post(UPDATES, json={"body": "One"}, headers=keyed(editor, "k"))
    assert first.status_code == 201
    before = await event_count(database)
    for body in ({"body": "Two"}, {"body": "One", "pinned": True}, {"body": "One", "byline": "Kim"}):
        response = await client.post(UPDATES, json=body, headers=keyed(editor, "k"))
        assert response.status_code == 422, (body, response.text)
        assert_problem_of(response, 422, "idempotency-key-reused")
    assert await event_count(database) == before
    assert [item["body"] for item in (await client.get(UPDATES)).json()["items"]] == ["One"]
    # The key still answers its own request.
    assert_same_response(first, await client.post(UPDATES, json={"body": "One"}, headers=keyed(editor, "k")))


async def test_the_same_key_on_another_route_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    await open_story(client, editor, slug="second-story")
    first = await client.post(UPDATES, json={"body": "One"}, headers=keyed(editor, "shared"))
    assert first.status_code == 201
    before = await event_count(database)
    elsewhere = await client.post(
        f"{API}/stories/second-story/updates", json={"body": "One"}, headers=keyed(editor, "shared")
    )
    assert_problem_of(elsewhere, 422, "idempotency-key-reused")
    close = await client.post(f"{STORY}/close", headers=keyed(editor, "shared"))
    assert_problem_of(close, 422, "idempotency-key-reused")
    assert await event_count(database) == before
    assert (await client.get(STORY)).json()["status"] == "live"


async def test_keys_are_scoped_per_token(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    _, colleague = await create_token(database, Role.EDITOR, "Second Editor")
    _, same_name = await create_token(database, Role.EDITOR, "Olena Editor")  # another token, same person
    before = await event_count(database)
    body = {"body": "Same words, same key"}
    mine = await client.post(UPDATES, json=body, headers=keyed(editor, "shared-key"))
    theirs = await client.post(UPDATES, json=body, headers=keyed(colleague, "shared-key"))
    other_token = await client.post(UPDATES, json=body, headers=keyed(same_name, "shared-key"))
    for response in (mine, theirs, other_token):
        assert response.status_code == 201, response.text
    assert len({mine.json()["id"], theirs.json()["id"], other_token.json()["id"]}) == 3
    assert theirs.json()["author"] == {"name": "Second Editor"}
    assert await event_count(database) == before + 3
    # A different body under another token's key is not a conflict either.
    different = await client.post(
        UPDATES, json={"body": "Other words"}, headers=keyed(colleague, "mine-only")
    )
    assert different.status_code == 201
    # And each token's replay is its own first response.
    assert_same_response(mine, await client.post(UPDATES, json=body, headers=keyed(editor, "shared-key")))
    assert_same_response(
        theirs, await client.post(UPDATES, json=body, headers=keyed(colleague, "shared-key"))
    )
    assert await event_count(database) == before + 4


async def test_replaying_body_less_posts_and_opening_a_story(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    body = {"title": "Keyed story", "slug": "keyed"}
    opened = await client.post(f"{API}/stories", json=body, headers=keyed(editor, "open"))
    assert opened.status_code == 201
    before = await event_count(database)
    assert_same_response(
        opened, await client.post(f"{API}/stories", json=body, headers=keyed(editor, "open"))
    )
    assert await event_count(database) == before  # not a 409 for the taken slug

    published = await client.post(f"{API}/stories/keyed/publish", headers=keyed(editor, "publish"))
    assert published.status_code == 200 and published.json()["status"] == "live"
    again = await client.post(f"{API}/stories/keyed/publish", headers=keyed(editor, "publish"))
    assert_same_response(published, again)  # not a 409 for publishing a live story
    assert await event_count(database) == before + 1


async def test_a_refused_request_does_not_use_up_its_key(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    assert (await client.post(f"{STORY}/close", headers=editor)).status_code == 200
    body = {"body": "Waiting to go out"}
    refused = await client.post(UPDATES, json=body, headers=keyed(editor, "retry-me"))
    assert_problem_of(refused, 409, "story-is-closed")
    assert (await client.post(f"{STORY}/reopen", headers=editor)).status_code == 200
    before = await event_count(database)
    accepted = await client.post(UPDATES, json=body, headers=keyed(editor, "retry-me"))
    assert accepted.status_code == 201, accepted.text
    assert await event_count(database) == before + 1


async def test_concurrent_retries_with_one_key_record_once(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    body = {"body": "Sent five times by a flaky client"}
    responses = await asyncio.gather(
        *(client.post(UPDATES, json=body, headers=keyed(editor, "flaky")) for _ in range(5))
    )
    assert all(response.status_code == 201 for response in responses), [r.text for r in responses]
    assert len({response.content for response in responses}) == 1
    assert await event_count(database) == before + 1


async def test_one_key_sent_to_two_stories_at_once_records_once(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """Writes to different stories run in parallel, so both may find the key unused: the
    one that stores it second decides again and finds it used for another request (422),
    never a 500."""
    for story in ("north", "south"):
        await open_story(client, editor, slug=story)
    before = await event_count(database)
    for attempt in range(5):
        responses = await asyncio.gather(
            *(
                client.post(
                    f"{API}/stories/{story}/updates",
                    json={"body": f"Posted to {story}"},
                    headers=keyed(editor, f"shared-{attempt}"),
                )
                for story in ("north", "south")
            )
        )
        assert sorted(r.status_code for r in responses) == [201, 422], [r.text for r in responses]
        assert_problem_of(next(r for r in responses if r.status_code == 422), 422, "idempotency-key-reused")
    assert await event_count(database) == before + 5


async def test_an_unusable_key_is_400(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    for key in ("k" * 256, ""):
        response = await client.post(UPDATES, json={"body": "x"}, headers=keyed(editor, key))
        assert response.status_code == 400, (len(key), response.text)
        assert_problem_of(response, 400, "bad-request")
    assert await event_count(database) == before
    longest = await client.post(UPDATES, json={"body": "x"}, headers=keyed(editor, "k" * 255))
    assert longest.status_code == 201, longest.text
    assert_same_response(
        longest, await client.post(UPDATES, json={"body": "x"}, headers=keyed(editor, "k" * 255))
    )
    assert await event_count(database) == before + 1


async def test_without_a_key_every_post_records(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    first = await post_update(client, editor, body="Same")
    second = await post_update(client, editor, body="Same")
    assert first["id"] != second["id"]
    assert await event_count(database) == before + 2
