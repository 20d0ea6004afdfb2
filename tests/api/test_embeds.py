"""Embeds, the server-side fragment and oEmbed (issue #13, points 1 and 2): what they serve,
their Content-Security-Policy, drafts, and hostile oEmbed URLs."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from liveblog.api.app import create_app
from liveblog.api.services import Services
from liveblog.config import Settings
from liveblog.resources import STATIC, folder
from tests.api.helpers import assert_problem, open_story, post_update

SLUG = "border-raid"
ARTICLE = re.compile(r"<article .*?</article>", re.DOTALL)


def frame_ancestors(response: httpx.Response) -> str:
    policy = response.headers["content-security-policy"]
    directive = next(part.strip() for part in policy.split(";") if "frame-ancestors" in part)
    return directive.removeprefix("frame-ancestors ").strip()


async def published(client: httpx.AsyncClient, editor: dict[str, str]) -> list[dict[str, str]]:
    await open_story(client, editor, summary="Shelling reported overnight.")
    first = await post_update(client, editor, body="Sirens in **the centre**.", byline="Ana Reporter")
    second = await post_update(
        client, editor, body="Officials say [the roads](/stories/border-raid) are shut."
    )
    return [first, second]


async def test_the_embed_is_the_live_page_for_an_iframe(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    updates = await published(client, editor)
    embed = await client.get(f"/stories/{SLUG}/embed")
    live = await client.get(f"/stories/{SLUG}")
    assert embed.status_code == 200 and embed.headers["content-type"].startswith("text/html")
    text = embed.text
    assert 'data-embed="border-raid"' in text and f'data-live="/api/v1/stories/{SLUG}/live"' in text
    assert '<script src="/static/live.js" defer></script>' in text
    assert '<script src="/static/embed-frame.js" defer></script>' in text
    assert '<base target="_blank">' in text
    # The same update markup as the live page (so its restyling applies to both).
    assert ARTICLE.findall(text) == ARTICLE.findall(live.text) and len(ARTICLE.findall(text)) == 2
    assert all(f'id="update-{u["id"]}"' in text for u in updates)
    assert embed.headers["link"].startswith(f"</api/v1/stories/{SLUG}/live?after=")


async def test_only_the_embed_may_be_framed_by_other_sites(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    [update, _] = await published(client, editor)
    assert frame_ancestors(await client.get(f"/stories/{SLUG}/embed")) == "*"
    for path in (
        f"/stories/{SLUG}",
        f"/stories/{SLUG}/history",
        f"/stories/{SLUG}/updates/{update['id']}",
        f"/stories/{SLUG}/fragment",
        f"/stories/{SLUG}/embed/",  # not the embed's path
        "/docs",
    ):
        response = await client.get(path)
        if response.status_code == 200:
            assert frame_ancestors(response) == "'none'", path


@pytest.fixture
async def framed_by_cms(services: Services) -> AsyncIterator[httpx.AsyncClient]:
    """An app whose embed only cms.example.org and this origin may frame."""
    settings = Settings.model_validate(
        {**services.settings.model_dump(), "embed_frame_ancestors": "'self'  https://cms.example.org"}
    )
    app = create_app(services=dataclasses.replace(services, settings=settings))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_the_embed_frame_ancestors_come_from_the_setting(
    framed_by_cms: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await published(framed_by_cms, editor)
    embed = await framed_by_cms.get(f"/stories/{SLUG}/embed")
    assert frame_ancestors(embed) == "'self' https://cms.example.org"
    assert frame_ancestors(await framed_by_cms.get(f"/stories/{SLUG}")) == "'none'"


@pytest.mark.parametrize(
    "sources", ["x; script-src *", "https://a.example, https://b.example", "", "'none' *"]
)
def test_a_frame_ancestors_setting_that_could_add_a_directive_is_refused(sources: str) -> None:
    with pytest.raises(ValidationError):
        Settings(embed_frame_ancestors=sources)


async def test_the_fragment_is_html_to_include_with_absolute_links(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    updates = await published(client, editor)
    fragment = await client.get(f"/stories/{SLUG}/fragment")
    assert fragment.status_code == 200 and fragment.headers["content-type"].startswith("text/html")
    text = fragment.text
    assert not re.search(r"<(?:html|head|body|!doctype)[\s>]", text, re.IGNORECASE)
    assert text.lstrip().startswith('<section class="liveblog-fragment"')
    assert '<script type="application/ld+json">' in text and '"LiveBlogPosting"' in text
    assert "<script src" not in text  # nothing runs
    assert not re.search(r'(?:href|src)="/', text), "a link relative to this server"
    assert f'href="http://testserver/stories/{SLUG}/updates/{updates[0]["id"]}"' in text
    assert 'href="http://testserver/stories/border-raid"' in text  # inside the body too
    assert "<strong>the centre</strong>" in text and "**" not in text
    live = await client.get(f"/stories/{SLUG}")
    assert len(ARTICLE.findall(text)) == len(ARTICLE.findall(live.text)) == 2


async def test_embed_js_is_served_for_other_sites(client: httpx.AsyncClient) -> None:
    script = await client.get("/embed.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["cross-origin-resource-policy"] == "cross-origin"
    assert script.content == (folder(STATIC) / "embed.js").read_bytes()
    assert "data-liveblog-story" in script.text


async def test_drafts_and_their_retracted_updates_are_never_embedded(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor, slug="quiet-draft", publish=False)
    for path in ("/stories/quiet-draft/embed", "/stories/quiet-draft/fragment"):
        for headers in ({}, editor):  # no credentials count here, not even an editor's
            assert_problem(await client.get(path, headers=headers), 404)
    assert_problem(await client.get("/oembed", params={"url": "http://testserver/stories/quiet-draft"}), 404)
    secret = await post_update(client, editor, slug="quiet-draft", body="Draft-only secret text.")
    retracted = await client.post(
        f"/api/v1/stories/quiet-draft/updates/{secret['id']}/retraction",
        json={"reason": "not for readers", "note": "Withdrawn before publication."},
        headers=editor,
    )
    assert retracted.status_code == 200, retracted.text
    kept = await post_update(client, editor, slug="quiet-draft", body="Published text.")
    assert (await client.post("/api/v1/stories/quiet-draft/publish", headers=editor)).status_code == 200
    for path in ("/stories/quiet-draft/embed", "/stories/quiet-draft/fragment"):
        for headers in ({}, editor):
            response = await client.get(path, headers=headers)
            assert response.status_code == 200
            assert kept["id"] in response.text
            assert secret["id"] not in response.text and "secret" not in response.text, path


# --------------------------------------------------------------------------- oEmbed


async def test_oembed_describes_a_published_story(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await published(client, editor)
    response = await client.get(
        "/oembed", params={"url": f"http://testserver/stories/{SLUG}", "format": "json", "maxwidth": 500}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document["version"] == "1.0" and document["type"] == "rich"
    assert document["provider_name"] == "liveblog" and document["title"] == "Raid across the border"
    assert document["width"] == 500 and document["height"] == 800
    html = document["html"]
    assert f'<iframe src="http://testserver/stories/{SLUG}/embed" width="500" height="800"' in html
    assert 'title="Live blog: Raid across the border"' in html
    assert '<script src="http://testserver/embed.js" async></script>' in html
    small = await client.get(
        "/oembed", params={"url": f"https://TestServer/stories/{SLUG}/", "maxwidth": 9999, "maxheight": 300}
    )
    assert (small.json()["width"], small.json()["height"]) == (640, 300)
    embed_url = await client.get("/oembed", params={"url": f"http://testserver:80/stories/{SLUG}/embed"})
    assert embed_url.status_code == 200


async def test_the_live_page_points_to_its_oembed(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await published(client, editor)
    page = (await client.get(f"/stories/{SLUG}")).text
    found = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', page)
    assert found is not None
    href = found.group(1).replace("&amp;", "&")
    assert href.startswith("http://testserver/oembed?")
    assert (await client.get(href)).json()["type"] == "rich"
    assert f'href="/stories/{SLUG}/feed.atom"' in page and f'href="/stories/{SLUG}/feed.json"' in page


@pytest.mark.parametrize(
    "url",
    [
        "http://elsewhere.example/stories/border-raid",
        "http://testserver.elsewhere.example/stories/border-raid",
        "http://testserver:8080/stories/border-raid",
        "javascript:alert(1)//http://testserver/stories/border-raid",
        "data:text/html,<script>alert(1)</script>",
        "ftp://testserver/stories/border-raid",
        "http://user:pass@testserver/stories/border-raid",
        "http://testserver/stories/nowhere",
        "http://testserver/stories/border-raid/history",
        "http://testserver/stories/border-raid/../../etc/passwd",
        "http://testserver/api/v1/stories/border-raid",
        "http://testserver/stories/BORDER-RAID",
        "http://[::1/stories/border-raid",
        "http://testserver:99999/stories/border-raid",
        "//testserver/stories/border-raid",
        "border-raid",
        "http://testserver/stories/" + "a" * 81,
    ],
)
async def test_oembed_refuses_what_is_not_a_published_story_here(
    client: httpx.AsyncClient, editor: dict[str, str], url: str
) -> None:
    await open_story(client, editor)
    assert_problem(await client.get("/oembed", params={"url": url}), 404)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"format": "xml"}, 501),
        ({"format": "yaml"}, 501),
        ({"format": "x" * 100}, 422),
        ({"maxwidth": 0}, 422),
        ({"maxwidth": "wide"}, 422),
        ({"maxheight": -5}, 422),
        ({"url": "http://testserver/stories/border-raid?" + "x" * 5000}, 422),
        ({"url": ""}, 422),
    ],
)
async def test_oembed_bad_parameters(
    client: httpx.AsyncClient, editor: dict[str, str], params: dict[str, object], status: int
) -> None:
    await open_story(client, editor)
    query = {"url": "http://testserver/stories/border-raid", **params}
    assert_problem(await client.get("/oembed", params=query), status)
    assert_problem(await client.get("/oembed"), 422)  # no url at all
