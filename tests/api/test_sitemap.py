"""What search engines read (issue #13, point 5): the pages' JSON-LD publisher, the Google
News sitemap and robots.txt; drafts never appear in any of them."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest
from pydantic import ValidationError

from liveblog.api.app import create_app
from liveblog.api.services import Services
from liveblog.api.sitemap import MAX_URLS, NEWS_NS, SITEMAP_NS, news_language, news_sitemap, news_stories
from liveblog.config import Settings
from tests.api.helpers import open_story, post_update

LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)
NS = {"s": SITEMAP_NS, "news": NEWS_NS}


def json_ld(html: str) -> dict[str, Any]:
    found = LD.findall(html)
    assert len(found) == 1
    document: dict[str, Any] = json.loads(found[0])
    return document


async def test_the_json_ld_names_the_publisher_headline_and_corrections(
    client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor, body="Sirens in **the centre**.")
    corrected = await client.post(
        f"/api/v1/stories/border-raid/updates/{update['id']}/corrections",
        json={
            "changes": {"body": "Sirens in the north."},
            "kind": "correction",
            "reason": "r",
            "note": "North.",
        },
        headers=editor,
    )
    assert corrected.status_code == 200, corrected.text
    story = (await client.get("/api/v1/stories/border-raid")).json()
    for path in ("/stories/border-raid", "/stories/border-raid/embed", "/stories/border-raid/fragment"):
        document = json_ld((await client.get(path)).text)
        assert document["@type"] == "LiveBlogPosting"
        assert document["publisher"] == {"@type": "Organization", "name": "liveblog"}
        assert document["headline"] == "Raid across the border"
        assert document["dateModified"] == story["updated_at"]
        [posting] = document["liveBlogUpdate"]
        assert posting["correction"] == [
            {"@type": "CorrectionComment", "text": "North.", "datePublished": posting["dateModified"]}
        ]

    settings = services.settings.model_copy(
        update={
            "publisher_name": "The Harbour Times",
            "publisher_logo_url": "https://cdn.example.org/logo.png",
        }
    )
    app = create_app(services=dataclasses.replace(services, settings=settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as other:
        document = json_ld((await other.get("/stories/border-raid")).text)
    assert document["publisher"] == {
        "@type": "Organization",
        "name": "The Harbour Times",
        "logo": {"@type": "ImageObject", "url": "https://cdn.example.org/logo.png"},
    }


@pytest.mark.parametrize(
    "fields",
    [
        {"publisher_name": "  "},
        {"publisher_logo_url": "javascript:alert(1)"},
        {"publisher_logo_url": "/logo.png"},
    ],
)
def test_publisher_settings_are_checked(fields: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        Settings(**fields)  # type: ignore[arg-type]


async def test_the_news_sitemap_lists_published_stories_and_never_a_draft(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor, title="Storm & <floods>", language="en-GB")
    await open_story(client, editor, slug="secret-plan", title="Draft only", publish=False)
    response = await client.get("/sitemap-news.xml")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    urls = root.findall("s:url", NS)
    assert [url.findtext("s:loc", namespaces=NS) for url in urls] == ["http://testserver/stories/border-raid"]
    news = urls[0].find("news:news", NS)
    assert news is not None
    assert news.findtext("news:publication/news:name", namespaces=NS) == "liveblog"
    assert news.findtext("news:publication/news:language", namespaces=NS) == "en"
    assert news.findtext("news:title", namespaces=NS) == "Storm & <floods>"
    story = (await client.get("/api/v1/stories/border-raid")).json()
    assert news.findtext("news:publication_date", namespaces=NS) == story["published_at"]
    assert b"secret-plan" not in response.content and b"Draft only" not in response.content

    robots = await client.get("/robots.txt")
    assert robots.status_code == 200 and robots.headers["content-type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap-news.xml" in robots.text.splitlines()


def header(slug: str, status: str, published: datetime | None) -> dict[str, Any]:
    return {
        "slug": slug,
        "status": status,
        "title": slug,
        "language": "en",
        "published_at": None if published is None else published.isoformat(),
    }


def test_the_sitemap_keeps_to_googles_two_days_and_thousand_urls() -> None:
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    headers = [
        header("fresh", "live", now - timedelta(hours=1)),
        header("ended", "closed", now - timedelta(days=1)),
        header("stale", "live", now - timedelta(days=2, minutes=1)),
        header("draft", "draft", None),
        header("draft-with-date", "draft", now),
    ]
    assert [h["slug"] for h in news_stories(headers, now)] == ["fresh", "ended"]
    many = [header(f"s{n}", "live", now - timedelta(seconds=n)) for n in range(MAX_URLS + 5)]
    chosen = news_stories(many, now)
    assert len(chosen) == MAX_URLS and chosen[0]["slug"] == "s0"


@pytest.mark.parametrize(
    ("tag", "language"),
    [("en", "en"), ("en-GB", "en"), ("FR", "fr"), ("zh-Hant-TW", "zh-tw"), ("zh", "zh-cn")],
)
def test_news_language_is_the_iso_639_code(tag: str, language: str) -> None:
    assert news_language(tag) == language


def test_the_sitemap_stays_xml_whatever_the_title() -> None:
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    story = {**header("odd", "live", now), "title": "Bell \x07 & <b>bold</b> \U0001f525"}
    document = ElementTree.fromstring(news_sitemap([story], "https://live.example.org", "A & B"))
    assert document.findtext("s:url/news:news/news:title", namespaces=NS) == "Bell  & <b>bold</b> \U0001f525"
    assert document.findtext("s:url/news:news/news:publication/news:name", namespaces=NS) == "A & B"
