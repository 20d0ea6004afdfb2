"""What search engines are pointed at: a Google News sitemap and ``robots.txt`` (issue #13,
point 5).

- ``GET /sitemap-news.xml``: every published (live or closed) story first published within
  the last two days, as Google's News sitemap rules ask (no older article, at most 1,000
  URLs), each with its ``news:publication`` (``LIVEBLOG_PUBLISHER_NAME`` and the story's
  language), ``news:publication_date`` and ``news:title``. A draft is never listed.
- ``GET /robots.txt``: everything may be crawled except the API, and the sitemap's URL.

Both are for everyone and read no credentials.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from fastapi import APIRouter, Request
from starlette.responses import PlainTextResponse, Response

from liveblog.api.links import public_base
from liveblog.api.services import ServicesDep
from liveblog.domain.values import StoryStatus
from liveblog.projections import story_view

router = APIRouter(include_in_schema=False)

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
NEWS_WINDOW = timedelta(days=2)
"""Google News sitemaps list articles published in the last two days only."""
MAX_URLS = 1000
"""At most this many ``<url>`` in one News sitemap (Google's limit)."""
CACHE = "public, max-age=60"
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot hold (control characters, lone
    surrogates), which would make the whole sitemap unreadable."""
    return _NOT_XML.sub("", text)


def news_language(language: str) -> str:
    """The ``news:language`` of a BCP 47 tag: its ISO 639 language alone (``en-GB`` is
    ``en``), except Chinese, which Google names with its script region (``zh-cn``, ``zh-tw``)."""
    parts = language.strip().lower().replace("_", "-").split("-")
    if parts[0] == "zh":
        return "zh-tw" if any(part in ("tw", "hk", "mo", "hant") for part in parts[1:]) else "zh-cn"
    return parts[0] or "en"


def news_stories(headers: Iterable[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The story headers a News sitemap lists at ``now``: published (never a draft), first
    published within :data:`NEWS_WINDOW`, newest first, at most :data:`MAX_URLS`."""
    listed = [
        header
        for header in headers
        if header["status"] != StoryStatus.DRAFT.value
        and header.get("published_at")
        and now - NEWS_WINDOW <= datetime.fromisoformat(header["published_at"]) <= now + timedelta(minutes=5)
    ]
    listed.sort(key=lambda header: datetime.fromisoformat(header["published_at"]), reverse=True)
    return listed[:MAX_URLS]


def news_sitemap(headers: Iterable[dict[str, Any]], base: str, publication: str) -> bytes:
    """The sitemap document for ``headers`` (as :func:`news_stories` chose them)."""
    ElementTree.register_namespace("", SITEMAP_NS)
    ElementTree.register_namespace("news", NEWS_NS)
    urlset = ElementTree.Element(f"{{{SITEMAP_NS}}}urlset")
    for header in headers:
        url = ElementTree.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
        ElementTree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = f"{base}/stories/{header['slug']}"
        news = ElementTree.SubElement(url, f"{{{NEWS_NS}}}news")
        publisher = ElementTree.SubElement(news, f"{{{NEWS_NS}}}publication")
        ElementTree.SubElement(publisher, f"{{{NEWS_NS}}}name").text = xml_text(publication)
        ElementTree.SubElement(publisher, f"{{{NEWS_NS}}}language").text = news_language(header["language"])
        ElementTree.SubElement(news, f"{{{NEWS_NS}}}publication_date").text = header["published_at"]
        ElementTree.SubElement(news, f"{{{NEWS_NS}}}title").text = xml_text(header["title"])
    document: bytes = ElementTree.tostring(urlset, encoding="utf-8", xml_declaration=True)
    return document


@router.get("/sitemap-news.xml")
async def sitemap_news(request: Request, services: ServicesDep) -> Response:
    """The Google News sitemap of the stories published in the last two days."""
    async with services.database.read() as connection:
        headers, _ = await story_view.list_headers(connection, include_drafts=False)
    body = news_sitemap(
        news_stories(headers, datetime.now(UTC)),
        public_base(request, services.settings),
        services.settings.publisher_name,
    )
    return Response(body, media_type="application/xml", headers={"Cache-Control": CACHE})


@router.get("/robots.txt")
async def robots(request: Request, services: ServicesDep) -> PlainTextResponse:
    """Crawl the pages, not the API; the News sitemap is here."""
    base = public_base(request, services.settings)
    return PlainTextResponse(
        f"User-agent: *\nDisallow: /api/\nAllow: /\n\nSitemap: {base}/sitemap-news.xml\n",
        headers={"Cache-Control": CACHE},
    )
