"""Server-rendered pages for readers: complete without JavaScript, strict security headers.

Templates live in ``liveblog/api/templates`` (Jinja2, autoescaped; the only unescaped HTML
is ``body_html``, which the sanitiser produced, and the JSON-LD, which :func:`script_json`
escapes so that nothing in it can end its ``<script>`` element). Static files are package
data too, ``liveblog/static``, served at ``/static``.

- ``GET /stories/{slug}``: the live page. Rendered from the read model exactly as
  ``GET /api/v1/stories/{slug}`` serves it, it names the version it shows
  (``<main data-version>``, and a ``Link`` to the live subscription ``after`` that version),
  so ``liveblog/static/live.js`` can follow on from exactly where the page ended.
  ``?before=<cursor>`` is the static page of older updates.
- ``GET /stories/{slug}/updates/{id}``: one update on its own (its permalink).
- ``GET /stories/{slug}/history``: every change to the story, a page at a time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Query, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import HTMLResponse, Response

from liveblog.api import caching
from liveblog.api.auth import MaybeActor, sees_drafts
from liveblog.api.links import oembed_discovery, public_base
from liveblog.api.services import Services, ServicesDep
from liveblog.api.stories import SlugPath, ensure_readable, public_since
from liveblog.api.updates import UpdateIdPath
from liveblog.config import Settings
from liveblog.domain import social
from liveblog.domain.values import MAX_VERSION, StoryStatus
from liveblog.errors import InvalidInput, StoryNotFound, UpdateNotFound
from liveblog.projections import history, past_views, story_view, views
from liveblog.projections.rendering import markdown_diff_to_html, markdown_to_html
from liveblog.projections.tables import update_views

router = APIRouter(include_in_schema=False)

EXCERPT_CHARS = 100
REDACTED = "redacted"
"""The status of a redacted update (docs/redaction.md): pages show its tombstone."""


def _clock(moment: str | None) -> str:
    """An RFC 3339 time as readers read it: ``2023-06-04 13:34 UTC``."""
    if not moment:
        return ""
    return datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M UTC")


def _day(moment: str | None) -> str:
    """The date of an RFC 3339 time as readers read it: ``2023-06-04`` (UTC)."""
    if not moment:
        return ""
    return datetime.fromisoformat(moment).strftime("%Y-%m-%d")


def removed_notice(update: dict[str, Any]) -> str:
    """What stands in for a redacted update's text wherever a text is wanted (a title, an
    excerpt, JSON-LD): "Removed for legal reasons on DATE", never anything of the text."""
    redaction = update.get("redaction") or {}
    return f"Removed for legal reasons on {_day(redaction.get('at'))}"


def web_url(url: str | None) -> str | None:
    """``url`` if it is an http(s) URL (the API accepts no other), else ``None``: a link
    with any other scheme (``javascript:``, ``data:``) is never rendered as a link."""
    if url and url.lower().startswith(("http://", "https://")):
        return url
    return None


def plain_text(body_html: str) -> str:
    """The text of sanitised ``body_html``, whitespace collapsed (entities decoded)."""
    return Markup(body_html).striptags()


def excerpt(body_html: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of an update's text, cut at a word (``live.js`` cuts the same way)."""
    text = plain_text(body_html)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > 0 else cut) + "…"


_SCRIPT_JSON_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(document: Any) -> Markup:
    """JSON that is safe inside ``<script type="application/ld+json">``: with no ``<``, ``>``
    or ``&`` left in it (each is a ``\\u`` escape, which JSON parsers read back as the same
    character), no title can close the element (``</script>``) or open a comment."""
    return Markup(json.dumps(document, ensure_ascii=False).translate(_SCRIPT_JSON_ESCAPES))


templates = Environment(loader=PackageLoader("liveblog.api", "templates"), autoescape=select_autoescape())
templates.filters["clock"] = _clock
templates.filters["web_url"] = web_url
templates.filters["excerpt"] = excerpt
templates.filters["day"] = _day
templates.globals["removed_notice"] = removed_notice


def provider_label(provider: str | None) -> str:
    """A social provider's name for readers ("YouTube"); an unknown one as it is."""
    try:
        return social.LABELS[social.Provider(provider or "")]
    except ValueError:
        return str(provider)


def frame_origin(url: str) -> str:
    """The origin (``https://host``) of an embed frame's URL."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


templates.filters["provider_label"] = provider_label
templates.filters["frame_origin"] = frame_origin


def frames(services: Services) -> tuple[str, ...]:
    """The embed frame origins a page's CSP allows (see ``security_headers``): what the embed
    placeholders may offer to load."""
    return social.frame_origins(services.settings.mastodon_hosts)


def render(template: str, *, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """A page, revalidated on every use (``no-cache``) unless ``headers`` say otherwise:
    every page can change, by a correction or a redaction, whose text must not outlive it."""
    return HTMLResponse(
        templates.get_template(template).render(**context),
        headers={"Cache-Control": "no-cache", **(headers or {})},
    )


def cached_page(
    request: Request,
    services: Services,
    template: str,
    keys: list[str],
    *,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """A page about the present, with the caching headers of :func:`caching.live_response`:
    kept briefly by shared caches, purged on every change of what ``keys`` name."""
    body = templates.get_template(template).render(**context).encode()
    return caching.live_response(
        request, services.cache_policy, body, "text/html; charset=utf-8", keys, headers=headers
    )


# ------------------------------------------------------------------------- live page


def publisher(settings: Settings) -> dict[str, Any]:
    """schema.org ``publisher`` of every story: ``LIVEBLOG_PUBLISHER_NAME`` and, if set,
    ``LIVEBLOG_PUBLISHER_LOGO_URL`` (Google asks for both for Top Stories)."""
    organization: dict[str, Any] = {"@type": "Organization", "name": settings.publisher_name}
    if settings.publisher_logo_url:
        organization["logo"] = {"@type": "ImageObject", "url": settings.publisher_logo_url}
    return organization


def live_blog_posting(story: dict[str, Any], url: str, settings: Settings) -> dict[str, Any]:
    """schema.org ``LiveBlogPosting`` for a Story resource: the page's updates (pinned ones
    included), with each public correction note as a ``CorrectionComment``, and the
    publisher of :func:`publisher`."""
    seen: set[str] = set()
    updates = []
    for update in sorted(
        [*story["pinned"], *story["updates"]],
        key=lambda u: datetime.fromisoformat(u["published_at"]),
        reverse=True,
    ):
        if update["id"] not in seen:
            seen.add(update["id"])
            updates.append(_blog_posting(update, url))
    start = story["published_at"] or story["opened_at"]
    document: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "LiveBlogPosting",
        "@id": url,
        "url": url,
        "headline": story["title"],
        "description": story["summary"],
        "inLanguage": story["language"],
        "datePublished": start,
        "dateModified": story["updated_at"],
        "coverageStartTime": start,
        "publisher": publisher(settings),
        "liveBlogUpdate": updates,
    }
    if story["status"] == "closed" and story["closed_at"]:
        document["coverageEndTime"] = story["closed_at"]
    return document


def _blog_posting(update: dict[str, Any], url: str) -> dict[str, Any]:
    if update["status"] == REDACTED:
        return _tombstone_posting(update, url)
    retraction = update["retraction"]
    corrections = [
        {"@type": "CorrectionComment", "text": note["note"], "datePublished": note["at"]}
        for note in update["notes"]
    ]
    if retraction is not None:
        corrections.append(
            {
                "@type": "CorrectionComment",
                "text": f"Retracted: {retraction['note']}",
                "datePublished": retraction["at"],
            }
        )
    byline = update["byline"]
    posting: dict[str, Any] = {
        "@type": "BlogPosting",
        "@id": f"{url}#update-{update['id']}",
        "url": f"{url}/updates/{update['id']}",
        # A retracted update is withdrawn: its notice stands in for its text.
        "headline": f"Retracted: {retraction['note']}"
        if retraction
        else update.get("title") or excerpt(update["body_html"]),
        "articleBody": retraction["note"] if retraction else plain_text(update["body_html"]),
        "datePublished": update["published_at"],
        "dateModified": update["revised_at"] or update["published_at"],
        "author": {"@type": "Person", "name": byline}
        if byline
        else {"@type": "Organization", "name": update["author"]["name"]},
    }
    if corrections:
        posting["correction"] = corrections
    return posting


def _tombstone_posting(update: dict[str, Any], url: str) -> dict[str, Any]:
    """A redacted update in JSON-LD: the notice and its public note, and no author (a
    byline could name the very person the redaction protects)."""
    redaction = update["redaction"]
    notice = removed_notice(update)
    return {
        "@type": "BlogPosting",
        "@id": f"{url}#update-{update['id']}",
        "url": f"{url}/updates/{update['id']}",
        "headline": notice,
        "articleBody": f"{notice}. {redaction['note']}" if redaction.get("note") else notice,
        "datePublished": update["published_at"],
        "dateModified": redaction["at"],
    }


def _cursor(before: str | None, *, name: str = "before") -> int | None:
    if before is None:
        return None
    seq = views.decode_cursor(before)
    if seq is None:
        raise InvalidInput(f"`{name}` is not a cursor this server issued")
    return seq


@router.get("/stories/{slug}", response_class=HTMLResponse)
async def live_page(
    slug: SlugPath,
    request: Request,
    actor: MaybeActor,
    services: ServicesDep,
    before: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The story for readers, then live: pinned updates, key events, the newest updates."""
    before_seq = _cursor(before)
    await ensure_readable(services, slug, actor)
    url = str(request.url_for("live_page", slug=slug))
    async with services.database.read() as connection:
        # The header is read first, so the version it names is at most that of anything read
        # after it: the client, following on from that version, may be told again of
        # something the page already shows (it re-renders it in place) but misses nothing.
        header = await story_view.read_header(connection, slug)
        if header is None:
            raise StoryNotFound(f"there is no story {slug!r}")
        if before_seq is not None:
            older, next_cursor = await story_view.read_updates(
                connection,
                slug,
                before=before_seq,
                limit=views.PAGE_SIZE,
                include_draft_only=sees_drafts(actor),
            )
            return cached_page(
                request,
                services,
                "older.html",
                [caching.purge_key(slug)],
                story=header,
                updates=older,
                next=next_cursor,
                language=header["language"],
                frames=frames(services),
            )
        story = await story_view.read_story(connection, header, include_draft_only=sees_drafts(actor))
    pinned_ids = {update["id"] for update in story["pinned"]}
    # A pinned update is shown once, in the pinned section; it returns to the list if unpinned.
    listed = [update for update in story["updates"] if update["id"] not in pinned_ids]
    shown = pinned_ids | {update["id"] for update in listed}
    live = f"/api/v1/stories/{slug}/live"
    headers = {
        "Link": f'<{live}?after={story["version"]}>; rel="alternate"; type="text/event-stream", '
        f'</api/v1/stories/{slug}>; rel="alternate"; type="application/json"',
    }
    return cached_page(
        request,
        services,
        "live.html",
        [caching.purge_key(slug)],
        headers=headers,
        story=story,
        listed=listed,
        shown=shown,
        live=live,
        json_ld=script_json(live_blog_posting(story, url, services.settings)),
        language=story["language"],
        oembed=oembed_discovery(public_base(request, services.settings), slug),
        frames=frames(services),
    )


@router.get("/stories/{slug}/updates/{update_id}", response_class=HTMLResponse)
async def update_page(
    slug: SlugPath, update_id: UpdateIdPath, request: Request, actor: MaybeActor, services: ServicesDep
) -> Response:
    """One update on its own: the link target for an update that is not on the live page."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        header = await story_view.read_header(connection, slug)
        update = await story_view.read_update(
            connection, slug, update_id, include_draft_only=sees_drafts(actor)
        )
    if header is None:
        raise StoryNotFound(f"there is no story {slug!r}")
    if update is None:
        raise UpdateNotFound(f"story {slug!r} has no update {update_id!r}")
    return cached_page(
        request,
        services,
        "update.html",
        [caching.purge_key(slug), caching.update_key(update_id)],
        story=header,
        u=update,
        language=header["language"],
        frames=frames(services),
    )


# ---------------------------------------------------------------------- history page


async def _redacted_updates(
    connection: AsyncConnection, slug: str, targets: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The present views of those of ``targets`` (update ids) that are redacted, by id."""
    ids = sorted(set(targets) - {history.STORY})
    if not ids:
        return {}
    rows = await connection.execute(
        select(update_views.c.id, update_views.c.view).where(
            update_views.c.story == slug, update_views.c.id.in_(ids)
        )
    )
    found = {row.id: json.loads(row.view) for row in rows}
    return {update_id: view for update_id, view in found.items() if view.get("status") == REDACTED}


def _tombstone_change(change: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """A change to a redacted update as the history page shows it: when and what kind of
    change it was, and nothing of the text (no body, note, diff or field changes). The
    newest revision, the redaction itself, carries the tombstone's notice."""
    shown: dict[str, Any] = {
        "version": change["version"],
        "at": change["at"],
        "kind": change["kind"],
        "note": None,
        "diff": {},
        "label": "Update removed for legal reasons",
    }
    if change.get("revision") == update.get("revision"):
        shown["tombstone"] = update["redaction"]
    return shown


KIND_LABELS = {
    "posted": "Posted",
    "correction": "Correction",
    "clarification": "Clarification",
    "amendment": "Amendment",
    "minor": "Minor edit",
    "retraction": "Retracted",
    "redaction": "Removed for legal reasons",
    "opened": "Story opened",
    "published": "Story published",
    "revised": "Story revised",
    "closed": "Coverage ended",
    "reopened": "Coverage reopened",
}
"""What each kind of change is called on the history page; ``verification`` and ``flags``
are named from what they changed (:func:`kind_label`)."""
FLAG_LABELS = {
    "pinned": ("Pinned", "Unpinned"),
    "key_event": ("Marked as a key event", "No longer a key event"),
}


def kind_label(change: dict[str, Any]) -> str:
    """The kind of a change as readers read it: "Correction", "Claim status: disputed",
    "Pinned, Marked as a key event", "Retracted"…"""
    kind = change["kind"]
    changes = change.get("changes") or {}
    if kind == "verification":
        claim = changes.get("verification")
        if claim is None:  # a redacted update's revisions keep no claim
            return "Claim status changed"
        now, before = claim["to"], claim["from"]
        if not now:
            return "Claim status removed"
        if before and before.get("status") == now["status"]:
            return f"Claim note changed ({now['status']})"
        return f"Claim status: {now['status']}"
    if kind == "flags":
        named = [
            (on if changes[name]["to"] else off) for name, (on, off) in FLAG_LABELS.items() if name in changes
        ]
        return ", ".join(named) or "Flags changed"
    return KIND_LABELS.get(kind, str(kind).capitalize())


LABEL_WORDS = 8


def _label(change: dict[str, Any], target: str) -> str:
    """What a change was made to: the story, or an update named by its first words, as
    readers read them (the Markdown rendered, so never a raw ``**``)."""
    if target == history.STORY:
        return ""  # the kind says it: "Story revised", "Coverage ended"
    words = plain_text(markdown_to_html(change.get("body") or "")).split()
    return "Update: " + " ".join(words[:LABEL_WORDS]) + ("…" if len(words) > LABEL_WORDS else "")


def _diff_html(change: dict[str, Any], target: str) -> dict[str, Markup]:
    """Each changed field's diff as HTML: an update's body (Markdown) rendered with its
    deletions and insertions marked; a story's title or summary (plain text) as text."""
    shown: dict[str, Markup] = {}
    for field, segments in (change.get("diff") or {}).items():
        if target != history.STORY and field == "body":
            shown[field] = Markup(markdown_diff_to_html(segments))
            continue
        parts = [
            Markup("<{0}>{1}</{0}>").format(tag, segment["text"])
            if (tag := {"delete": "del", "insert": "ins"}.get(segment["op"]))
            else Markup.escape(segment["text"])
            for segment in segments
        ]
        shown[field] = Markup("<p>") + Markup("").join(parts) + Markup("</p>")
    return shown


def _shown_change(change: dict[str, Any], target: str) -> dict[str, Any]:
    return {**change, "kind_label": kind_label(change), "diff_html": _diff_html(change, target)}


TIMELINE_PAGE = 50


def _timeline_cursor(name: str, cursor: str | None) -> int | None:
    """The version inside a timeline cursor (``c<version>``), or a 422 for anything else."""
    if cursor is None:
        return None
    digits = cursor[1:]
    if not cursor.startswith("c") or not 1 <= len(digits) <= 9 or not (digits.isascii() and digits.isdigit()):
        raise InvalidInput(f"`{name}` is not a cursor this server issued")
    return int(digits)


def _history_url(slug: str, **params: object) -> str:
    query = urlencode({name: value for name, value in params.items() if value is not None})
    return f"/stories/{slug}/history" + (f"?{query}" if query else "")


@router.get("/stories/{slug}/history", response_class=HTMLResponse)
async def history_page(
    slug: SlugPath,
    request: Request,
    actor: MaybeActor,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, le=MAX_VERSION)] = None,
    before: Annotated[str | None, Query(max_length=16)] = None,
    after: Annotated[str | None, Query(max_length=16)] = None,
    updates: Annotated[str | None, Query(max_length=32)] = None,
) -> HTMLResponse:
    """Every change to a story, newest first, a page at a time (``?before=``/``?after=``:
    older and newer changes), and the story as it stood after any of them (``?version=N``,
    its updates a page at a time: ``?updates=``)."""
    if before is not None and after is not None:
        raise InvalidInput("ask for `before` or `after`, not both")
    before_version = _timeline_cursor("before", before)
    after_version = _timeline_cursor("after", after)
    updates_before = _cursor(updates, name="updates")
    await ensure_readable(services, slug, actor)
    as_of = None
    async with services.database.read() as connection:
        timeline = await history.read_story_timeline(connection, slug)
        if version is None:
            header = await story_view.read_header(connection, slug)
        else:
            header = await past_views.read_header(connection, slug, version)
            if header is not None:
                shown, next_updates = await past_views.read_updates_page(
                    connection,
                    slug,
                    version,
                    before=updates_before,
                    limit=views.PAGE_SIZE,
                    include_draft_only=sees_drafts(actor),
                )
                # The past read model of a redacted update is its tombstone; this holds even
                # for rows written before the redaction, should any be left.
                present = await _redacted_updates(connection, slug, (u["id"] for u in shown))
                as_of = {
                    **header,
                    "updates": [present.get(u["id"], u) for u in shown],
                    "older": None
                    if next_updates is None
                    else _history_url(slug, version=version, updates=next_updates) + "#as-of",
                }
    if header is None:
        raise StoryNotFound(f"story {slug!r} has no version {version}")
    if header["status"] == StoryStatus.DRAFT.value and not sees_drafts(actor):
        # As the API's ?at_version=N: a version at which the story was a draft is not for readers.
        raise StoryNotFound(f"story {slug!r} was not published at version {version}")
    since = await public_since(services, slug, actor)
    # Readers' history starts at publication.
    visible = [(target, document) for target, document in timeline if document["version"] >= since]
    if before_version is not None:
        window = [item for item in visible if item[1]["version"] < before_version][-TIMELINE_PAGE:]
    elif after_version is not None:
        window = [item for item in visible if item[1]["version"] > after_version][:TIMELINE_PAGE]
    else:
        window = visible[-TIMELINE_PAGE:]
    async with services.database.read() as connection:
        redacted = await _redacted_updates(connection, slug, (target for target, _ in window))
    changes = [
        _shown_change(
            _tombstone_change(document, redacted[target])
            if target in redacted
            else {**history.for_reader(document), "label": _label(document, target)},
            target,
        )
        for target, document in window
    ]
    steps = {"previous": None, "next": None}
    if as_of is not None:
        versions = [document["version"] for _, document in visible]
        earlier = [v for v in versions if v < as_of["version"]]
        later = [v for v in versions if v > as_of["version"]]
        steps = {"previous": earlier[-1] if earlier else None, "next": later[0] if later else None}
    first, last = (visible[0][1], visible[-1][1]) if visible else (None, None)
    older = newer = None
    if changes and first is not None and last is not None:
        if first["version"] < changes[0]["version"]:
            older = _history_url(slug, version=version, before=f"c{changes[0]['version']}")
        if last["version"] > changes[-1]["version"]:
            newer = _history_url(slug, version=version, after=f"c{changes[-1]['version']}")
    return render(
        "history.html",
        # Revalidated on every use; a token holder's (staff see more) is never kept at all.
        headers=None if caching.is_public(request) else {"Cache-Control": caching.PRIVATE},
        story=header,
        changes=changes,
        total=len(visible),
        first=first,
        last=last,
        older=older,
        newer=newer,
        as_of=as_of,
        steps=steps,
        language=header["language"],
    )
