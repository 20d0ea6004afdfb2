"""Server-rendered pages for readers: complete without JavaScript, strict security headers.

Templates live in ``liveblog/api/templates`` (Jinja2, autoescaped; the only unescaped HTML
is ``body_html``, which the sanitiser produced). Static files are served from the repository's
``clients/web`` folder at ``/static``.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveblog.api.auth import MaybeActor
from liveblog.api.services import ServicesDep
from liveblog.api.stories import SlugPath, ensure_readable
from liveblog.errors import StoryNotFound
from liveblog.projections import history, views

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parents[2] / "clients" / "web"

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _clock(moment: str | None) -> str:
    """An RFC 3339 time as readers read it: ``2023-06-04 13:34 UTC``."""
    if not moment:
        return ""
    return datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M UTC")


templates = Environment(loader=PackageLoader("liveblog.api", "templates"), autoescape=select_autoescape())
templates.filters["clock"] = _clock


def render(template: str, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(template).render(**context))


class PageSecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every HTML response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers", []))
                if headers.get(b"content-type", b"").startswith(b"text/html"):
                    message["headers"] = [
                        *message.get("headers", []),
                        *(
                            (name.lower().encode(), value.encode())
                            for name, value in SECURITY_HEADERS.items()
                        ),
                    ]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def _label(change: dict[str, Any], target: str) -> str:
    if target == history.STORY:
        return f"Story {change['kind']}"
    words = (change.get("body") or "").split()
    return "Update: " + " ".join(words[:8]) + ("…" if len(words) > 8 else "")


@router.get("/stories/{slug}/history", response_class=HTMLResponse)
async def history_page(
    slug: SlugPath,
    actor: MaybeActor,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> HTMLResponse:
    """Every change to a story, newest first, and the story as it stood after any of them."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        timeline = await history.read_story_timeline(connection, slug)
        state = await services.application.load_at(connection, slug, version)
    if state is None or (version is not None and state.version != version):
        raise StoryNotFound(f"story {slug!r} has no version {version}")
    changes = [
        {**history.for_reader(document), "label": _label(document, target)} for target, document in timeline
    ]
    as_of = None
    if version is not None:
        header = views.header_view(state)
        newest_first = sorted(state.updates.values(), key=lambda u: u.seq, reverse=True)
        as_of = {**header, "updates": [views.update_view(slug, u) for u in newest_first]}
    return render(
        "history.html", story=views.header_view(state), changes=changes, as_of=as_of, language=state.language
    )
