"""Issue "Hardening" item 8: headers every response carries, and HEAD on every GET route.

* ``X-Content-Type-Options: nosniff`` on every HTTP response: JSON, problem+json, SSE,
  static files, 304, 405, 413, 500, HTML.
* ``HEAD`` answers every GET route (pages, API, static) as GET would, with no body.
"""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from liveblog.api.app import create_app
from liveblog.config import Settings
from tests.security.conftest import API, Identity, published_story, sse_blocks
from tests.security.routes import route_table
from tests.security.test_authorization_matrix import BUILDERS, LIVE_ROUTES, World, world  # noqa: F401


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


def _comparable(response: httpx.Response) -> dict[str, list[str]]:
    return {name: response.headers.get_list(name) for name in response.headers if name != "date"}


async def test_head_answers_every_get_route_like_get_without_a_body(
    world: World,  # noqa: F811
    identities: dict[str, Identity],
) -> None:
    """Over the route table: every GET route (pages, API, documentation, static files) and
    the static mount answer HEAD with GET's status and headers, and no body."""
    keys = sorted(key for key in route_table(create_app(Settings())) if key[0] in ("GET", "MOUNT"))
    assert len(keys) > 15
    headers = identities["admin"].headers  # admin may read every route
    wrong = []
    for key in keys:
        if key in LIVE_ROUTES:
            continue  # below: a stream
        call = await BUILDERS[key](world)
        got = await world.client.get(call.url, params=call.params, headers=headers)
        head = await world.client.head(call.url, params=call.params, headers=headers)
        label = f"{key[0]} {key[1]} ({call.url})"
        if not 200 <= got.status_code < 400:  # /redoc redirects to /docs
            wrong.append(f"{label}: GET -> {got.status_code}")
        if head.status_code != got.status_code:
            wrong.append(f"{label}: HEAD -> {head.status_code}, GET -> {got.status_code}")
        if head.content:
            wrong.append(f"{label}: HEAD has a body of {len(head.content)} bytes")
        if _comparable(head) != _comparable(got):
            wrong.append(f"{label}: headers differ: HEAD {_comparable(head)} GET {_comparable(got)}")
        conditional = got.headers.get("etag")
        if conditional:
            again = await world.client.head(
                call.url, params=call.params, headers={**headers, "If-None-Match": conditional}
            )
            if again.status_code not in (200, 304):
                wrong.append(f"{label}: conditional HEAD -> {again.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_head_on_the_event_stream_gives_its_headers_and_ends(
    world: World,  # noqa: F811
    server_url: str,
) -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=10) as http:
        for _ in range(3):  # it gives its connection slot back each time
            head = await http.head(
                f"{API}/stories/{world.slug}/live", headers={"Accept": "text/event-stream"}
            )
            assert head.status_code == 200 and head.content == b""
            assert head.headers["content-type"].startswith("text/event-stream")
            assert _nosniff(head)
        refused = await http.head(f"{API}/stories/{world.slug}/live")  # no Accept: as GET, 400
        assert refused.status_code == 400 and refused.content == b""
    response, blocks = await sse_blocks(server_url, world.slug)
    assert response.status_code == 200 and blocks


async def test_head_on_a_route_without_get_is_405(
    world: World,  # noqa: F811
    editor: dict[str, str],
) -> None:
    response = await world.client.head(f"{API}/stories/{world.slug}/publish", headers=editor)
    assert response.status_code == 405 and response.content == b""
