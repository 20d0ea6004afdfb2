"""docs/api.md "Live delivery": the same subscription as a WebSocket or as Server-Sent Events.

Every connection has its own sender reading its own bounded queue (see
:mod:`liveblog.live.hub`), and a receiver beside it, so a reader that goes away is noticed at
once rather than at the next send. A reader whose queue overflows is closed with 4008 and
resumes with ``after`` = the last version it saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, WebSocket
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocketDisconnect

from liveblog.api.auth import MaybeActor, authenticate_header
from liveblog.api.limits import client_address
from liveblog.api.openapi import problem_response
from liveblog.api.services import Services, ServicesDep
from liveblog.api.stories import SlugPath, ensure_readable
from liveblog.domain.values import SLUG_PATTERN
from liveblog.errors import BadRequest, LiveblogError, NotFound, RateLimited, Unauthenticated
from liveblog.live import messages
from liveblog.live.hub import Frame, Overflow, Subscriber

router = APIRouter(prefix="/api/v1", tags=["live"])

CLOSE_NORMAL = 1000
CLOSE_TOO_SLOW = 4008
CLOSE_TIMEOUT = 30.0  # a stalled reader gets this long to take the close frame, then is dropped
TOO_SLOW = "too slow: reconnect with after=<the last version you received>"
CLOSE_POLICY = 1008
CLOSE_UNAUTHENTICATED = 4401
CLOSE_CODES = {Unauthenticated: CLOSE_UNAUTHENTICATED, NotFound: 4404, BadRequest: 4400, RateLimited: 4429}
TOKEN_RECHECK_SECONDS = 2.0


def sse(frame: Frame) -> str:
    identifier = f"id: {frame.version}\n" if frame.kind == "event" else ""
    return f"{identifier}event: {frame.kind}\ndata: {frame.text}\n\n"


@router.websocket("/stories/{slug}/live")
async def live_socket(websocket: WebSocket, slug: str, after: str = "0") -> None:
    """Story events as they happen: `hello`, then every event after `after`, exactly once."""
    services: Services = websocket.app.state.services
    await websocket.accept()
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
    subscriber, current, backlog = await services.hub.subscribe(slug, version)
    try:
        await websocket.send_text(messages.hello(slug, current))
        for frame in backlog:
            await websocket.send_text(frame.text)
        if backlog and backlog[0].kind == "reset":
            await websocket.close(code=CLOSE_NORMAL, reason="reset: reload the story and reconnect")
            return
        watchers = [
            _send(websocket, subscriber),
            _receive(websocket, services.settings.live_inbound_per_minute),
            _overflowed(subscriber),
        ]
        if authorization is not None:
            watchers.append(_token_lapses(services, authorization))
        close = await _first(watchers)
        if close is not None:
            # The sender may be stuck behind a reader that stopped reading: it was cancelled,
            # and the close frame waits its turn behind what is already buffered.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(websocket.close(code=close[0], reason=close[1]), CLOSE_TIMEOUT)
    finally:
        services.hub.unsubscribe(slug, subscriber)


Close = tuple[int, str] | None


async def _first(watchers: list[Coroutine[Any, Any, Close]]) -> Close:
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


async def _send(websocket: WebSocket, subscriber: Subscriber) -> Close:
    """Hand the reader its queue (events and the hub's heartbeats), one frame at a time."""
    while True:
        try:
            frame = await subscriber.next()
        except Overflow:
            # Also watched by _overflowed, for a sender stuck in a send; whichever ends
            # first, the reader is told why.
            return CLOSE_TOO_SLOW, TOO_SLOW
        assert frame is not None  # no timeout: next() waits for a frame
        await websocket.send_text(frame.text)


async def _receive(websocket: WebSocket, per_minute: int) -> Close:
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
            return CLOSE_POLICY, "readers may not send messages"


async def _overflowed(subscriber: Subscriber) -> Close:
    await subscriber.overflow.wait()
    return CLOSE_TOO_SLOW, TOO_SLOW


async def _token_lapses(services: Services, authorization: str) -> Close:
    """Return once the connection's token is revoked or expires (checked every few seconds)."""
    while True:
        await asyncio.sleep(TOKEN_RECHECK_SECONDS)
        try:
            await authenticate_header(services, authorization)
        except Unauthenticated as exc:
            return CLOSE_UNAUTHENTICATED, exc.detail


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
        subscriber, current, backlog = await services.hub.subscribe(slug, version)
    except BaseException:
        services.connections.release(address)
        raise

    async def stream() -> AsyncIterator[str]:
        try:
            yield f"event: hello\ndata: {messages.hello(slug, current)}\n\n"
            for owed in backlog:
                yield sse(owed)
            if backlog and backlog[0].kind == "reset":
                return
            # Heartbeats arrive through the queue. With a token, wake often enough to notice
            # its revocation as the WebSocket does; without, the next frame shows a departure.
            wait = TOKEN_RECHECK_SECONDS if authorization else None
            checked = time.monotonic()
            while not await request.is_disconnected():
                try:
                    frame = await subscriber.next(wait)
                except Overflow:
                    return  # EventSource reconnects by itself, with Last-Event-ID
                if authorization is not None and time.monotonic() - checked >= TOKEN_RECHECK_SECONDS:
                    checked = time.monotonic()
                    try:
                        await authenticate_header(services, authorization)
                    except Unauthenticated:
                        return
                if frame is not None:
                    yield sse(frame)
        finally:
            services.hub.unsubscribe(slug, subscriber)
            services.connections.release(address)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
