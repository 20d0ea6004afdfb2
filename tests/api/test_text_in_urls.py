"""Hostile text in paths, query strings and headers: a 4xx problem, never a 5xx."""

from __future__ import annotations

import httpx

from tests.api.fixtures_extra import API
from tests.api.helpers import assert_problem, open_story, post_update

NASTY = ["%00", "%ED%A0%80", "%FF", "%E2%80%AE", "%0D%0ASet-Cookie:%20x", "..%2F..%2F", "%F0%9F%98%80"]


async def test_hostile_text_in_a_path_or_query_is_a_4xx(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    story = f"{API}/stories/border-raid"
    urls = [
        url
        for nasty in NASTY
        for url in (
            f"{API}/stories/{nasty}",
            f"{story}/updates/{nasty}",
            f"{story}/updates/{nasty}/history",
            f"{story}/updates?before={nasty}",
            f"{story}/updates?limit={nasty}",
            f"{story}?as_of={nasty}",
            f"{story}?at_version={nasty}",
            f"{story}/updates/{update['id']}/history?after={nasty}",
            f"{story}/revisions?after={nasty}",
            f"/stories/{nasty}",
            f"/stories/border-raid/history?version={nasty}",
        )
    ]
    for url in urls:
        response = await client.get(url, headers=editor)
        assert response.status_code < 500, (url, response.status_code, response.text)
        if response.status_code >= 400 and url.startswith(API):
            assert_problem(response, response.status_code)


async def test_hostile_text_in_an_idempotency_key_or_precondition_is_a_4xx(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    values = ["\x7f", "a\tb", "\u00e9", "x" * 300]
    for headers in (
        {name: value} for value in values for name in ("Idempotency-Key", "If-Match", "If-None-Match")
    ):
        encoded = {name: text.encode() for name, text in headers.items()}
        post = await client.post(
            f"{API}/stories/border-raid/updates/{update['id']}/corrections",
            json={"changes": {"body": "Fixed"}, "kind": "minor", "reason": "typo"},
            headers={**editor, **encoded},
        )
        assert post.status_code < 500, (headers, post.text)
        read = await client.get(f"{API}/stories/border-raid", headers=encoded)
        assert read.status_code < 500, (headers, read.text)
