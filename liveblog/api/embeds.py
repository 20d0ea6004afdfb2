"""The story on other sites' pages: the iframe view, the script that embeds it, the
server-side include, and oEmbed (issue #13, points 1 and 2; docs/api.md "Embeds, oEmbed").

- ``GET /stories/{slug}/embed``: the live page without its surroundings, for an iframe. It
  is ``live.html`` itself (``embed.html`` extends it), so it has the same markup, the same
  ``live.js`` and so the same live behaviour; ``embed-frame.js`` tells the embedding page
  its height. It is the only page other sites may frame: its ``frame-ancestors`` comes from
  ``LIVEBLOG_EMBED_FRAME_ANCESTORS`` (:mod:`liveblog.api.security_headers`).
- ``GET /embed.js``: the script a host page includes next to
  ``<div data-liveblog-story="SLUG">``; it puts the iframe there and keeps it as tall as
  its content (``liveblog/static/embed.js``).
- ``GET /stories/{slug}/fragment``: the updates' HTML and the JSON-LD, no ``<html>``, with
  absolute links, for a CMS to include in its own page.
- ``GET /oembed?url=…``: an oEmbed 1.0 ``rich`` document for a story's URL.

Everything here is for readers and reads no credentials: an iframe sends none, a CMS
should not. A draft story is 404 for everyone, as the live page is for a reader, and an
update retracted while the story was a draft is left out (docs/live-drafts.md).
"""

from __future__ import annotations

import html
import re
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Query, Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response

from liveblog import resources
from liveblog.api import caching
from liveblog.api.links import absolute_links, oembed_discovery, public_base
from liveblog.api.pages import frames, live_blog_posting, script_json, templates
from liveblog.api.services import Services, ServicesDep
from liveblog.api.stories import SlugPath
from liveblog.config import Settings
from liveblog.domain.values import SLUG_PATTERN, StoryStatus
from liveblog.errors import FormatNotImplemented, NotFound, StoryNotFound
from liveblog.projections import story_view

router = APIRouter(include_in_schema=False)

PROVIDER_NAME = "liveblog"
IFRAME_WIDTH = 640  # the oEmbed iframe's size unless maxwidth/maxheight ask for less
IFRAME_HEIGHT = 800
MAX_OEMBED_URL = 2048
_SLUG = SLUG_PATTERN.strip("^$")
HTML = "text/html; charset=utf-8"


async def reader_story(services: Services, slug: str) -> dict[str, Any]:
    """The Story resource as a reader (no token) gets it; :class:`StoryNotFound` for a
    missing or draft story. The header is read first: see ``pages.live_page``."""
    async with services.database.read() as connection:
        header = await story_view.read_header(connection, slug)
        if header is None or header["status"] == StoryStatus.DRAFT.value:
            raise StoryNotFound(f"there is no story {slug!r}")
        return await story_view.read_story(connection, header, include_draft_only=False)


def live_context(story: dict[str, Any], base: str, settings: Settings) -> dict[str, Any]:
    """What ``live.html`` (and so ``embed.html``) renders a story with, as ``pages.live_page``
    gives it: pinned updates once, in their section; the page's version for ``live.js``."""
    slug = story["slug"]
    pinned_ids = {update["id"] for update in story["pinned"]}
    listed = [update for update in story["updates"] if update["id"] not in pinned_ids]
    url = f"{base}/stories/{slug}"
    return {
        "story": story,
        "listed": listed,
        "shown": pinned_ids | {update["id"] for update in listed},
        "live": f"/api/v1/stories/{slug}/live",
        "json_ld": script_json(live_blog_posting(story, url, settings)),
        "language": story["language"],
        "oembed": oembed_discovery(base, slug),
    }


@router.get("/stories/{slug}/embed", response_class=HTMLResponse)
async def embed_page(slug: SlugPath, request: Request, services: ServicesDep) -> Response:
    """The live page for an iframe: same markup and live behaviour, links open a new tab."""
    story = await reader_story(services, slug)
    context = live_context(story, public_base(request, services.settings), services.settings)
    body = templates.get_template("embed.html").render(**context, frames=frames(services)).encode()
    headers = {
        "Link": f'<{context["live"]}?after={story["version"]}>; rel="alternate"; type="text/event-stream"',
    }
    return caching.live_response(
        request, services.cache_policy, body, HTML, [caching.purge_key(slug)], headers=headers
    )


@router.get("/stories/{slug}/fragment", response_class=HTMLResponse)
async def fragment(slug: SlugPath, request: Request, services: ServicesDep) -> Response:
    """The story's updates as an HTML fragment (no ``<html>``, absolute links) with its
    JSON-LD, for a CMS to include server-side."""
    story = await reader_story(services, slug)
    base = public_base(request, services.settings)
    body = templates.get_template("fragment.html").render(
        **live_context(story, base, services.settings), copy_links=False
    )
    return caching.live_response(
        request,
        services.cache_policy,
        absolute_links(body, base).encode(),
        HTML,
        [caching.purge_key(slug)],
    )


@router.get("/embed.js")
async def embed_script() -> FileResponse:
    """The host page's script (``liveblog/static/embed.js``)."""
    return FileResponse(
        resources.folder(resources.STATIC) / "embed.js",
        media_type="text/javascript; charset=utf-8",
        # Loaded by <script src> from every site that embeds a story.
        headers={"Cache-Control": "public, max-age=300", "Cross-Origin-Resource-Policy": "cross-origin"},
    )


# --------------------------------------------------------------------------- oEmbed


def story_slug_of(url: str, settings: Settings, request: Request) -> str | None:
    """The slug of the story page ``url`` names on this server (``/stories/{slug}``, or its
    embed), or ``None``: another host, another scheme than http(s), any other path."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    ours = urlsplit(public_base(request, settings))
    if parts.scheme not in ("http", "https") or parts.hostname is None or parts.username or parts.password:
        return None
    # http or https alike: a proxy that terminates TLS may not say which the reader used. So
    # a URL without a port matches a server on its scheme's default port, whichever it is.
    default = {"http": 80, "https": 443}
    our_port = ours.port or default.get(ours.scheme, 0)
    same_port = (
        (ours.port is None or ours.port == default[parts.scheme]) if port is None else port == our_port
    )
    if parts.hostname != ours.hostname or not same_port:
        return None
    prefix = (ours.path or "").rstrip("/") + "/stories/"
    path = parts.path
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :].rstrip("/").removesuffix("/embed")
    return rest if re.fullmatch(_SLUG, rest) else None


@router.get("/oembed")
async def oembed(
    request: Request,
    services: ServicesDep,
    url: Annotated[str, Query(min_length=1, max_length=MAX_OEMBED_URL)],
    format: Annotated[str, Query(max_length=16)] = "json",
    maxwidth: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    maxheight: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> Response:
    """oEmbed 1.0 for a published story's URL: type ``rich``, the iframe and ``embed.js``."""
    if format != "json":
        raise FormatNotImplemented(f"only format=json is served, not {format!r}")
    slug = story_slug_of(url, services.settings, request)
    if slug is None:
        raise NotFound("the url is not a story page of this server")
    story = await reader_story(services, slug)
    base = public_base(request, services.settings)
    width = min(IFRAME_WIDTH, maxwidth or IFRAME_WIDTH)
    height = min(IFRAME_HEIGHT, maxheight or IFRAME_HEIGHT)
    return JSONResponse(
        {
            "version": "1.0",
            "type": "rich",
            "provider_name": PROVIDER_NAME,
            "provider_url": f"{base}/",
            "title": story["title"],
            "html": iframe_snippet(base, story, width, height),
            "width": width,
            "height": height,
            "cache_age": 3600,
        },
        headers={"Cache-Control": "public, max-age=300"},
    )


def iframe_snippet(base: str, story: dict[str, Any], width: int, height: int) -> str:
    """The HTML an oEmbed consumer puts in its page: the embed's iframe (which works alone)
    and ``embed.js``, which keeps it as tall as its content."""
    src = f"{base}/stories/{quote(story['slug'])}/embed"
    title = html.escape(f"Live blog: {story['title']}")
    return (
        f'<iframe src="{src}" width="{width}" height="{height}" title="{title}" '
        f'data-liveblog-story="{html.escape(story["slug"])}" allow="clipboard-write" style="border:0;max-width:100%"></iframe>'
        f'<script src="{base}/embed.js" async></script>'
    )
