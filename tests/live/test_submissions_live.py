"""Issue 15 part 1, live delivery: a submission's events never reach readers over the
WebSocket or SSE; staff get a message naming each (never its text: the queue is read through
its routes), so a desk knows to look; an approval reaches readers
as the ordinary ``UpdatePosted`` of the published update, whether the reader was connected
when it happened (its queue) or resumes from before it (the hub's replay)."""

from __future__ import annotations

import httpx
from websockets.asyncio.client import connect

from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import create_token
from tests.api.helpers import open_story, post_update
from tests.live.test_websocket import events_until, receive, ws_url
from tests.security.conftest import sse_blocks

SLUG = "border-raid"
QUEUE = f"/api/v1/stories/{SLUG}/submissions"
SECRET = "Zorvath-Quelline"


async def test_the_queue_is_never_sent_and_an_approval_arrives_as_a_post(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    contributor = (await create_token(database, Role.CONTRIBUTOR, "Field Reporter"))[1]
    await open_story(client, editor)  # 1, 2
    async with connect(ws_url(server_url, SLUG, 2)) as connected:
        assert (await receive(connected))["type"] == "hello"
        await post_update(client, editor)  # 3
        submitted = await client.post(QUEUE, json={"body": f"Seen: {SECRET}"}, headers=contributor)  # 4
        assert submitted.status_code == 201
        pending = submitted.json()
        rejected = await client.post(QUEUE, json={"body": f"Also {SECRET}"}, headers=contributor)  # 5
        await client.post(
            f"{QUEUE}/{rejected.json()['id']}/rejection", json={"note": f"No {SECRET}"}, headers=editor
        )  # 6
        approved = await client.post(
            f"{QUEUE}/{pending['id']}/approval", json={"changes": {"body": "Published text."}}, headers=editor
        )  # 7 (approval), 8 (the post)
        assert approved.status_code == 201
        await post_update(client, editor, body="After it.")  # 9
        live = await events_until(connected, 9)
    assert [(m["version"], m["event"]) for m in live] == [
        (3, "UpdatePosted"),
        (8, "UpdatePosted"),
        (9, "UpdatePosted"),
    ]
    assert live[1]["update"] == approved.json()
    # Resuming from before all of it (the hub's replay), as a reader and as an editor.
    async with connect(ws_url(server_url, SLUG, 2)) as resumed:
        assert (await receive(resumed))["type"] == "hello"
        replayed = await events_until(resumed, 9)
    assert [m["version"] for m in replayed] == [3, 8, 9]
    for headers, seen in (({}, [3, 8, 9]), (editor, [3, 4, 5, 6, 7, 8, 9])):
        response, blocks = await sse_blocks(server_url, SLUG, headers=headers, after=2, until_version=9)
        assert response.status_code == 200
        text = "\n".join("\n".join(block) for block in blocks)
        assert SECRET not in text
        ids = [int(line[4:]) for block in blocks for line in block if line.startswith("id: ")]
        assert ids == seen
