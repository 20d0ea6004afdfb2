from __future__ import annotations

import httpx

from tests.api.helpers import open_story, post_update


async def test_an_editor_posts_and_a_reader_reads(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    story = (await client.get("/api/v1/stories/border-raid")).json()
    assert [u["id"] for u in story["updates"]] == [update["id"]]
