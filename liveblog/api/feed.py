"""docs/api.md "The change feed": every event of every story, in commit order, by cursor.

``GET /api/v1/events`` serves :mod:`liveblog.store.feed` three ways, chosen by ``Accept``:
a JSON page ``{items, next}``, the same page as NDJSON, or a long-lived Server-Sent Events
stream. Each item is a story's ``…/events`` item plus its ``story`` slug and its ``cursor``
(resume after this event). Auditors and admins get every event, drafts included; consumers
only what readers may see (published stories, from their publication on).

The SSE stream waits for wake-ups (:meth:`liveblog.live.hub.Hub.committed`: this process's
commits and, through the bus, every other process's) rather than polling; it polls soon
after a wake-up whose events the horizon still holds back (an older transaction is open),
and every ``live_sweep_seconds`` in case a wake-up was lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from liveblog.api import http
from liveblog.api.auth import authenticate_header, require
from liveblog.api.limits import client_address
from liveblog.api.schemas import FeedPage
from liveblog.api.services import Services, ServicesDep
from liveblog.audit.export import event_document, line
from liveblog.errors import Unauthenticated
from liveblog.live.session import RECHECK_SECONDS
from liveblog.projections.story_view import dumps
from liveblog.store import feed
from liveblog.store.event_store import RecordedEvent
from liveblog.store.feed import FeedCursor
from liveblog.store.tokens import Actor, Role

router = APIRouter(prefix="/api/v1", tags=["feed"])
FeedReader = Annotated[Actor, Depends(require(Role.AUDITOR, Role.CONSUMER))]
NDJSON = "application/x-ndjson"
SSE = "text/event-stream"
EVERYTHING = frozenset({Role.AUDITOR, Role.ADMIN})
HEARTBEAT_SECONDS = 15.0
HELD_BACK_POLL = (0.02, 0.5)  # first and longest wait while the horizon holds events back
NEXT_HEADER = "Liveblog-Next"


def feed_item(event: RecordedEvent) -> dict[str, Any]:
    """One item of the feed: the story's Event, its slug and the cursor after it."""
    return {"story": event.stream, **event_document(event), "cursor": feed.cursor_of(event).encode()}


def _cursor(text: str | None) -> FeedCursor | None:
    return None if text is None or text == "" else FeedCursor.decode(text)


@router.get(
    "/events",
    response_model=FeedPage,
    responses={
        200: {
            "content": {NDJSON: {}, SSE: {}},
            "description": "A page of the feed (JSON or NDJSON), or the live feed as Server-Sent Events",
        },
    },
)
async def list_feed(
    request: Request,
    actor: FeedReader,
    services: ServicesDep,
    after: Annotated[
        str | None,
        Query(
            max_length=feed.MAX_CURSOR_LENGTH,
            description="the `next` (or an item's `cursor`) already read; omit to start at the beginning",
            examples=["ZjEuNzQ5LjEwNDI"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=feed.MAX_PAGE, description="events per page (per read, for SSE)", examples=[100])
    ] = 100,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=feed.MAX_CURSOR_LENGTH,
            description="SSE: the `id` of the last event received (EventSource sends it when it "
            "reconnects); takes precedence over `after`",
            examples=["ZjEuNzQ5LjEwNDI"],
        ),
    ] = None,
) -> Response:
    """Every event of every story in commit order, with a cursor to resume from: the
    change feed for downstream systems. `{items, next}`; pass `next` as `after` (it equals
    `after` when there is nothing newer yet). With `Accept: application/x-ndjson` the same
    page, one item per line (`next` in the `Liveblog-Next` header); with
    `Accept: text/event-stream` a live stream (`id:` = cursor; resume with `Last-Event-ID`).
    Consumers see published stories only, from their publication on; auditors and admins
    everything, drafts included."""
    accept = request.headers.get("accept", "")
    published_only = actor.role not in EVERYTHING
    if SSE in accept:
        start = _cursor(last_event_id if last_event_id else after)
        return _stream(request, services, start, limit, published_only)
    start = _cursor(after)
    async with services.database.read() as connection:
        events, cursor = await feed.read_page(connection, start, limit, published_only=published_only)
    items = [feed_item(e) for e in events]
    next_cursor = cursor.encode()
    headers = {"Cache-Control": "private, no-cache", "Vary": "Authorization, Accept"}
    if NDJSON in accept:
        body = "".join(line(item) for item in items)
        return Response(body, media_type=NDJSON, headers={**headers, NEXT_HEADER: next_cursor})
    return http.json_response({"items": items, "next": next_cursor}, headers=headers)


def _stream(
    request: Request, services: Services, start: FeedCursor | None, limit: int, published_only: bool
) -> Response:
    address = client_address(request.scope, services.settings.trusted_proxies)
    services.connections.acquire(address)
    authorization = request.headers.get("authorization")

    async def frames() -> AsyncIterator[str]:
        following = follow(services, start, limit, published_only, authorization, request.is_disconnected)
        try:
            async with contextlib.aclosing(following):
                async for frame in following:
                    yield frame
        finally:
            services.connections.release(address)

    return StreamingResponse(
        frames(), media_type=SSE, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


async def follow(
    services: Services,
    start: FeedCursor | None,
    limit: int,
    published_only: bool,
    authorization: str | None,
    gone: Callable[[], Awaitable[bool]],
) -> AsyncGenerator[str, None]:
    """The SSE frames of the feed from ``start`` on, until the token lapses (then the
    stream ends; EventSource reconnects and is refused with 401) or the client goes away
    (``gone()``, asked whenever the stream is about to wait, so a quiet stream is not kept
    for a client that left)."""
    cursor = start or feed.START
    yield "retry: 1000\n\n"
    quiet_since = checked_at = time.monotonic()
    wait = HELD_BACK_POLL[0]
    while True:
        now = time.monotonic()
        if authorization is not None and now - checked_at >= RECHECK_SECONDS:
            checked_at = now
            try:
                await authenticate_header(services, authorization)
            except Unauthenticated:
                return
        woken = services.hub.committed()  # before reading: a commit during the read wakes us
        async with services.database.read() as connection:
            events, after = await feed.read_page(connection, cursor, limit, published_only=published_only)
            pending = after == cursor and await feed.held_back(connection, cursor)
        for event in events:
            encoded = feed.cursor_of(event).encode()
            yield f"id: {encoded}\nevent: event\ndata: {dumps(feed_item(event))}\n\n"
        now = time.monotonic()
        if events:
            quiet_since = now
        if after != cursor:
            cursor = after
            wait = HELD_BACK_POLL[0]
            continue  # more may be there already
        if now - quiet_since >= HEARTBEAT_SECONDS:
            # With the cursor as id, so a resume skips the hidden events read meanwhile.
            yield f"id: {cursor.encode()}\nevent: heartbeat\ndata: {dumps({'next': cursor.encode()})}\n\n"
            quiet_since = now
        if await gone():
            return
        if pending:
            timeout, wait = wait, min(wait * 2, HELD_BACK_POLL[1])
        else:
            timeout = min(services.settings.live_sweep_seconds, RECHECK_SECONDS, HEARTBEAT_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), timeout)
