"""Atom and JSON Feed 1.1 for readers' feed readers (issue #13, point 3; docs/api.md "Feeds").

- ``GET /stories/{slug}/feed.atom`` and ``/stories/{slug}/feed.json``: one story;
- ``GET /feed.atom`` and ``/feed.json``: every published story together.

An entry is an update (the window of :mod:`liveblog.projections.feed_entries`): its ``id``
and link are the update's permalink (``/stories/{slug}/updates/{id}``), its content the
live page's own rendering of it (``_update.html``: the sanitised body, claim status, claim
note, public correction notes, retraction notice, sources, byline), with absolute links.
Never raw Markdown, and never anything the page would not show: whatever the read model
says an update is (retracted, or any status added later) is rendered as the page renders
it. ``updated`` is the latest of its publication, correction, claim change, note and
retraction. Drafts are 404, and updates retracted while their story was a draft are not
entries (docs/live-drafts.md). Nothing here reads a token: a feed is the same for everyone.

Conditional GET: the ``ETag`` is a digest of the body, so it changes exactly when the feed
does; ``If-None-Match`` that names it, or (without ``If-None-Match``) ``If-Modified-Since``
at or after ``Last-Modified`` (the newest ``updated``), is answered 304.

With ``LIVEBLOG_WEBSUB_HUB_URL`` set the feeds name the hub (``<link rel="hub">``, JSON
Feed ``hubs``) and :mod:`liveblog.websub` tells it when they change.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi import APIRouter, Request
from feedgen.feed import FeedGenerator
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from liveblog import __version__
from liveblog.api import caching
from liveblog.api.embeds import PROVIDER_NAME
from liveblog.api.http import not_modified
from liveblog.api.links import absolute_links, public_base
from liveblog.api.pages import excerpt, templates
from liveblog.api.services import ServicesDep
from liveblog.api.stories import SlugPath
from liveblog.domain.values import StoryStatus
from liveblog.errors import StoryNotFound
from liveblog.projections import feed_entries, story_view

router = APIRouter(include_in_schema=False)

ATOM = "application/atom+xml; charset=utf-8"
JSON_FEED = "application/feed+json; charset=utf-8"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


# ----------------------------------------------------------------------- entries


def _moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def entry_updated(update: dict[str, Any]) -> datetime:
    """The last time the update changed in a way a reader is told of."""
    moments = [update["published_at"], update.get("revised_at")]
    if update.get("retraction"):
        moments.append(update["retraction"]["at"])
    if update.get("verification"):
        moments.append(update["verification"].get("changed_at"))
    moments += [note["at"] for note in update.get("notes", [])]
    return max(_moment(moment) for moment in moments if moment)


def entry_title(update: dict[str, Any]) -> str:
    """What a feed reader lists the entry as. Only a published update's own text is used;
    any other status (retracted, or one added later) is named by its status and notice."""
    status = update.get("status")
    if status == "published":
        return update.get("title") or excerpt(update["body_html"]) or "Update"
    retraction = update.get("retraction")
    if status == "retracted" and retraction:
        return f"Retracted: {retraction['note']}"
    return f"{str(status).capitalize()} update"


def entry_tags(update: dict[str, Any]) -> list[str]:
    """Claim status, key event and any status other than published, as tags."""
    tags = []
    if update.get("verification"):
        tags.append(f"claim:{update['verification']['status']}")
    if update.get("key_event"):
        tags.append("key-event")
    if update.get("status") != "published":
        tags.append(str(update.get("status")))
    return tags


def entry_author(update: dict[str, Any]) -> str:
    """The byline, else the author's name (as the page's JSON-LD names them)."""
    return str(update.get("byline") or update["author"]["name"])


def entry_html(update: dict[str, Any], base: str) -> str:
    """The update as the live page renders it, with absolute links."""
    return absolute_links(templates.get_template("_update.html").render(u=update), base).strip()


def permalink(base: str, update: dict[str, Any]) -> str:
    return f"{base}/stories/{update['story']}/updates/{update['id']}"


# ----------------------------------------------------------------------- JSON Feed


class JsonFeedAuthor(BaseModel):
    name: str
    url: str | None = None


class JsonFeedHub(BaseModel):
    type: str
    url: str


class JsonFeedItem(BaseModel):
    """A JSON Feed 1.1 item; ``_liveblog`` is liveblog's extension (the update's status,
    claim and revision, for readers that show more than the HTML)."""

    model_config = ConfigDict(populate_by_name=True)

    id: str
    url: str
    title: str
    content_html: str
    date_published: str
    date_modified: str
    authors: list[JsonFeedAuthor]
    tags: list[str] = Field(default_factory=list)
    language: str | None = None
    liveblog: dict[str, Any] = Field(alias="_liveblog")


class JsonFeed(BaseModel):
    version: str = JSON_FEED_VERSION
    title: str
    home_page_url: str
    feed_url: str
    description: str | None = None
    language: str | None = None
    authors: list[JsonFeedAuthor] | None = None
    hubs: list[JsonFeedHub] | None = None
    items: list[JsonFeedItem]


# ----------------------------------------------------------------------- a feed


class Feed:
    """One feed, whichever its format: its own data, and its entries (updates)."""

    def __init__(
        self,
        *,
        base: str,
        title: str,
        home: str,
        path: str,
        subtitle: str,
        language: str | None,
        updated: datetime,
        entries: list[tuple[dict[str, Any], dict[str, Any]]],
        hub: str | None,
        prefix_story_titles: bool,
    ) -> None:
        """``entries`` are (story header, update) pairs; ``path`` is the feed's own path
        without its extension."""
        self.base = base
        self.title = title
        self.home = home
        self.path = path
        self.subtitle = subtitle
        self.language = language
        self.entries = sorted(entries, key=lambda pair: entry_updated(pair[1]), reverse=True)
        newest = [entry_updated(update) for _, update in self.entries]
        self.updated = max([updated, *newest])
        self.hub = hub
        self.prefix_story_titles = prefix_story_titles

    def title_of(self, header: dict[str, Any], update: dict[str, Any]) -> str:
        title = entry_title(update)
        return f"{header['title']}: {title}" if self.prefix_story_titles else title

    def atom(self) -> bytes:
        feed = FeedGenerator()
        feed.id(self.home)
        feed.title(self.title)
        if self.subtitle:
            feed.subtitle(self.subtitle)
        feed.link(href=self.home, rel="alternate", type="text/html")
        feed.link(href=f"{self.base}{self.path}.atom", rel="self", type="application/atom+xml")
        if self.hub:
            feed.link(href=self.hub, rel="hub")
        if self.language:
            feed.language(self.language)
        feed.updated(self.updated)
        feed.author(name=PROVIDER_NAME)
        feed.generator(PROVIDER_NAME, version=__version__)
        for header, update in self.entries:
            entry = feed.add_entry(order="append")
            link = permalink(self.base, update)
            entry.id(link)
            entry.title(self.title_of(header, update))
            entry.link(href=link, rel="alternate", type="text/html")
            entry.published(_moment(update["published_at"]))
            entry.updated(entry_updated(update))
            entry.author(name=entry_author(update))
            entry.content(entry_html(update, self.base), type="html")
            for tag in entry_tags(update):
                entry.category(term=tag)
        body: bytes = feed.atom_str(pretty=True)
        return body

    def json(self) -> bytes:
        document = JsonFeed(
            title=self.title,
            home_page_url=self.home,
            feed_url=f"{self.base}{self.path}.json",
            description=self.subtitle or None,
            language=self.language,
            authors=[JsonFeedAuthor(name=PROVIDER_NAME)],
            hubs=[JsonFeedHub(type="WebSub", url=self.hub)] if self.hub else None,
            items=[
                JsonFeedItem(
                    id=permalink(self.base, update),
                    url=permalink(self.base, update),
                    title=self.title_of(header, update),
                    content_html=entry_html(update, self.base),
                    date_published=update["published_at"],
                    date_modified=entry_updated(update).isoformat().replace("+00:00", "Z"),
                    authors=[JsonFeedAuthor(name=entry_author(update))],
                    tags=entry_tags(update),
                    language=header["language"],
                    liveblog={
                        "story": header["slug"],
                        "status": update.get("status"),
                        "revision": update.get("revision"),
                        "claim": update.get("verification"),
                    },
                )
                for header, update in self.entries
            ],
        )
        return document.model_dump_json(by_alias=True, exclude_none=True).encode()


def conditional(
    request: Request,
    body: bytes,
    media_type: str,
    last_modified: datetime,
    *,
    policy: caching.LivePolicy,
    key: str,
) -> Response:
    """``body``, or 304, per the request's ``If-None-Match`` / ``If-Modified-Since``, kept
    briefly by shared caches and purged with ``key`` (:mod:`liveblog.api.caching`)."""
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    modified = last_modified.astimezone(UTC).replace(microsecond=0)
    headers = {
        "ETag": tag,
        "Last-Modified": format_datetime(modified, usegmt=True),
        **caching.live_headers(policy, [key], public=caching.is_public(request)),
    }
    if "if-none-match" in request.headers:
        fresh = not_modified(request, tag)
    else:
        fresh = _not_modified_since(request.headers.get("if-modified-since"), modified)
    if fresh:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def _not_modified_since(header: str | None, modified: datetime) -> bool:
    if header is None:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False  # not a date: ignored, as RFC 9110 says
    if since.tzinfo is None:
        return False
    return modified <= since


# ----------------------------------------------------------------------- routes


async def _story_feed(slug: str, request: Request, services: ServicesDep) -> Feed:
    base = public_base(request, services.settings)
    async with services.database.read() as connection:
        header = await story_view.read_header(connection, slug)
        if header is None or header["status"] == StoryStatus.DRAFT.value:
            raise StoryNotFound(f"there is no story {slug!r}")
        updates = await feed_entries.story_entries(connection, slug)
    return Feed(
        base=base,
        title=header["title"],
        home=f"{base}/stories/{slug}",
        path=f"/stories/{slug}/feed",
        subtitle=header["summary"],
        language=header["language"],
        updated=_moment(header["updated_at"]),
        entries=[(header, update) for update in updates],
        hub=services.settings.websub_hub_url,
        prefix_story_titles=False,
    )


async def _all_feed(request: Request, services: ServicesDep) -> Feed:
    base = public_base(request, services.settings)
    entries: list[tuple[dict[str, Any], dict[str, Any]]] = []
    async with services.database.read() as connection:
        headers = await feed_entries.published_headers(connection)
        for header in headers:
            updates = await feed_entries.story_entries(connection, header["slug"])
            entries += [(header, update) for update in updates]
    entries.sort(key=lambda pair: entry_updated(pair[1]), reverse=True)
    languages = {header["language"] for header in headers}
    return Feed(
        base=base,
        title=f"{PROVIDER_NAME}: every story",
        home=f"{base}/",
        path="/feed",
        subtitle="The latest updates of every published story",
        language=languages.pop() if len(languages) == 1 else None,
        updated=max([_moment(h["updated_at"]) for h in headers], default=datetime(2000, 1, 1, tzinfo=UTC)),
        entries=entries[: feed_entries.FEED_ENTRIES],
        hub=services.settings.websub_hub_url,
        prefix_story_titles=True,
    )


@router.get("/stories/{slug}/feed.atom")
async def story_atom(slug: SlugPath, request: Request, services: ServicesDep) -> Response:
    """The story's Atom feed."""
    feed = await _story_feed(slug, request, services)
    return conditional(
        request, feed.atom(), ATOM, feed.updated, policy=services.cache_policy, key=caching.purge_key(slug)
    )


@router.get("/stories/{slug}/feed.json")
async def story_json_feed(slug: SlugPath, request: Request, services: ServicesDep) -> Response:
    """The story's JSON Feed 1.1."""
    feed = await _story_feed(slug, request, services)
    return conditional(
        request,
        feed.json(),
        JSON_FEED,
        feed.updated,
        policy=services.cache_policy,
        key=caching.purge_key(slug),
    )


@router.get("/feed.atom")
async def all_atom(request: Request, services: ServicesDep) -> Response:
    """Every published story's latest updates, as Atom."""
    feed = await _all_feed(request, services)
    return conditional(
        request, feed.atom(), ATOM, feed.updated, policy=services.cache_policy, key=caching.GLOBAL_KEY
    )


@router.get("/feed.json")
async def all_json_feed(request: Request, services: ServicesDep) -> Response:
    """Every published story's latest updates, as JSON Feed 1.1."""
    feed = await _all_feed(request, services)
    return conditional(
        request, feed.json(), JSON_FEED, feed.updated, policy=services.cache_policy, key=caching.GLOBAL_KEY
    )
