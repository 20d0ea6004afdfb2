"""Scheduled posts through the API (issue 15 part 2): scheduling, the newsroom's listing,
reschedule, cancel, publish now, the scheduler firing, a cancel racing a fire, hostile
times; and that readers see nothing of an item on any surface until it is published."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from liveblog.application import Application
from liveblog.config import Settings
from liveblog.domain import commands as c
from liveblog.errors import ScheduleNotPending
from liveblog.projections import rebuild
from liveblog.scheduler import SCHEDULER, Scheduler
from liveblog.store.database import Database
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tables import events
from liveblog.store.tokens import Role
from tests.api.helpers import assert_problem, open_story
from tests.conftest import make_token

BASE = "/api/v1/stories/border-raid"
SECRET = "The governor agrees to meet the fighters"


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """No scheduler task: each test fires what it means to, when it means to (the task is
    tested in tests/live/test_scheduler_processes.py); a skew of half a second."""
    return Settings(
        database_url=database.url,
        signing_key_path=tmp_path / "signing.key",
        write_rate_per_minute=1_000_000,
        write_burst=1_000_000,
        checkpoint_within_seconds=3600,
        scheduler=False,
        schedule_skew_seconds=0.5,
    )


@pytest.fixture
async def consumer(database: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(database, Role.CONSUMER, 'Indexer')}"}


def ahead(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def schedule(
    client: httpx.AsyncClient, editor: dict[str, str], publish_at: str, **fields: Any
) -> dict[str, Any]:
    body = {"body": SECRET, "title": "Governor replies", **fields, "publish_at": publish_at}
    response = await client.post(f"{BASE}/updates", json=body, headers=editor)
    assert response.status_code == 202, response.text
    item = dict(response.json())
    assert response.headers["location"] == f"{BASE}/scheduled/{item['id']}"
    return item


async def logged(database: Database, event_type: str) -> list[dict[str, Any]]:
    async with database.read() as connection:
        rows = await connection.execute(
            select(events.c.data, events.c.meta)
            .where(events.c.type == event_type)
            .order_by(events.c.position)
        )
        return [{**row.data, "_actor": row.meta["actor"]} for row in rows]


async def feed_types(client: httpx.AsyncClient, headers: dict[str, str]) -> set[str]:
    """The types of the events in the change feed (a hidden event may end a page: the
    cursor moves past it, docs/api.md)."""
    types: set[str] = set()
    after: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 100} if after is None else {"limit": 100, "after": after}
        page = (await client.get("/api/v1/events", params=params, headers=headers)).json()
        types |= {item["type"] for item in page["items"]}
        if page["next"] == after:
            break
        after = page["next"]
    return types


async def until_published(scheduler: Scheduler, deadline: float = 60.0) -> list[tuple[str, str]]:
    """Fire until something is published (generous deadline, no timing asserted)."""
    async with asyncio.timeout(deadline):
        while not (fired := await scheduler.fire_due()):
            await asyncio.sleep(0.1)
    return fired


async def test_a_future_publish_at_schedules_the_update_for_the_newsroom_alone(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    consumer: dict[str, str],
    database: Database,
) -> None:
    await open_story(client, editor)
    item = await schedule(client, editor, ahead(hours=1), key_event=True)
    assert item["kind"] == "update" and item["status"] == "scheduled"
    assert item["scheduled_by"] and item["published_at"] is None and item["late"] is False
    assert item["update"]["body"] == SECRET and item["update"]["title"] == "Governor replies"

    listed = (await client.get(f"{BASE}/scheduled", headers=editor)).json()
    assert [i["id"] for i in listed["items"]] == [item["id"]] and listed["next"] is None
    assert (await client.get(f"{BASE}/scheduled/{item['id']}", headers=editor)).json() == item
    assert (await client.get(f"{BASE}/scheduled", params={"status": "published"}, headers=editor)).json()[
        "items"
    ] == []

    # Readers: nothing anywhere.
    assert_problem(await client.get(f"{BASE}/scheduled"), 401)
    assert_problem(await client.get(f"{BASE}/scheduled", headers=consumer), 403)
    assert_problem(await client.get(f"{BASE}/scheduled", headers=auditor), 403)
    story = await client.get(BASE)
    assert SECRET not in story.text and story.json()["key_events"] == []
    assert_problem(await client.get(f"{BASE}/updates/{item['id']}"), 404)
    version = story.json()["version"]
    assert SECRET not in (await client.get(BASE, params={"at_version": version})).text
    for page in ("", "/history", "/feed.atom", "/feed.json", "/embed", "/fragment"):
        response = await client.get(f"/stories/border-raid{page}")
        assert response.status_code == 200, page
        assert SECRET not in response.text and "Governor replies" not in response.text, page
    assert SECRET not in (await client.get(f"{BASE}/revisions")).text
    assert "UpdateScheduled" not in await feed_types(client, consumer)
    assert "UpdateScheduled" in await feed_types(client, auditor)
    assert await rebuild.check(database) == []


async def test_publish_now_publishes_it_once_with_its_headline(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    item = await schedule(client, editor, ahead(hours=1))
    response = await client.post(f"{BASE}/scheduled/{item['id']}/publication", headers=editor)
    assert response.status_code == 201, response.text
    update = response.json()
    assert (update["id"], update["title"], update["body"]) == (item["id"], "Governor replies", SECRET)
    assert_problem(await client.post(f"{BASE}/scheduled/{item['id']}/publication", headers=editor), 409)
    assert_problem(await client.post(f"{BASE}/scheduled/{item['id']}/cancellation", headers=editor), 409)
    assert_problem(
        await client.patch(
            f"{BASE}/scheduled/{item['id']}", json={"publish_at": ahead(hours=2)}, headers=editor
        ),
        409,
    )
    done = (await client.get(f"{BASE}/scheduled/{item['id']}", headers=editor)).json()
    assert done["status"] == "published" and done["published_at"] == update["published_at"]
    [posted] = await logged(database, "UpdatePosted")
    assert posted["scheduled_id"] == item["id"] and posted["scheduled_for"] == item["publish_at"]
    assert "late" not in posted
    page = (await client.get("/stories/border-raid")).text
    assert '<h3 class="update-title">Governor replies</h3>' in page


async def test_reschedule_and_cancel(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    item = await schedule(client, editor, ahead(hours=1))
    later = datetime.now(UTC) + timedelta(hours=3)
    moved = await client.patch(
        f"{BASE}/scheduled/{item['id']}", json={"publish_at": later.isoformat()}, headers=editor
    )
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["publish_at"]) == later
    assert_problem(
        await client.patch(
            f"{BASE}/scheduled/{item['id']}", json={"publish_at": ahead(hours=-1)}, headers=editor
        ),
        422,
    )
    cancelled = await client.post(f"{BASE}/scheduled/{item['id']}/cancellation", headers=editor)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert_problem(await client.post(f"{BASE}/scheduled/{item['id']}/cancellation", headers=editor), 409)
    assert_problem(await client.post(f"{BASE}/scheduled/{item['id']}/publication", headers=editor), 409)
    assert_problem(await client.get(f"{BASE}/scheduled/nope", headers=editor), 404)
    assert_problem(await client.post(f"{BASE}/scheduled/nope/cancellation", headers=editor), 404)
    assert_problem(await client.get("/api/v1/stories/no-such/scheduled", headers=editor), 404)
    assert await logged(database, "UpdatePosted") == []


@pytest.mark.parametrize(
    ("publish_at", "why"),
    [
        ("2020-01-01T00:00:00Z", "in the past"),
        ("2999-01-01T00:00:00Z", "days ahead"),
        ("2030-01-01T00:00:00", "timezone"),  # naive: no offset
        ("tomorrow", "datetime"),
        ("0001-01-01T00:00:00+14:00", "UTC"),
    ],
)
async def test_hostile_times_are_422_and_record_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database, publish_at: str, why: str
) -> None:
    await open_story(client, editor)
    for path, body in (
        (f"{BASE}/updates", {"body": "x", "publish_at": publish_at}),
        (f"{BASE}/publish", {"publish_at": publish_at}),
    ):
        response = await client.post(path, json=body, headers=editor)
        assert why.lower() in assert_problem(response, 422)["detail"].lower() or response.json().get(
            "errors"
        ), response.text
    assert await logged(database, "UpdateScheduled") == await logged(database, "UpdatePosted") == []


async def test_an_offset_is_kept_in_utc_and_a_time_within_the_skew_is_now(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    local = (datetime.now(UTC) + timedelta(hours=1)).astimezone(timezone(timedelta(hours=3))).isoformat()
    item = await schedule(client, editor, local)
    assert item["publish_at"].endswith("Z")
    assert datetime.fromisoformat(item["publish_at"]) == datetime.fromisoformat(local)
    now = await client.post(
        f"{BASE}/updates", json={"body": "Now.", "publish_at": ahead(seconds=-0.2)}, headers=editor
    )
    assert now.status_code == 201, now.text


async def test_the_scheduler_publishes_a_due_update_and_a_scheduled_publication(
    client: httpx.AsyncClient, editor: dict[str, str], application: Application, database: Database
) -> None:
    await open_story(client, editor, publish=False)
    publication = await client.post(f"{BASE}/publish", json={"publish_at": ahead(seconds=1)}, headers=editor)
    assert publication.status_code == 202, publication.text
    assert publication.json()["kind"] == "publication" and publication.json()["update"] is None
    assert_problem(await client.get(BASE), 404)  # still a draft
    item = await schedule(client, editor, ahead(seconds=1))
    scheduler = Scheduler(application)
    fired = set(await until_published(scheduler))
    while len(fired) < 2:
        fired |= set(await until_published(scheduler))
    assert fired == {("border-raid", publication.json()["id"]), ("border-raid", item["id"])}
    story = (await client.get(BASE)).json()
    assert story["status"] == "live" and [u["id"] for u in story["updates"]] == [item["id"]]
    [posted] = await logged(database, "UpdatePosted")
    [published] = await logged(database, "StoryPublished")
    assert posted["_actor"]["id"] == SCHEDULER.id == published["_actor"]["id"]
    assert datetime.fromisoformat(posted["at"]) >= datetime.fromisoformat(item["publish_at"])
    assert await scheduler.fire_due() == []  # nothing twice
    assert await rebuild.check(database) == []


@pytest.fixture
async def rival(database_url: str, tmp_path: Path) -> AsyncIterator[Application]:
    """A second application on its own engine: another server process's, as far as the
    database can tell (its own connections, its own locks)."""
    database = Database(database_url)
    try:
        yield Application(database)
    finally:
        await database.dispose()


async def test_a_cancel_racing_the_scheduler_has_exactly_one_outcome(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    application: Application,
    rival: Application,
    database: Database,
) -> None:
    await open_story(client, editor)
    items = [await schedule(client, editor, ahead(seconds=1), body=f"Item {n}.") for n in range(6)]
    await asyncio.sleep(1.2)  # due (the outcome is asserted, never the time)

    async def cancel(item_id: str) -> str:
        try:
            await application.handle(
                c.CancelSchedule(story="border-raid", schedule_id=item_id, at=application.clock()),
                SCHEDULER,
                lambda _state: StoredResponse(status=200, headers={}, body=""),
            )
        except ScheduleNotPending:
            return "refused"
        return "cancelled"

    ids = [item["id"] for item in items]
    outcomes = await asyncio.gather(
        Scheduler(rival).fire_due(), Scheduler(rival).fire_due(), *(cancel(i) for i in ids)
    )
    first, second, cancels = set(outcomes[0]), set(outcomes[1]), outcomes[2:]
    assert not first & second  # no item fired twice
    posted = {event["update_id"] for event in await logged(database, "UpdatePosted")}
    cancelled = {event["schedule_id"] for event in await logged(database, "ScheduleCancelled")}
    assert posted | cancelled == set(ids) and not posted & cancelled
    assert {i for i, outcome in zip(ids, cancels, strict=True) if outcome == "cancelled"} == cancelled
    assert {item_id for _, item_id in first | second} == posted
    listed = {
        i["id"]: i["status"] for i in (await client.get(f"{BASE}/scheduled", headers=editor)).json()["items"]
    }
    assert listed == {i: ("published" if i in posted else "cancelled") for i in ids}
    assert await rebuild.check(database) == []


async def test_a_redaction_removes_a_scheduled_updates_text_from_the_listing(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str]
) -> None:
    await open_story(client, editor)
    item = await schedule(client, editor, ahead(hours=1))
    await client.post(f"{BASE}/scheduled/{item['id']}/publication", headers=editor)
    redaction = {"legal_basis": "court order", "note": "Removed.", "reason": "order"}
    response = await client.post(f"{BASE}/updates/{item['id']}/redaction", json=redaction, headers=admin)
    assert response.status_code == 200, response.text
    listed = (await client.get(f"{BASE}/scheduled/{item['id']}", headers=editor)).json()
    assert listed["update"] is None and SECRET not in json.dumps(listed)
