"""liveblog.api.caching on every reader surface: shared-cache headers, surrogate keys, strong
ETags with 304, and ``private, no-store`` for every request that carries a token."""

from __future__ import annotations

import httpx
import pytest

from liveblog.api.caching import GLOBAL_KEY, LivePolicy, live_headers, purge_key, update_key
from tests.api.helpers import open_story, post_update

SLUG = "border-raid"
LIVE = "public, max-age=2, s-maxage=5, stale-while-revalidate=10, stale-if-error=86400"


def test_the_policy_names_every_directive_and_no_immutable() -> None:
    policy = LivePolicy(shared_max_age=7, max_age=1, stale_while_revalidate=3, stale_if_error=60)
    headers = live_headers(policy, ["a", "b"], public=True)
    assert headers == {
        "Cache-Control": "public, max-age=1, s-maxage=7, stale-while-revalidate=3, stale-if-error=60",
        "Surrogate-Key": "a b",
        "Cache-Tag": "a,b",
        "Vary": "Authorization",
    }
    assert live_headers(policy, ["a"], public=False) == {
        "Cache-Control": "private, no-store",
        "Vary": "Authorization",
    }


@pytest.fixture
async def story(client: httpx.AsyncClient, editor: dict[str, str]) -> str:
    await open_story(client, editor, slug=SLUG)
    update = await post_update(client, editor, slug=SLUG)
    return str(update["id"])


def surfaces(update_id: str) -> dict[str, set[str]]:
    """Every cacheable reader URL and the keys its response must name."""
    story = {purge_key(SLUG)}
    both = story | {update_key(update_id)}
    return {
        f"/api/v1/stories/{SLUG}": story,
        f"/api/v1/stories/{SLUG}/updates": story,
        f"/api/v1/stories/{SLUG}/updates/{update_id}": both,
        "/api/v1/stories": {GLOBAL_KEY},
        f"/stories/{SLUG}": story,
        f"/stories/{SLUG}/updates/{update_id}": both,
        f"/stories/{SLUG}/embed": story,
        f"/stories/{SLUG}/fragment": story,
        f"/stories/{SLUG}/feed.atom": story,
        f"/stories/{SLUG}/feed.json": story,
        "/feed.atom": {GLOBAL_KEY},
        "/feed.json": {GLOBAL_KEY},
    }


async def test_every_reader_surface_is_shared_cacheable_with_its_keys_and_a_strong_etag(
    client: httpx.AsyncClient, story: str
) -> None:
    for url, keys in surfaces(story).items():
        response = await client.get(url)
        assert response.status_code == 200, (url, response.text)
        assert response.headers["cache-control"] == LIVE, url
        assert "immutable" not in response.headers["cache-control"]
        assert keys <= set(response.headers["surrogate-key"].split()), url
        assert keys <= set(response.headers["cache-tag"].split(",")), url
        assert "authorization" in response.headers["vary"].lower(), url
        tag = response.headers["etag"]
        assert tag.startswith('"') and tag.endswith('"'), url  # strong: no W/
        again = await client.get(url, headers={"If-None-Match": tag})
        assert again.status_code == 304 and not again.content, url
        assert again.headers["etag"] == tag and again.headers["cache-control"] == LIVE, url
        assert again.headers["surrogate-key"] == response.headers["surrogate-key"], url


async def test_a_change_changes_every_etag(
    client: httpx.AsyncClient, editor: dict[str, str], story: str
) -> None:
    before = {url: (await client.get(url)).headers["etag"] for url in surfaces(story)}
    response = await client.post(
        f"/api/v1/stories/{SLUG}/updates/{story}/corrections",
        json={
            "changes": {"body": "Corrected: they crossed at noon."},
            "kind": "correction",
            "reason": "Wrong time",
            "note": "Time.",
        },
        headers=editor,
    )
    assert response.status_code == 200, response.text
    for url, tag in before.items():
        if url == "/api/v1/stories":
            continue  # the list of stories shows no update
        fresh = await client.get(url, headers={"If-None-Match": tag})
        assert fresh.status_code == 200 and fresh.headers["etag"] != tag, url


async def test_a_token_holder_is_never_given_anything_a_shared_cache_may_keep(
    client: httpx.AsyncClient, editor: dict[str, str], story: str
) -> None:
    pasts = [f"/api/v1/stories/{SLUG}?at_version=2", f"/api/v1/stories/{SLUG}/revisions?limit=1"]
    for url in [*surfaces(story), *pasts]:
        response = await client.get(url, headers=editor)
        assert response.status_code == 200, (url, response.text)
        assert response.headers["cache-control"] == "private, no-store", url
        assert "surrogate-key" not in response.headers and "cache-tag" not in response.headers, url
        # And the reader's answer to the same URL is public, so the two must never be mixed.
        assert (await client.get(url)).headers["cache-control"].startswith("public"), url


async def test_the_history_page_revalidates_and_a_token_holders_is_never_kept(
    client: httpx.AsyncClient, editor: dict[str, str], story: str
) -> None:
    url = f"/stories/{SLUG}/history"
    assert (await client.get(url)).headers["cache-control"] == "no-cache"
    assert (await client.get(url, headers=editor)).headers["cache-control"] == "private, no-store"
