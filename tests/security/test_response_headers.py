"""Issue "Hardening" item 8: headers every response carries, and HEAD on every GET route.

* ``X-Content-Type-Options: nosniff`` on every HTTP response: JSON, problem+json, SSE,
  static files, 304, 405, 413, 500, HTML.
* ``HEAD`` answers every GET route (pages, API, static) as GET would, with no body.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from tests.security.conftest import API, published_story, sse_blocks


def _nosniff(response: httpx.Response) -> bool:
    return response.headers.get_list("x-content-type-options") == ["nosniff"]


@pytest.mark.limits(max_body_bytes=2048)
async def test_every_kind_of_response_says_nosniff(
    app: FastAPI, client: httpx.AsyncClient, editor: dict[str, str], server_url: str
) -> None:
    update = await published_story(client, editor, "sniffed")
    story = await client.get(f"{API}/stories/sniffed")

    async def boom() -> None:
        raise RuntimeError("an unexpected failure")

    app.add_api_route("/boom-for-the-test", boom)
    unraised = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://testserver"
    )
    async with unraised:
        crashed = await unraised.get("/boom-for-the-test")
    assert crashed.status_code == 500
    responses = {
        "json": story,
        "304": await client.get(f"{API}/stories/sniffed", headers={"If-None-Match": story.headers["etag"]}),
        "update": await client.get(f"{API}/stories/sniffed/updates/{update['id']}"),
        "404 problem": await client.get(f"{API}/stories/nowhere"),
        "422 problem": await client.get(f"{API}/stories/sniffed/updates", params={"limit": 0}),
        "401 problem": await client.get(f"{API}/stories", headers={"Authorization": "Bearer nope"}),
        "405 problem": await client.delete(f"{API}/stories/sniffed"),
        "413 problem": await client.post(f"{API}/stories", content=b"x" * 4096, headers=editor),
        "500 problem": crashed,
        "page": await client.get("/stories/sniffed"),
        "static": await client.get("/static/liveblog.css"),
        "openapi": await client.get("/openapi.json"),
    }
    sse, blocks = await sse_blocks(server_url, "sniffed")
    assert blocks
    responses["sse"] = sse
    assert responses["304"].status_code == 304
    missing = [f"{name} ({r.status_code})" for name, r in responses.items() if not _nosniff(r)]
    assert not missing, f"no (or a repeated) X-Content-Type-Options: nosniff on: {missing}"
