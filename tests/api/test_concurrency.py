"""Many writers at once: every write lands once, versions stay gapless, If-Match picks one winner."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import API, assert_problem_of, create_token, stream
from tests.api.helpers import event_count, open_story, post_update

STORY = f"{API}/stories/border-raid"
UPDATES = f"{STORY}/updates"


async def editors(database: Database, count: int) -> list[dict[str, str]]:
    return [(await create_token(database, Role.EDITOR, f"Editor {n:02d}"))[1] for n in range(count)]


async def test_twenty_editors_posting_at_once(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    story = await open_story(client, editor)
    assert story["version"] == 2
    crowd = await editors(database, 20)
    before = await event_count(database)

    responses = await asyncio.gather(
        *(
            client.post(UPDATES, json={"body": f"Report from editor {n}"}, headers=headers)
            for n, headers in enumerate(crowd)
        )
    )
    assert [r.status_code for r in responses] == [201] * 20, [
        r.text for r in responses if r.status_code != 201
    ]
    posted = {r.json()["id"]: r.json() for r in responses}
    assert len(posted) == 20
    assert {u["author"]["name"] for u in posted.values()} == {f"Editor {n:02d}" for n in range(20)}
    assert await event_count(database) == before + 20

    events = await stream(database, "border-raid")
    assert [e.version for e in events] == list(range(1, 23))
    assert len({e.position for e in events}) == 22
    assert [e.position for e in events] == sorted(e.position for e in events)
    posted_order = [e.data["update_id"] for e in events if e.type == "UpdatePosted"]
    assert set(posted_order) == set(posted)

    header = (await client.get(STORY)).json()
    assert header["version"] == 22
    listed = (await client.get(UPDATES, params={"limit": 100})).json()
    assert [u["id"] for u in listed["items"]] == list(reversed(posted_order))
    assert listed["next"] is None
    for update_id, update in posted.items():
        assert (await client.get(f"{UPDATES}/{update_id}")).json() == update


async def test_two_editors_correcting_with_the_same_if_match(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    first, second = await editors(database, 2)
    before = await event_count(database)

    def body(text: str) -> dict[str, str | dict[str, str]]:
        return {"changes": {"body": text}, "kind": "correction", "reason": "desk", "note": "Time corrected."}

    responses = await asyncio.gather(
        client.post(
            f"{UPDATES}/{update['id']}/corrections",
            json=body("Version A"),
            headers={**first, "If-Match": '"1"'},
        ),
        client.post(
            f"{UPDATES}/{update['id']}/corrections",
            json=body("Version B"),
            headers={**second, "If-Match": '"1"'},
        ),
    )
    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    winner = next(r for r in responses if r.status_code == 200)
    loser = next(r for r in responses if r.status_code == 412)
    problem = assert_problem_of(loser, 412, "revision-mismatch")
    assert problem["current_revision"] == 2
    assert winner.json()["revision"] == 2
    assert await event_count(database) == before + 1
    current = (await client.get(f"{UPDATES}/{update['id']}")).json()
    assert current["body"] == winner.json()["body"]
    assert current["body"] in ("Version A", "Version B")


async def test_two_editors_revising_the_headline_with_the_same_if_match(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    first, second = await editors(database, 2)
    before = await event_count(database)
    responses = await asyncio.gather(
        client.patch(STORY, json={"title": "Headline A"}, headers={**first, "If-Match": '"2"'}),
        client.patch(STORY, json={"title": "Headline B"}, headers={**second, "If-Match": '"2"'}),
    )
    assert sorted(r.status_code for r in responses) == [200, 412], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 412)
    assert assert_problem_of(loser, 412, "revision-mismatch")["current_revision"] == 3
    assert await event_count(database) == before + 1


async def test_concurrent_retractions_retract_once(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    crowd = await editors(database, 4)
    before = await event_count(database)
    responses = await asyncio.gather(
        *(
            client.post(
                f"{UPDATES}/{update['id']}/retraction",
                json={"reason": "wrong", "note": f"Withdrawn {n}"},
                headers=h,
            )
            for n, h in enumerate(crowd)
        )
    )
    assert Counter(r.status_code for r in responses) == {200: 1, 409: 3}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem_of(response, 409, "already-retracted")
    assert await event_count(database) == before + 1


async def test_concurrent_opens_of_one_slug_create_it_once(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    crowd = await editors(database, 10)
    before = await event_count(database)
    responses = await asyncio.gather(
        *(
            client.post(
                f"{API}/stories", json={"title": f"Take {n}", "slug": "contested", "publish": True}, headers=h
            )
            for n, h in enumerate(crowd)
        )
    )
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem_of(response, 409, "story-already-exists")
    winner = next(r for r in responses if r.status_code == 201).json()
    assert await event_count(database) == before + 2
    assert [e.version for e in await stream(database, "contested")] == [1, 2]
    assert (await client.get(f"{API}/stories/contested")).json()["title"] == winner["title"]


async def test_posts_racing_a_close_either_land_before_it_or_get_409(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    crowd = await editors(database, 8)
    before = await event_count(database)
    posts = [client.post(UPDATES, json={"body": f"Racing {n}"}, headers=h) for n, h in enumerate(crowd)]
    close = client.post(f"{STORY}/close", headers=editor)
    *post_responses, close_response = await asyncio.gather(*posts, close)
    assert close_response.status_code == 200, close_response.text
    accepted = [r for r in post_responses if r.status_code == 201]
    for response in post_responses:
        if response.status_code != 201:
            assert_problem_of(response, 409, "story-is-closed")
    events = await stream(database, "border-raid")
    assert await event_count(database) == before + len(accepted) + 1
    assert [e.version for e in events] == list(range(1, len(events) + 1))
    assert events[-1].type == "StoryClosed"  # nothing was posted after the close
    assert {e.data["update_id"] for e in events if e.type == "UpdatePosted"} == {
        r.json()["id"] for r in accepted
    }
    assert close_response.json()["version"] == len(events)


async def test_writers_on_different_stories_do_not_interfere(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    slugs = [f"story-{n}" for n in range(5)]
    for slug in slugs:
        await open_story(client, editor, slug=slug)
    crowd = await editors(database, 5)
    responses = await asyncio.gather(
        *(
            client.post(f"{API}/stories/{slug}/updates", json={"body": f"{slug} #{k}"}, headers=crowd[k])
            for slug in slugs
            for k in range(5)
        )
    )
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    for slug in slugs:
        events = await stream(database, slug)
        assert [e.version for e in events] == list(range(1, 8))
        items = (await client.get(f"{API}/stories/{slug}/updates")).json()["items"]
        assert sorted(item["body"] for item in items) == [f"{slug} #{k}" for k in range(5)]
        assert (await client.get(f"{API}/stories/{slug}")).json()["version"] == 7
