"""Atom and JSON Feed 1.1 (issue #13, point 3): parsed with feedparser, checked against the
JSON Feed 1.1 fields; corrections, claims and retractions; conditional GET; drafts."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import feedparser
import httpx
import pytest

from liveblog.api.app import create_app
from liveblog.api.services import Services
from liveblog.config import Settings
from tests.api.helpers import assert_problem, open_story, post_update

SLUG = "border-raid"
FEEDS = (f"/stories/{SLUG}/feed.atom", f"/stories/{SLUG}/feed.json", "/feed.atom", "/feed.json")


async def newsroom(client: httpx.AsyncClient, editor: dict[str, str]) -> dict[str, Any]:
    """A published story with a corrected update whose claim is disputed, and a retracted one."""
    await open_story(client, editor, summary="Shelling reported overnight.", language="uk")
    claim = await post_update(client, editor, body="Troops crossed **at dawn**.", byline="Ana Reporter")
    wrong = await post_update(client, editor, body="A bridge was destroyed.")
    corrected = await client.post(
        f"/api/v1/stories/{SLUG}/updates/{claim['id']}/corrections",
        json={
            "changes": {"body": "Troops crossed **before dawn**."},
            "kind": "correction",
            "reason": "timeline checked",
            "note": "An earlier version said at dawn.",
        },
        headers=editor,
    )
    assert corrected.status_code == 200, corrected.text
    verified = await client.put(
        f"/api/v1/stories/{SLUG}/updates/{claim['id']}/verification",
        json={"status": "disputed", "note": "The ministry denies it."},
        headers=editor,
    )
    assert verified.status_code == 200, verified.text
    retracted = await client.post(
        f"/api/v1/stories/{SLUG}/updates/{wrong['id']}/retraction",
        json={"reason": "no such bridge", "note": "The bridge report was wrong."},
        headers=editor,
    )
    assert retracted.status_code == 200, retracted.text
    return {"claim": verified.json(), "retracted": retracted.json()}


def by_id(entries: list[Any], update: dict[str, Any]) -> Any:
    return next(e for e in entries if e["id"].endswith(f"/updates/{update['id']}"))


async def test_the_atom_feed_parses_and_says_what_the_page_says(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    updates = await newsroom(client, editor)
    response = await client.get(f"/stories/{SLUG}/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Raid across the border"
    assert parsed.feed.subtitle == "Shelling reported overnight."
    assert parsed.feed.language == "uk"
    assert parsed.feed.id == f"http://testserver/stories/{SLUG}"
    links = {link.rel: link.href for link in parsed.feed.links}
    assert links["self"] == f"http://testserver/stories/{SLUG}/feed.atom"
    assert links["alternate"] == f"http://testserver/stories/{SLUG}"
    assert "hub" not in links
    assert len(parsed.entries) == 2

    claim = by_id(parsed.entries, updates["claim"])
    assert claim.link == f"http://testserver/stories/{SLUG}/updates/{updates['claim']['id']}"
    assert claim.author == "Ana Reporter"
    content = claim.content[0].value
    assert "<strong>before dawn</strong>" in content and "**" not in content
    assert "An earlier version said at dawn." in content  # the correction's public note
    assert "Disputed" in content and "The ministry denies it." in content  # claim status and note
    assert "timeline checked" not in content  # the internal reason stays in the newsroom
    assert {tag.term for tag in claim.tags} == {"claim:disputed"}
    published = datetime(*claim.published_parsed[:6])
    updated = datetime(*claim.updated_parsed[:6])
    assert updated >= published and claim.updated != claim.published

    retracted = by_id(parsed.entries, updates["retracted"])
    assert retracted.title == "Retracted: The bridge report was wrong."
    assert "The bridge report was wrong." in retracted.content[0].value
    assert "retracted" in {tag.term for tag in retracted.tags}
    # Newest change first: the retraction came last.
    assert parsed.entries[0].id == retracted.id


async def test_the_json_feed_has_the_json_feed_1_1_fields(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    updates = await newsroom(client, editor)
    response = await client.get(f"/stories/{SLUG}/feed.json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/feed+json")
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["title"] == "Raid across the border"
    assert feed["home_page_url"] == f"http://testserver/stories/{SLUG}"
    assert feed["feed_url"] == f"http://testserver/stories/{SLUG}/feed.json"
    assert feed["language"] == "uk" and "hubs" not in feed
    assert all(isinstance(author["name"], str) for author in feed["authors"])
    assert len(feed["items"]) == 2
    for item in feed["items"]:
        assert {"id", "url", "title", "content_html", "date_published", "date_modified", "authors"} <= set(
            item
        )
        assert isinstance(item["id"], str) and item["url"].startswith("http://testserver/stories/")
        assert item["content_html"].startswith("<article") and "**" not in item["content_html"]
        assert datetime.fromisoformat(item["date_modified"]) >= datetime.fromisoformat(item["date_published"])
        assert item["language"] == "uk"
        assert set(item) <= {
            "id", "url", "title", "content_html", "date_published", "date_modified", "authors",
            "tags", "language", "_liveblog",
        }  # fmt: skip
    claim = by_id(feed["items"], updates["claim"])
    assert claim["authors"] == [{"name": "Ana Reporter"}]
    assert claim["tags"] == ["claim:disputed"]
    assert claim["_liveblog"]["claim"]["status"] == "disputed"
    assert "An earlier version said at dawn." in claim["content_html"]
    retracted = by_id(feed["items"], updates["retracted"])
    assert retracted["title"] == "Retracted: The bridge report was wrong."
    assert retracted["_liveblog"]["status"] == "retracted"
    # The same entries as Atom, in the same order.
    atom = feedparser.parse((await client.get(f"/stories/{SLUG}/feed.atom")).content)
    assert [item["id"] for item in feed["items"]] == [entry.id for entry in atom.entries]


async def test_updated_moves_with_each_correction(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor, body="First version.")
    before = (await client.get(f"/stories/{SLUG}/feed.json")).json()["items"][0]
    assert before["date_modified"] == before["date_published"]
    for number in (1, 2):
        response = await client.post(
            f"/api/v1/stories/{SLUG}/updates/{update['id']}/corrections",
            json={"changes": {"body": f"Version {number + 1}."}, "kind": "clarification",
                  "reason": "clearer", "note": f"Clarified {number}."},
            headers=editor,
        )  # fmt: skip
        assert response.status_code == 200
        after = (await client.get(f"/stories/{SLUG}/feed.json")).json()["items"][0]
        assert after["date_modified"] > before["date_modified"]
        assert after["date_published"] == before["date_published"]
        assert (
            f"Version {number + 1}." in after["content_html"]
            and f"Clarified {number}." in after["content_html"]
        )
        before = after


async def test_the_all_stories_feed_lists_every_published_story_and_no_draft(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor, slug="first-story", title="First story")
    one = await post_update(client, editor, slug="first-story", body="From the first story.")
    await open_story(client, editor, slug="second-story", title="Second story")
    two = await post_update(client, editor, slug="second-story", body="From the second story.")
    await open_story(client, editor, slug="quiet-draft", title="A draft", publish=False)
    secret = await post_update(client, editor, slug="quiet-draft", body="Draft secret.")
    atom = feedparser.parse((await client.get("/feed.atom")).content)
    assert not atom.bozo
    assert {entry.title for entry in atom.entries} == {
        "First story: From the first story.",
        "Second story: From the second story.",
    }
    assert atom.feed.links[1].href == "http://testserver/feed.atom"
    items = (await client.get("/feed.json")).json()["items"]
    assert [item["_liveblog"]["story"] for item in items] == ["second-story", "first-story"]
    assert {one["id"], two["id"]} == {item["id"].rsplit("/", 1)[1] for item in items}
    for path in FEEDS[2:]:
        assert secret["id"] not in (await client.get(path, headers=editor)).text


async def test_drafts_and_draft_only_updates_are_never_in_a_feed(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor, publish=False)
    for path in FEEDS[:2]:
        for headers in ({}, editor):
            assert_problem(await client.get(path, headers=headers), 404)
    secret = await post_update(client, editor, body="Draft-only secret.")
    retracted = await client.post(
        f"/api/v1/stories/{SLUG}/updates/{secret['id']}/retraction",
        json={"reason": "not for readers", "note": "Withdrawn before publication."},
        headers=editor,
    )
    assert retracted.status_code == 200
    kept = await post_update(client, editor, body="Published with the story.")
    assert (await client.post(f"/api/v1/stories/{SLUG}/publish", headers=editor)).status_code == 200
    for path in FEEDS:
        text = (await client.get(path)).text
        assert kept["id"] in text, path
        assert secret["id"] not in text and "secret" not in text and "Withdrawn" not in text, path


async def test_conditional_get(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    await post_update(client, editor)
    for path in FEEDS:
        first = await client.get(path)
        tag, modified = first.headers["etag"], first.headers["last-modified"]
        same = await client.get(path, headers={"If-None-Match": tag})
        assert same.status_code == 304 and same.content == b"" and same.headers["etag"] == tag, path
        assert (await client.get(path, headers={"If-None-Match": f'"other", {tag}'})).status_code == 304
        assert (await client.get(path, headers={"If-Modified-Since": modified})).status_code == 304
        earlier = format_datetime(parsedate_to_datetime(modified).replace(year=2020), usegmt=True)
        assert (await client.get(path, headers={"If-Modified-Since": earlier})).status_code == 200
        assert (await client.get(path, headers={"If-Modified-Since": "not a date"})).status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110): a stale tag gets the feed.
        stale = await client.get(path, headers={"If-None-Match": '"stale"', "If-Modified-Since": modified})
        assert stale.status_code == 200 and stale.content == first.content
    tags = {path: (await client.get(path)).headers["etag"] for path in FEEDS}
    await post_update(client, editor, body="Something new.")
    for path in FEEDS:
        fresh = await client.get(path, headers={"If-None-Match": tags[path]})
        assert (
            fresh.status_code == 200
            and "Something new." in fresh.text
            and fresh.headers["etag"] != tags[path]
        )


@pytest.fixture
async def with_hub(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings.model_validate(
        {
            **services.settings.model_dump(),
            "websub_hub_url": "https://hub.example.org/",
            "public_url": "https://live.example.org",
        }
    )
    app = create_app(services=dataclasses.replace(services, settings=settings))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_feeds_advertise_the_websub_hub_and_the_public_url(
    with_hub: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(with_hub, editor)
    await post_update(with_hub, editor)
    atom = feedparser.parse((await with_hub.get(f"/stories/{SLUG}/feed.atom")).content)
    links = {link.rel: link.href for link in atom.feed.links}
    assert links["hub"] == "https://hub.example.org"
    assert links["self"] == f"https://live.example.org/stories/{SLUG}/feed.atom"
    assert atom.entries[0].link.startswith("https://live.example.org/stories/")
    feed = (await with_hub.get("/feed.json")).json()
    assert feed["hubs"] == [{"type": "WebSub", "url": "https://hub.example.org"}]
    assert feed["feed_url"] == "https://live.example.org/feed.json"


def test_a_hub_needs_a_public_url() -> None:
    with pytest.raises(ValueError, match="LIVEBLOG_PUBLIC_URL"):
        Settings(websub_hub_url="https://hub.example.org")
