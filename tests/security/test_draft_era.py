"""Issue "Hardening", point 1: what a story was while it was a draft never reaches readers,
once it is published, on any surface (docs/live-drafts.md).

The draft is written with secrets that are then removed before publication: a headline and
summary that are revised, an update corrected with a minor edit, another with a correction,
and one retracted (its body, byline, sources, media, internal reason and public notice:
an update retracted while the story was a draft is draft content, left out for readers).
Everything an anonymous reader can fetch afterwards (the API, the pages, the WebSocket and
Server-Sent Events from every ``after`` that matters, ``Last-Event-ID`` too, from the hub's
store read and from its memory) must be free of every secret. Editors, and the auditors' log,
still have everything, which shows that the secrets were there to be leaked.
"""

from __future__ import annotations

import html
import json
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect

from liveblog.live import hub
from tests.api.fixtures_extra import assert_problem_of
from tests.security.conftest import API, receive, sse_blocks, ws_backlog, ws_url

SLUG = "early-report"
SECRETS = {
    "title": "HEADLINE-SECRET-51c2",
    "summary": "SUMMARY-SECRET-9e07",
    "minor": "MINOR-SECRET-3a44",
    "corrected": "CORRECTED-SECRET-d1f8",
    "retracted": "RETRACTED-SECRET-77b0",
    "retracted byline": "BYLINE-SECRET-0c5e",
    "retracted source": "SOURCE-SECRET-e3a9",
    "retracted media": "MEDIA-SECRET-4f12",
    "retraction reason": "REASON-SECRET-b86d",
    "retraction note": "NOTICE-SECRET-2d71",
}


async def _story_with_a_draft_past(client: httpx.AsyncClient, editor: dict[str, str]) -> dict[str, int]:
    """The story, its secrets written and removed while a draft, published, then updated
    twice in public. Returns the publication version and the current one."""

    async def call(method: str, path: str, body: dict[str, Any], expected: int = 200) -> dict[str, Any]:
        response = await client.request(method, f"{API}/stories{path}", json=body, headers=editor)
        assert response.status_code == expected, response.text
        return dict(response.json())

    opened = await call(
        "POST",
        "",
        {"title": f"Early {SECRETS['title']}", "summary": f"Summary {SECRETS['summary']}", "slug": SLUG},
        201,
    )
    assert opened["status"] == "draft"
    updates = f"/{SLUG}/updates"
    minor = await call("POST", updates, {"body": f"Troops seen near {SECRETS['minor']} at dawn."}, 201)
    await call(
        "POST",
        f"{updates}/{minor['id']}/corrections",
        {"changes": {"body": "Troops seen near the border at dawn."}, "kind": "minor", "reason": "place"},
    )
    corrected = await call(
        "POST",
        updates,
        {"body": f"A statement by {SECRETS['corrected']}.", "byline": "Desk", "key_event": True},
        201,
    )
    await call(
        "POST",
        f"{updates}/{corrected['id']}/corrections",
        {
            "changes": {"body": "A statement by the ministry."},
            "kind": "correction",
            "reason": "unconfirmed name",
            "note": "The source of the statement was misstated.",
        },
    )
    withdrawn = await call(
        "POST",
        updates,
        {
            "body": f"An early, unconfirmed report by {SECRETS['retracted']}.",
            "byline": f"Desk {SECRETS['retracted byline']}",
            "sources": [{"name": SECRETS["retracted source"], "url": "https://example.org/rumour"}],
            "media": [
                {"kind": "image", "url": "https://example.org/a.jpg", "caption": SECRETS["retracted media"]}
            ],
            "pinned": True,
            "key_event": True,
        },
        201,
    )
    await call(
        "POST",
        f"{updates}/{withdrawn['id']}/retraction",
        {
            "reason": f"not confirmed {SECRETS['retraction reason']}",
            "note": f"Withdrawn {SECRETS['retraction note']}.",
        },
    )
    await call("PATCH", f"/{SLUG}", {"title": "Early report", "summary": "What we know", "reason": "embargo"})
    published = await call("POST", f"/{SLUG}/publish", {})
    await call("POST", updates, {"body": "First public update."}, 201)
    current = await call("POST", updates, {"body": "Second public update."}, 201)
    assert current["story"] == SLUG
    story = (await client.get(f"{API}/stories/{SLUG}")).json()
    return {"published": int(published["version"]), "current": int(story["version"])}


def _afters(versions: dict[str, int]) -> list[int]:
    published, current = versions["published"], versions["current"]
    return sorted({0, 1, published - 1, published, published + 1, current})


async def _staff_ids(client: httpx.AsyncClient, editor: dict[str, str]) -> dict[str, str]:
    """Every update of the story, as staff see it: ``{id: status}``."""
    response = await client.get(f"{API}/stories/{SLUG}/updates", params={"limit": 100}, headers=editor)
    return {item["id"]: item["status"] for item in response.json()["items"]}


async def _http_surfaces(
    client: httpx.AsyncClient, versions: dict[str, int], every_id: dict[str, str]
) -> dict[str, str]:
    """Every HTTP answer an anonymous reader can get about the story (by path), asking for
    every update staff know of (``every_id``); those retracted in the draft are 404."""
    fetched: dict[str, str] = {}

    async def get(path: str, **params: Any) -> httpx.Response:
        response = await client.get(path, params=params)
        fetched[f"{path} {params}" if params else path] = f"{response.status_code} {response.text}"
        return response

    story = f"{API}/stories/{SLUG}"
    await get(story)
    await get(f"{API}/stories")
    items = (await get(f"{story}/updates", limit=100)).json()["items"]
    # Five were posted; the one retracted in the draft is not for readers.
    assert len(every_id) == 5 and len(items) == 4
    assert {item["id"] for item in items} == {i for i, status in every_id.items() if status != "retracted"}
    for limit in (1, 2):
        paged: list[str] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = (
                {"limit": limit} if cursor is None else {"limit": limit, "before": cursor}
            )
            page = (await get(f"{story}/updates", **params)).json()
            assert len(page["items"]) == limit or page["next"] is None
            paged += [item["id"] for item in page["items"]]
            if (cursor := page["next"]) is None:
                break
        assert paged == [item["id"] for item in items]
    for update_id, status in every_id.items():
        responses = [
            await get(f"{story}/updates/{update_id}"),
            await get(f"{story}/updates/{update_id}/history"),
            await get(f"/stories/{SLUG}/updates/{update_id}"),
        ]
        if status == "retracted":
            for response in responses[:2]:
                assert_problem_of(response, 404, "update-not-found")
            assert responses[2].status_code == 404
        else:
            assert all(response.status_code == 200 for response in responses)
    await get(f"{story}/revisions")
    await get(f"{story}/checkpoint")
    await get(f"{story}/events")
    await get(f"{story}/events", after=0)
    await get(f"/stories/{SLUG}")
    await get(f"/stories/{SLUG}/history")
    # Issue #13's surfaces: the embed, the fragment, oEmbed and the feeds.
    for path in ("embed", "fragment", "feed.atom", "feed.json"):
        assert (await get(f"/stories/{SLUG}/{path}")).status_code == 200
    for path in ("/feed.atom", "/feed.json"):
        assert (await get(path)).status_code == 200
    await get("/oembed", url=f"http://testserver/stories/{SLUG}")
    for version in range(1, versions["current"] + 1):
        await get(story, at_version=version)
        await get(f"/stories/{SLUG}/history", version=version)
    for moment in ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z"):
        await get(story, as_of=moment)
    return fetched


async def _live_surfaces(server_url: str, versions: dict[str, int]) -> dict[str, str]:
    """Everything the WebSocket and SSE give an anonymous reader, from every ``after``."""
    fetched: dict[str, str] = {}
    for after in _afters(versions):
        fetched[f"websocket after={after}"] = "\n".join(await ws_backlog(server_url, SLUG, after=after))
        for name, headers, query in (
            ("sse after", {}, after),
            ("sse Last-Event-ID", {"Last-Event-ID": str(after)}, 0),
        ):
            # Nothing is owed from the current version: its hello is all there is to read.
            until = {"count": 1} if after >= versions["current"] else {"until_version": versions["current"]}
            response, blocks = await sse_blocks(server_url, SLUG, headers, after=query, **until)
            assert response.status_code == 200
            fetched[f"{name}={after}"] = "\n".join("\n".join(block) for block in blocks)
    return fetched


def _leaks(fetched: dict[str, str]) -> list[str]:
    return [
        f"{where}: {sorted(name for name, secret in SECRETS.items() if secret in text)}"
        for where, raw in fetched.items()
        if any(secret in (text := raw + html.unescape(raw)) for secret in SECRETS.values())
    ]


@pytest.mark.parametrize("replay", [hub.REPLAY, 3])
async def test_readers_get_nothing_of_the_draft_period_on_any_surface(
    server_url: str,
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    replay: int,
) -> None:
    """With the hub's whole log in memory, and with a replay window that starts after the
    publication (the channel then starts from the story as loaded, not from its events)."""
    monkeypatch.setattr(hub, "REPLAY", replay)
    versions = await _story_with_a_draft_past(client, editor)
    every_id = await _staff_ids(client, editor)
    # The first subscription reads the channel from the store; the later ones from memory.
    fetched = {
        **await _live_surfaces(server_url, versions),
        **await _http_surfaces(client, versions, every_id),
    }
    assert not _leaks(fetched), "\n".join(_leaks(fetched))
    # Staff still see the update retracted in the draft, as it stands, and in the past.
    (withdrawn,) = [i for i, status in every_id.items() if status == "retracted"]
    response = await client.get(f"{API}/stories/{SLUG}/updates/{withdrawn}", headers=editor)
    assert response.status_code == 200 and response.json()["status"] == "retracted"
    assert SECRETS["retraction note"] in response.text
    for params in ({}, {"at_version": versions["current"]}, {"as_of": "2100-01-01T00:00:00Z"}):
        story = await client.get(f"{API}/stories/{SLUG}", params=params, headers=editor)
        assert withdrawn in {item["id"] for item in story.json()["updates"]}
        if params:
            # No shared cache may hand a reader what staff were given.
            assert story.headers["cache-control"].startswith("private")
            assert story.headers["vary"] == "Authorization"
            reader = await client.get(f"{API}/stories/{SLUG}", params=params)
            assert reader.headers["cache-control"].startswith("public")
            assert reader.headers["vary"] == "Authorization"
    page = await client.get(f"/stories/{SLUG}/updates/{withdrawn}", headers=editor)
    assert page.status_code == 200 and SECRETS["retracted"] in page.text
    history = await client.get(f"{API}/stories/{SLUG}/updates/{withdrawn}/history", headers=editor)
    assert history.status_code == 200 and SECRETS["retraction reason"] in history.text
    # The secrets were there: the newsroom's stream from 0 and the auditors' log have them.
    if replay > versions["current"]:
        staff = "\n".join(await ws_backlog(server_url, SLUG, editor, after=0))
        # (Internal reasons are not sent live, to anyone: the history and the log have them.)
        assert all(secret in staff for name, secret in SECRETS.items() if name != "retraction reason")
    log = (await client.get(f"{API}/stories/{SLUG}/events", params={"limit": 1000}, headers=auditor)).text
    assert all(secret in log for secret in SECRETS.values())


async def test_a_reader_behind_the_publication_is_reset_and_resumes_from_the_current_version(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    versions = await _story_with_a_draft_past(client, editor)
    published, current = versions["published"], versions["current"]
    for after in (0, 1, published - 1):
        async with connect(ws_url(server_url, SLUG, after)) as connection:
            assert await receive(connection) == {"type": "hello", "story": SLUG, "version": current}
            assert await receive(connection) == {"type": "reset", "version": current}
        response, blocks = await sse_blocks(server_url, SLUG, after=after, count=2)
        assert response.status_code == 200
        assert [block[0] for block in blocks] == ["event: hello", "event: reset"]
        assert json.loads(blocks[1][1].removeprefix("data: ")) == {"type": "reset", "version": current}
    # From the publication on, a reader is owed the events after its version, as anyone.
    for after in (published, published + 1):
        frames = [json.loads(text) for text in await ws_backlog(server_url, SLUG, after=after)]
        assert [f["version"] for f in frames[1:]] == list(range(after + 1, current + 1))
        assert all(f["type"] == "event" for f in frames[1:])
    # The reset's version is where the reader reconnects from: nothing owed, then live.
    async with connect(ws_url(server_url, SLUG, current)) as connection:
        assert (await receive(connection))["type"] == "hello"
        await client.post(f"{API}/stories/{SLUG}/updates", json={"body": "Live again."}, headers=editor)
        message = await receive(connection)
        assert message["type"] == "event" and message["version"] == current + 1
