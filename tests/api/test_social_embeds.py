"""Social embeds through the API and the pages (docs/api.md "Social embeds"): an embed is
stored canonical with its provider, correctable, in the history, the past, the pages (a
placeholder, never the provider's frame), the feeds (a link) and a verifiable export; a bad
one is a 422 that says why and records nothing; the CSP's frame-src names exactly the
providers' frame origins, and only on the pages that can load them."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from liveblog.audit import verify
from liveblog.domain import social
from liveblog.store.database import Database
from tests.api.helpers import assert_problem, event_count, open_story, post_update

SLUG = "border-raid"
UPDATES = f"/api/v1/stories/{SLUG}/updates"
TELEGRAM = {
    "kind": "embed",
    "url": "https://t.me/s/legionoffreedom/1234?single",
    "caption": "The fighters' video",
}
YOUTUBE = {"kind": "embed", "url": "https://youtu.be/dQw4w9WgXcQ?t=1m30s"}
FRAME_SRC = (
    "frame-src https://platform.twitter.com https://www.youtube-nocookie.com https://player.vimeo.com "
    "https://t.me https://www.instagram.com https://embed.bsky.app https://mastodon.social;"
)
PROVIDER_HOSTS = {host for hosts in social.HOSTS.values() for host in hosts} | {
    "platform.twitter.com",
    "embed.bsky.app",
    "mastodon.social",
}


async def story_with_an_embed(client: httpx.AsyncClient, editor: dict[str, str]) -> dict[str, Any]:
    await open_story(client, editor)
    return await post_update(
        client, editor, media=[TELEGRAM, {"kind": "link", "url": "https://example.org/a"}]
    )


async def test_an_embed_is_stored_canonical_with_its_provider_and_frame(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    update = await story_with_an_embed(client, editor)
    assert update["media"] == [
        {
            "kind": "embed",
            "url": "https://t.me/legionoffreedom/1234",
            "caption": "The fighters' video",
            "provider": "telegram",
            "embed_url": "https://t.me/legionoffreedom/1234?embed=1",
        },
        {"kind": "link", "url": "https://example.org/a", "caption": None},
    ]
    read = (await client.get(f"{UPDATES}/{update['id']}")).json()
    assert read["media"] == update["media"]


async def test_bad_embeds_are_422_saying_why_and_record_nothing(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    update = await story_with_an_embed(client, editor)
    before = await event_count(database)
    for url, why in [
        ("javascript:alert(document.cookie)", "only https"),
        ("data:text/html;base64,PHNjcmlwdD4=", "only https"),
        ("https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", "not a host"),
        ("https://x.com@evil.example/someone/status/1", "user information"),
        ("https://xn--yutube-wqf.com/watch?v=dQw4w9WgXcQ", "punycode"),
        ("https://x.com:8080/someone/status/1", "port"),
        ("https://example.org/some/page", "not a host"),
        ("https://t.me/c/12345/67", "private"),
    ]:
        item = {"kind": "embed", "url": url}
        posted = await client.post(UPDATES, json={"body": "An embed.", "media": [item]}, headers=editor)
        document = assert_problem(posted, 422)
        [error] = document["errors"]
        assert error["loc"][:3] == ["body", "media", "0"], error
        assert why in error["msg"], error["msg"]
        corrected = await client.post(
            f"{UPDATES}/{update['id']}/corrections",
            json={"changes": {"media": [item]}, "kind": "minor", "reason": "better video"},
            headers={**editor, "If-Match": f'"{update["revision"]}"'},
        )
        assert why in assert_problem(corrected, 422)["errors"][0]["msg"]
    assert await event_count(database) == before


async def test_a_mastodon_post_needs_a_configured_instance(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    allowed = await post_update(
        client, editor, media=[{"kind": "embed", "url": "https://mastodon.social/@Gargron/1"}]
    )
    assert allowed["media"][0]["provider"] == "mastodon"
    before = await event_count(database)
    refused = await client.post(
        UPDATES,
        json={"body": "x", "media": [{"kind": "embed", "url": "https://evil.example/@Gargron/1"}]},
        headers=editor,
    )
    document = assert_problem(refused, 422)
    assert document["type"] == "urn:liveblog:problem:embed-not-allowed"
    assert "'evil.example' is not a Mastodon instance" in document["detail"]
    assert "LIVEBLOG_MASTODON_INSTANCES: mastodon.social" in document["detail"]
    assert await event_count(database) == before


async def test_an_embed_is_corrected_and_seen_in_history_and_the_past(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], database: Database
) -> None:
    update = await story_with_an_embed(client, editor)
    version = (await client.get(f"/api/v1/stories/{SLUG}")).json()["version"]
    corrected = await client.post(
        f"{UPDATES}/{update['id']}/corrections",
        json={
            "changes": {"media": [YOUTUBE]},
            "kind": "correction",
            "reason": "wrong video",
            "note": "The video was replaced.",
        },
        headers={**editor, "If-Match": f'"{update["revision"]}"'},
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["media"] == [
        {
            "kind": "embed",
            "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=90s",
            "caption": None,
            "provider": "youtube",
            "embed_url": "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=90",
        }
    ]
    revisions = (await client.get(f"{UPDATES}/{update['id']}/history")).json()["items"]
    change = next(r for r in revisions if r["kind"] == "correction")
    assert change["changes"]["media"]["from"][0] == {
        "kind": "embed",
        "url": "https://t.me/legionoffreedom/1234",
        "caption": "The fighters' video",
        "provider": "telegram",
        "embed_url": "https://t.me/legionoffreedom/1234?embed=1",
    }
    assert change["changes"]["media"]["from"][1] == {
        "kind": "link",
        "url": "https://example.org/a",
        "caption": None,
    }
    assert change["changes"]["media"]["to"][0]["provider"] == "youtube"
    past = (await client.get(f"/api/v1/stories/{SLUG}", params={"at_version": version})).json()
    [then] = [u for u in past["updates"] if u["id"] == update["id"]]
    assert then["media"][0]["embed_url"] == "https://t.me/legionoffreedom/1234?embed=1"
    # The export verifies, with the canonical embed in the event's data.
    result = await verify.verify_database(database, SLUG, allow_unsigned_tail=True)
    assert result.ok, result.message
    export = (
        await client.get(
            f"/api/v1/stories/{SLUG}/events", headers={**auditor, "Accept": "application/x-ndjson"}
        )
    ).text
    [posted] = [json.loads(line) for line in export.splitlines() if '"UpdatePosted"' in line]
    assert posted["data"]["media"][0] == {
        "kind": "embed",
        "url": "https://t.me/legionoffreedom/1234",
        "caption": "The fighters' video",
        "provider": "telegram",
    }


async def test_pages_show_a_placeholder_and_name_no_provider_frame(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    update = await story_with_an_embed(client, editor)
    for path in (f"/stories/{SLUG}", f"/stories/{SLUG}/embed", f"/stories/{SLUG}/updates/{update['id']}"):
        page = await client.get(path)
        assert page.status_code == 200
        html = page.text
        assert (
            '<figure class="embed embed-telegram" data-provider="telegram" data-embed-url="https://t.me/legionoffreedom/1234?embed=1">'
            in html
        )
        assert '<a href="https://t.me/legionoffreedom/1234" rel="noopener noreferrer nofollow">' in html
        assert '<button type="button" class="embed-load" hidden>Load content from Telegram</button>' in html
        assert "<iframe" not in html
        # Nothing the browser fetches by itself (src, srcset, link href) points at a provider.
        for attribute in re.findall(r'<(?!a )[^>]*\s(?:src|srcset|href)="([^"]*)"', html):
            assert not any(host in attribute for host in PROVIDER_HOSTS), attribute
        assert FRAME_SRC in page.headers["content-security-policy"]
    for path in (
        f"/stories/{SLUG}/fragment",
        f"/stories/{SLUG}/feed.atom",
        f"/stories/{SLUG}/history?version=3",
    ):
        page = await client.get(path)
        assert page.status_code == 200
        assert "https://t.me/legionoffreedom/1234" in page.text  # a link
        assert "embed-load" not in page.text and "data-embed-url" not in page.text


async def test_frame_src_only_on_pages_that_can_show_embeds(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await story_with_an_embed(client, editor)
    for path in (f"/stories/{SLUG}/history", "/docs"):
        policy = (await client.get(path)).headers["content-security-policy"]
        assert "frame-src" not in policy
    live = (await client.get(f"/stories/{SLUG}")).headers["content-security-policy"]
    # Nothing else is loosened: the live page's policy is the strict one plus frame-src alone.
    assert live.replace(" " + FRAME_SRC, "") == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
