"""Live delivery of scheduled posts (issue 15): a scheduled item's events are the newsroom's
(an editor's subscription gets them), readers get none of them, live or from the backlog;
everyone gets the UpdatePosted that publishes it, with its headline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from websockets.asyncio.client import connect

from tests.api.helpers import open_story
from tests.live.test_websocket import events_until, receive, ws_url

BASE = "/api/v1/stories/border-raid"


async def test_readers_get_the_published_post_and_nothing_of_its_schedule(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)  # versions 1 and 2
    url = ws_url(server_url, "border-raid", after=2)
    async with connect(url) as reader, connect(url, additional_headers=editor) as desk:
        assert (await receive(reader))["type"] == (await receive(desk))["type"] == "hello"
        publish_at = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        scheduled = await client.post(
            f"{BASE}/updates",
            json={"body": "The governor replies.", "title": "Reply", "publish_at": publish_at},
            headers=editor,
        )
        assert scheduled.status_code == 202, scheduled.text  # version 3
        item_id = scheduled.json()["id"]
        moved = await client.patch(
            f"{BASE}/scheduled/{item_id}",
            json={"publish_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat()},
            headers=editor,
        )
        assert moved.status_code == 200, moved.text  # version 4
        published = await client.post(f"{BASE}/scheduled/{item_id}/publication", headers=editor)
        assert published.status_code == 201, published.text  # version 5
        seen_by_reader = await events_until(reader, 5)
        seen_by_desk = await events_until(desk, 5)
    assert [(m["version"], m["event"]) for m in seen_by_reader] == [(5, "UpdatePosted")]
    assert seen_by_reader[0]["update"]["title"] == "Reply"
    assert [(m["version"], m["event"]) for m in seen_by_desk] == [
        (3, "UpdateScheduled"),
        (4, "ScheduleChanged"),
        (5, "UpdatePosted"),
    ]
    # The newsroom's messages carry no text of the item (it is no update yet).
    assert seen_by_desk[0]["update"] is None and "governor" not in str(seen_by_desk[0])
    # A reader arriving later, from before the schedule: the backlog skips it too.
    async with connect(url) as late_reader:
        assert (await receive(late_reader))["version"] == 5
        assert [m["version"] for m in await events_until(late_reader, 5)] == [5]
