"""docs/api.md "Live delivery": the same subscription as a WebSocket or as Server-Sent Events.

What a reader gets (hello, backlog or reset, live events, heartbeats, and why it ends) is
decided once, by :class:`liveblog.live.session.LiveSession`; the two endpoints here only
encode and write its frames. The WebSocket also has a receiver beside its sender, so a reader
that goes away is noticed at once rather than at the next send, and readers who talk too
much are closed. A reader whose queue overflows is closed with 4008 and resumes with
``after`` = the last version it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from typing import Annotated, Any, assert_never

from fastapi import APIRouter, Header, Query, Request, WebSocket
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocketDisconnect

from liveblog.api.auth import MaybeActor, authenticate_header, sees_drafts
from liveblog.api.limits import client_address
from liveblog.api.openapi import problem_response
from liveblog.api.services import Services, ServicesDep
from liveblog.api.stories import SlugPath, ensure_readable
from liveblog.domain.values import SLUG_PATTERN
from liveblog.errors import BadRequest, LiveblogError, NotFound, RateLimited, Unauthenticated
from liveblog.live import session as live_session
from liveblog.live.session import Close, Event, Heartbeat, Hello, LiveFrame, LiveSession, Recheck, Reset
from liveblog.store.tokens import Actor

router = APIRouter(prefix="/api/v1", tags=["live"])

CLOSE_NORMAL = live_session.CLOSE_NORMAL
CLOSE_TOO_SLOW = live_session.CLOSE_TOO_SLOW
CLOSE_TIMEOUT = 30.0  # a stalled reader gets this long to take the close frame, then is dropped
TOO_SLOW = live_session.TOO_SLOW
CLOSE_POLICY = 1008
CLOSE_UNAUTHENTICATED = live_session.CLOSE_UNAUTHENTICATED
CLOSE_CODES = {Unauthenticated: CLOSE_UNAUTHENTICATED, NotFound: 4404, BadRequest: 4400, RateLimited: 4429}
TOKEN_RECHECK_SECONDS = live_session.RECHECK_SECONDS
STREAM_HEADERS = [(b"cache-control", b"no-store"), (b"x-accel-buffering", b"no")]
"""On every live response (SSE and the WebSocket upgrade): no cache keeps it, no proxy buffers it."""


def sse(frame: LiveFrame) -> str | None:
    """``frame`` as a Server-Sent Event (``id:`` for events only, so ``Last-Event-ID`` is
    always a story version); ``None`` for a :class:`Close`, which SSE says by ending."""
    match frame:
        case Event():
            return f"id: {frame.version}\nevent: event\ndata: {frame.text}\n\n"
        case Hello():
            return f"event: hello\ndata: {frame.text}\n\n"
        case Reset():
            return f"event: reset\ndata: {frame.text}\n\n"
        case Heartbeat():
            return f"event: heartbeat\ndata: {frame.text}\n\n"
        case Close():
            return None
        case _:
            assert_never(frame)


def _newsroom(actor: Actor | None) -> bool:
    """Whether the subscriber may be served the story's draft period: newsroom staff (as
    for revision histories); readers, and consumer tokens, start at the publication."""
    return sees_drafts(actor)


def _recheck(services: Services, authorization: str | None) -> Recheck | None:
    """The session's re-check of the connection's token (none without a token)."""
    if authorization is None:
        return None

    async def lapsed() -> str | None:
        try:
            await authenticate_header(services, authorization)
        except Unauthenticated as exc:
            return exc.detail
        return None

    return lapsed


@router.websocket("/stories/{slug}/live")
async def live_socket(websocket: WebSocket, slug: str, after: str = "0") -> None:
    """Story events as they happen: `hello`, then every event after `after`, exactly once."""
    services: Services = websocket.app.state.services
    # Never kept or buffered by a proxy (the upgrade's answer says so, as the SSE one does).
    await websocket.accept(headers=STREAM_HEADERS)
    address = client_address(websocket.scope, services.settings.trusted_proxies)
    try:
        with services.connections.hold(address):
            await _serve(websocket, services, slug, after)
    except LiveblogError as exc:
        code = next((code for kind, code in CLOSE_CODES.items() if isinstance(exc, kind)), 4400)
        with contextlib.suppress(Exception):
            await websocket.close(code=code, reason=exc.detail[:120])
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the reader went away; nothing to tell anyone


async def _serve(websocket: WebSocket, services: Services, slug: str, after: str) -> None:
    version = _after(after)
    if not _slug_ok(slug):
        raise NotFound(f"there is no story {slug!r}")
    authorization = websocket.headers.get("authorization")
    actor = await authenticate_header(services, authorization)
    await ensure_readable(services, slug, actor)
    session = await LiveSession.open(
        services.hub, slug, after=version, drafts=_newsroom(actor), recheck=_recheck(services, authorization)
    )
    try:
        close = await _first(
            [
                _send(websocket, session),
                _receive(websocket, services.settings.live_inbound_per_minute),
                # The sender may be stuck behind a reader that stopped reading; an overflow
                # or a lapsed token must end the connection all the same.
                _interrupted(session),
            ]
        )
        if close is not None:
            # The sender was cancelled, and the close frame waits its turn behind what is
            # already buffered: a reader who never reads is dropped after CLOSE_TIMEOUT.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code=close.code, reason=close.reason), CLOSE_TIMEOUT)
    finally:
        session.close()


async def _first(watchers: list[Coroutine[Any, Any, Close | None]]) -> Close | None:
    """Run ``watchers`` until one ends; cancel the rest; the close the first one asks for."""
    tasks = [asyncio.create_task(watcher) for watcher in watchers]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finished = next(iter(done))
    return None if finished.cancelled() or finished.exception() is not None else finished.result()


async def _send(websocket: WebSocket, session: LiveSession) -> Close | None:
    """Write the session's frames, one text frame each, until it says how to close."""
    async with contextlib.aclosing(session.frames()) as frames:
        async for frame in frames:
            match frame:
                case Hello() | Event() | Reset() | Heartbeat():
                    await websocket.send_text(frame.text)
                case Close():
                    return frame
                case _:
                    assert_never(frame)
    return None


async def _interrupted(session: LiveSession) -> Close | None:
    return await session.interrupted()


async def _receive(websocket: WebSocket, per_minute: int) -> Close | None:
    """Return when the reader goes away. Readers have nothing to say: a few frames are
    ignored, a stream of them closes the connection (oversized frames are refused by the
    server's frame limit before they get here)."""
    window = deque[float]()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        now = time.monotonic()
        window.append(now)
        while window and window[0] < now - 60:
            window.popleft()
        if len(window) > per_minute:
            return Close(CLOSE_POLICY, "readers may not send messages")


def _after(raw: str | None) -> int:
    if raw is None or raw == "":
        return 0
    if not raw.isdigit() or len(raw) > 12:
        raise BadRequest("`after` must be a story version: a whole number, 0 or more")
    return int(raw)


def _slug_ok(slug: str) -> bool:
    return re.fullmatch(SLUG_PATTERN, slug) is not None


@router.get(
    "/stories/{slug}/live",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        400: problem_response(400),  # not asked for as text/event-stream, or a bad `after`
        429: problem_response(429),  # too many live connections from this address
    },
)
async def live_events(
    slug: SlugPath,
    request: Request,
    actor: MaybeActor,
    services: ServicesDep,
    after: Annotated[str | None, Query(description="the last version the reader has", examples=["0"])] = None,
    last_event_id: Annotated[
        str | None,
        Header(
            description="the `id` of the last event received (EventSource sends it when it "
            "reconnects); takes precedence over `after`",
            examples=["42"],
        ),
    ] = None,
) -> Response:
    """The same events as Server-Sent Events (`Accept: text/event-stream`); `Last-Event-ID`
    takes precedence over `after`. Open it as a WebSocket for the WebSocket protocol."""
    if "text/event-stream" not in request.headers.get("accept", ""):
        raise BadRequest("open this path as a WebSocket, or send Accept: text/event-stream")
    version = _after(last_event_id if last_event_id is not None else after)
    await ensure_readable(services, slug, actor)
    authorization = request.headers.get("authorization")
    address = client_address(request.scope, services.settings.trusted_proxies)
    services.connections.acquire(address)
    try:
        session = await LiveSession.open(
            services.hub,
            slug,
            after=version,
            drafts=_newsroom(actor),
            recheck=_recheck(services, authorization),
        )
    except BaseException:
        services.connections.release(address)
        raise

    async def stream() -> AsyncIterator[str]:
        # A Close ends the response: EventSource reconnects by itself, with Last-Event-ID.
        # Heartbeats arrive through the queue; without a token the next frame shows a
        # departure that the server did not report.
        try:
            async with contextlib.aclosing(session.frames()) as frames:
                async for frame in frames:
                    text = sse(frame)
                    if text is None:
                        return
                    yield text
                    if await request.is_disconnected():
                        return
        finally:
            session.close()
            services.connections.release(address)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={name.decode(): value.decode() for name, value in STREAM_HEADERS},
    )
