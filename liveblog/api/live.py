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

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocketDisconnect

from liveblog.api import grip_origin
from liveblog.api.auth import MaybeActor, authenticate_header, sees_drafts
from liveblog.api.limits import client_address
from liveblog.api.openapi import problem_response
from liveblog.api.services import Services, ServicesDep
from liveblog.api.stories import SlugPath, ensure_live_readable
from liveblog.domain.values import SLUG_PATTERN
from liveblog.errors import BadRequest, LiveblogError, NotFound, Unauthenticated
from liveblog.live import grip
from liveblog.live import session as live_session
from liveblog.live.session import Close, Event, Heartbeat, Hello, LiveSession, Recheck, Reset, sse
from liveblog.store.tokens import Actor, Role

router = APIRouter(prefix="/api/v1", tags=["live"])

CLOSE_NORMAL = live_session.CLOSE_NORMAL
CLOSE_TOO_SLOW = live_session.CLOSE_TOO_SLOW
CLOSE_TIMEOUT = 30.0  # a stalled reader gets this long to take the close frame, then is dropped
TOO_SLOW = live_session.TOO_SLOW
CLOSE_POLICY = 1008
CLOSE_UNAUTHENTICATED = live_session.CLOSE_UNAUTHENTICATED
CLOSE_CODES = live_session.CLOSE_CODES
TOKEN_RECHECK_SECONDS = live_session.RECHECK_SECONDS


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
    if services.settings.live_tier == "grip":
        # Behind a GRIP proxy, WebSockets arrive as POSTs (WebSocket-over-HTTP): one that
        # comes here directly bypassed the proxy (refused: 403).
        await websocket.close(code=CLOSE_POLICY)
        return
    await websocket.accept()
    address = client_address(websocket.scope, services.settings.trusted_proxies)
    try:
        with services.connections.hold(address):
            await _serve(websocket, services, slug, after)
    except LiveblogError as exc:
        code = live_session.close_code_for(exc)
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
    await ensure_live_readable(services, slug, actor)
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


async def _grip_checked(request: Request, services: ServicesDep) -> None:
    """Behind a GRIP proxy, refuse (403) what does not come through it: before anything else."""
    if services.settings.live_tier == "grip":
        grip_origin.check_signature(services, request)


GripChecked = Annotated[None, Depends(_grip_checked)]


async def _reading_actor(services: Services, authorization: str | None) -> Actor | None:
    actor = await authenticate_header(services, authorization)
    return None if actor is not None and actor.role is Role.CONSUMER else actor


@router.get(
    "/stories/{slug}/live",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
        400: problem_response(400),  # not asked for as text/event-stream, or a bad `after`
        429: problem_response(429),  # too many live connections from this address
    },
)
async def live_events(
    _grip: GripChecked,
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
    grip_tier = services.settings.live_tier == "grip"
    if grip_tier and "grip" in request.query_params:
        return await grip_origin.next_link(services, request, slug, _after(after))
    if "text/event-stream" not in request.headers.get("accept", ""):
        raise BadRequest("open this path as a WebSocket, or send Accept: text/event-stream")
    version = _after(last_event_id if last_event_id is not None else after)
    await ensure_live_readable(services, slug, actor)
    if grip_tier:
        return await grip_origin.stream(services, request, slug, version, actor)
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
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/stories/{slug}/live", include_in_schema=False)
async def live_over_http(
    _grip: GripChecked, slug: SlugPath, request: Request, services: ServicesDep
) -> Response:
    """WebSocket-over-HTTP from the GRIP proxy (``LIVEBLOG_LIVE_TIER=grip`` only): the
    WebSocket protocol of ``…/live``, each connection's events as POSTs."""
    if services.settings.live_tier != "grip":
        raise NotFound("open this path as a WebSocket")
    if request.headers.get("content-type", "").split(";")[0].strip() != grip.WS_CONTENT_TYPE:
        raise BadRequest(f"send WebSocket-over-HTTP events ({grip.WS_CONTENT_TYPE})")
    try:
        after: int | LiveblogError = _after(request.query_params.get("after"))
    except LiveblogError as exc:
        after = exc

    async def authenticate(header: str | None) -> Actor | None:
        return await _reading_actor(services, header)

    return await grip_origin.websocket_events(services, request, slug, after, authenticate)
