"""The application factory. Everything the app needs is built here, per app, never at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from liveblog import __version__, resources
from liveblog.api import (
    audit,
    docs,
    embeds,
    feed,
    feeds,
    live,
    media,
    pages,
    problems,
    scheduled,
    sitemap,
    stories,
    submissions,
    updates,
    webhooks,
)
from liveblog.api.cors import CrossOrigin
from liveblog.api.head import HeadAsGet
from liveblog.api.limits import BodySizeLimit
from liveblog.api.logs import install_redaction
from liveblog.api.openapi import DocumentedAPI
from liveblog.api.security_headers import SecurityHeaders
from liveblog.api.services import Services, running_services
from liveblog.config import Settings
from liveblog.domain import social

GC_YOUNG_OBJECTS = 50_000


def settle_garbage_collector() -> None:
    """Tune CPython's cyclic collector for a server holding many live connections.

    Delivering one event to 10,000 readers wakes 10,000 tasks, whose short-lived objects
    fill the default young generation (700 objects) many times over, and each pass that
    reaches the old generation walks every connection's objects: a profile at 10,000
    readers found 43 % of the server's CPU in the collector. Objects that exist once the
    server is up (modules, routes, models) are never garbage, so they are frozen out of its
    reach, and the young generation may grow to ``GC_YOUNG_OBJECTS`` before a pass. Measured
    alone, this took 12 % off the server's CPU per frame at 10,000 readers (bench/fanout.py).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> FastAPI:
    """A liveblog ASGI app. Given ``services`` it uses them; otherwise it builds its own
    from ``settings`` at startup (and checks that the database schema is current)."""
    settings = services.settings if services is not None else (settings or Settings())
    install_redaction()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if services is not None:
            yield
            return
        async with running_services(settings) as built:
            app.state.services = built
            settle_garbage_collector()
            yield

    app = DocumentedAPI(
        title="liveblog",
        version=__version__,
        summary="Event-sourced live news coverage: an append-only story log, accountable corrections.",
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI and Redoc from a CDN with an inline script:
        # liveblog.api.docs serves its own under the docs' Content-Security-Policy.
        docs_url=None,
        redoc_url=None,
    )
    problems.install(app)
    app.include_router(stories.router)
    app.include_router(updates.router)
    app.include_router(submissions.router)
    app.include_router(scheduled.router)
    app.include_router(audit.router)
    app.include_router(feed.router)
    app.include_router(live.router)
    app.include_router(webhooks.router)
    app.include_router(pages.router)
    app.include_router(embeds.router)
    app.include_router(feeds.router)
    app.include_router(media.router)
    app.include_router(sitemap.router)
    app.include_router(docs.router)
    app.mount("/static", StaticFiles(directory=resources.folder(resources.STATIC)), name="static")
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        per_path={media.MEDIA_PATH: settings.media_max_bytes + media.MULTIPART_ALLOWANCE},
    )
    app.add_middleware(CrossOrigin, write_origins=settings.cors_write_origins)
    # Outside the others: their answers (413, CORS) get the headers too.
    app.add_middleware(
        SecurityHeaders,
        embed_frame_ancestors=settings.embed_frame_ancestors,
        frame_origins=social.frame_origins(settings.mastodon_hosts),
    )
    app.add_middleware(HeadAsGet)  # outermost: everything inside sees the GET it stands for
    if services is not None:
        app.state.services = services
    return app
