"""The reference story plays through the command path, and reads back as the newsroom wrote it."""

from __future__ import annotations

import httpx

from liveblog import demo
from liveblog.application import Application
from liveblog.store.database import Database
from tests.api.helpers import event_count


async def test_the_demo_is_the_whole_reference_story(
    application: Application, client: httpx.AsyncClient
) -> None:
    ids = await demo.play(application.database, signer=application.signer)
    response = await client.get(f"/api/v1/stories/{demo.SLUG}")
    assert response.status_code == 200
    story = response.json()

    assert story["status"] == "closed"
    assert story["title"].startswith("Belgorod governor says he is ready")
    assert len(story["updates"]) == 12 and story["next"] is None

    deadline = next(u for u in story["updates"] if u["id"] == ids["deadline"])
    assert "17:00 local time (14:00 GMT)" in deadline["body"]
    assert [n["kind"] for n in deadline["notes"]] == ["correction"]
    assert "5 p.m. GMT" in deadline["notes"][0]["note"]
    assert deadline["key_event"] and deadline["media"][0]["kind"] == "video"

    duplicate = next(u for u in story["updates"] if u["id"] == ids["duplicate"])
    assert duplicate["status"] == "retracted" and "duplicated" in duplicate["retraction"]["note"]
    denial = next(u for u in story["updates"] if u["id"] == ids["denial"])
    assert denial["status"] == "published" and denial["body"] == duplicate["body"]

    assert [u["id"] for u in story["pinned"]] == [ids["standing-note"]]
    governor = next(u for u in story["updates"] if u["id"] == ids["governor"])
    assert governor["key_event"] and not governor["pinned"]
    assert [u["id"] for u in story["key_events"]] == [ids["repelled"], ids["governor"], ids["deadline"]]

    no_reaction = next(u for u in story["updates"] if u["id"] == ids["no-reaction"])
    assert [n["kind"] for n in no_reaction["notes"]] == ["clarification"]

    shelling = next(u for u in story["updates"] if u["id"] == ids["shelling"])
    assert "earlier on Sunday" in shelling["body"] and shelling["notes"] == [] and shelling["revision"] == 2

    for post in ("claim", "deadline", "captives", "ministry", "repelled"):
        item = next(u for u in story["updates"] if u["id"] == ids[post])
        assert item["verification"]["status"] == "unverified"
        assert item["verification"]["note"] == demo.STANDING_NOTE


async def test_playing_the_demo_again_records_nothing_new(
    application: Application, database: Database
) -> None:
    first = await demo.play(database, signer=application.signer)
    count = await event_count(database)
    again = await demo.play(database, signer=application.signer)
    assert again == first
    assert await event_count(database) == count == demo.STEP_COUNT + 1  # open also publishes


async def test_the_demo_leaves_an_open_story_that_a_newcomer_can_post_to(
    application: Application, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await demo.play(application.database, signer=application.signer)
    await demo.play_try_story(application.database, signer=application.signer)
    story = (await client.get(f"/api/v1/stories/{demo.TRY_SLUG}")).json()
    assert story["status"] == "live" and story["title"] == demo.TRY_TITLE
    assert len(story["updates"]) == demo.TRY_STEP_COUNT - 1  # the other step opens it
    assert "Welcome" in story["updates"][-1]["body"]

    posted = await client.post(
        f"/api/v1/stories/{demo.TRY_SLUG}/updates", json={"body": "Hello from a test"}, headers=editor
    )
    assert posted.status_code == 201, posted.text
    assert (await client.get(f"/api/v1/stories/{demo.SLUG}")).json()["status"] == "closed"


async def test_playing_the_open_story_again_records_nothing_and_reopens_it_if_closed(
    application: Application, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    first = await demo.play_try_story(database, signer=application.signer)
    assert first.version == demo.TRY_STEP_COUNT + 1  # open also publishes
    again = await demo.play_try_story(database, signer=application.signer)
    assert again.version == first.version and await event_count(database) == first.version

    closed = await client.post(f"/api/v1/stories/{demo.TRY_SLUG}/close", headers=editor)
    assert closed.status_code == 200
    reopened = await demo.play_try_story(database, signer=application.signer)
    assert reopened.status.value == "live" and reopened.version == first.version + 2
