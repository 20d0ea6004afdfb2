"""Update headlines (issue 15 part 3): an optional plain-text ``title`` on updates, correctable,
in the history with a diff, shown as the update's heading, the key events' label and the
JSON-LD ``headline``; hostile titles refused."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from liveblog.store.database import Database
from tests.api.helpers import assert_problem, event_count, open_story, post_update

BASE = "/api/v1/stories/border-raid"


async def test_a_title_is_posted_corrected_removed_and_shown(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str]
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor, title="  Governor <b>replies</b>  ", key_event=True)
    assert update["title"] == "Governor <b>replies</b>"
    page = (await client.get("/stories/border-raid")).text
    # Plain text, escaped: the heading, the key events' label, the JSON-LD headline.
    assert '<h3 class="update-title">Governor &lt;b&gt;replies&lt;/b&gt;</h3>' in page
    key_events = page[page.index('id="key-events"') : page.index("</ol>", page.index('id="key-events"'))]
    assert "Governor &lt;b&gt;replies&lt;/b&gt;" in key_events
    [ld] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page, flags=re.S)
    posting = json.loads(ld)["liveBlogUpdate"][0]
    assert posting["headline"] == "Governor <b>replies</b>"

    path = f"{BASE}/updates/{update['id']}"
    corrected = await client.post(
        f"{path}/corrections",
        json={"changes": {"title": "Governor refuses"}, "kind": "minor", "reason": "headline"},
        headers=editor,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["title"] == "Governor refuses"
    removed = await client.post(
        f"{path}/corrections",
        json={"changes": {"title": ""}, "kind": "minor", "reason": "no headline"},
        headers=editor,
    )
    assert removed.status_code == 200 and removed.json()["title"] is None
    assert_problem(
        await client.post(
            f"{path}/corrections",
            json={"changes": {"title": ""}, "kind": "minor", "reason": "again"},
            headers=editor,
        ),
        422,
    )
    history = (await client.get(f"{path}/history", headers=auditor)).json()["items"]
    assert history[1]["changes"]["title"] == {"from": "Governor <b>replies</b>", "to": "Governor refuses"}
    assert {"op": "insert", "text": "refuses"} in history[1]["diff"]["title"]
    assert history[2]["changes"]["title"] == {"from": "Governor refuses", "to": None}
    history_page = (await client.get("/stories/border-raid/history")).text
    assert 'data-field="title"' in history_page
    assert (await client.get(BASE, params={"at_version": 3})).json()["updates"][0][
        "title"
    ] == "Governor <b>replies</b>"


@pytest.mark.parametrize(
    "title",
    ["x" * 201, "Line\nbreak", "Bell\x07", "Bidi \u202e override", "   ", 42],
    ids=["too-long", "newline", "control", "bidi", "blank", "not-text"],
)
async def test_hostile_titles_are_422_and_record_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database, title: object
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    assert_problem(
        await client.post(f"{BASE}/updates", json={"body": "x", "title": title}, headers=editor), 422
    )
    correction = {"changes": {"title": title}, "kind": "minor", "reason": "r"}
    if title != "   ":  # a blank new title is an empty one: it removes a title (there is none: 422 too)
        assert_problem(
            await client.post(f"{BASE}/updates/{update['id']}/corrections", json=correction, headers=editor),
            422,
        )
    assert await event_count(database) == before


async def test_two_hundred_characters_are_enough(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    assert (await post_update(client, editor, title="é" * 200))["title"] == "é" * 200
