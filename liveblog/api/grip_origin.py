"""``…/live`` as a GRIP origin (``LIVEBLOG_LIVE_TIER=grip``): the proxy in front (Pushpin,
Fastly Fanout) holds the readers' connections; this answers each of its requests once.

* ``GET`` with ``Accept: text/event-stream``: the reader's hello and backlog (or reset), as
  the direct tier sends them (:meth:`LiveSession.opening`), and the headers that hold the
  stream on the story's channel from the last version sent (:func:`grip.stream_hold`).
* ``GET`` of a next link (``?grip=…``, fetched by the proxy, with ``Grip-Last``): the events
  after the version the proxy has, and the hold again; or nothing and no hold (the stream
  ends) if the reader's token has lapsed, or a reset if it cannot be served.
* ``POST`` of WebSocket-over-HTTP events: ``OPEN`` is answered with the hello and backlog (or
  a reset and a close) and the subscriptions; readers' ``TEXT`` frames are counted (the
  per-minute limit and frame size of the direct tier, kept in the connection's meta).

Every request must carry the proxy's ``Grip-Sig`` (an HS256 JWT with
``LIVEBLOG_GRIP_SIG_KEY``): one that does not is refused (403), so nobody bypasses the tier.
What a reader gets is decided by :class:`~liveblog.live.session.LiveSession`, once, for
every transport; the channels and their audiences are in :mod:`liveblog.live.grip`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import assert_never

from fastapi import Request
from starlette.responses import Response

from liveblog.api.auth import sees_drafts
from liveblog.api.services import Services
from liveblog.api.stories import ensure_live_readable
from liveblog.errors import Forbidden, LiveblogError, NotFound
from liveblog.live import grip, messages
from liveblog.live.session import (
    Close,
    Event,
    Heartbeat,
    Hello,
    LiveFrame,
    LiveSession,
    Reset,
    close_code_for,
    sse,
)
from liveblog.store import tokens
from liveblog.store.tokens import Actor

Authenticate = Callable[[str | None], Awaitable[Actor | None]]
"""The reading actor an ``Authorization`` header names (``None``: a reader)."""
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
INBOUND_META = "Inbound"
"""The connection meta (``Set-Meta-Inbound``/``Meta-Inbound``) counting a reader's frames:
``<minute>:<count>``."""


def check_signature(services: Services, request: Request) -> None:
    """Refuse (403) a request that does not come through the GRIP proxy."""
    key = services.settings.grip_sig_key
    assert key is not None  # the settings require it with the grip tier
    if not grip.signed(request.headers.get("grip-sig"), key):
        raise Forbidden("live connections are served through the GRIP proxy (no valid Grip-Sig)")


async def _session(services: Services, slug: str, after: int, actor: Actor | None) -> list[LiveFrame]:
    """What ``actor`` is owed now on ``slug`` from ``after``: the session's opening frames
    (the hub's subscription is given back at once: the proxy holds the connection)."""
    session = await LiveSession.open(services.hub, slug, after=after, drafts=sees_drafts(actor))
    try:
        return session.opening()
    finally:
        session.close()


def _channels(slug: str, actor: Actor | None, version: int) -> dict[str, int | None]:
    channels: dict[str, int | None] = {grip.story_channel(slug, newsroom=sees_drafts(actor)): version}
    if actor is not None:
        channels[grip.token_channel(actor.id)] = None
    return channels


def _watch(services: Services, actor: Actor | None) -> None:
    if actor is not None and services.grip is not None:
        services.grip.watch(actor.id)


def _last(frames: list[LiveFrame]) -> int:
    """The version the reader holds after ``frames``: the highest one sent (the hello's
    counts: a submission's version before it is owed nothing, so it is held too)."""
    version = 0
    for frame in frames:
        match frame:
            case Hello() | Event() | Reset() | Heartbeat():
                version = max(version, frame.version)
            case Close():
                pass
            case _:
                assert_never(frame)
    return version


def _hold(
    services: Services, request: Request, slug: str, actor: Actor | None, version: int
) -> dict[str, str]:
    key = services.settings.grip_sig_key
    assert key is not None
    newsroom = actor if sees_drafts(actor) else None
    link = grip.next_link(
        request.url.path, key, slug, after=version, token_id=newsroom.id if newsroom is not None else None
    )
    heartbeat = sse(Heartbeat(version, messages.heartbeat(version)))
    assert heartbeat is not None
    return grip.stream_hold(
        _channels(slug, actor, version),
        link=link,
        link_every=services.settings.grip_next_link_seconds,
        keep_alive=heartbeat,
    )


async def stream(
    services: Services, request: Request, slug: str, after: int, actor: Actor | None
) -> Response:
    """A new Server-Sent Events reader: its opening frames, then held on the channel."""
    frames = await _session(services, slug, after, actor)
    body = "".join(text for frame in frames if (text := sse(frame)) is not None)
    headers = {"Cache-Control": "no-cache"}
    if not isinstance(frames[-1], Close):
        headers |= _hold(services, request, slug, actor, _last(frames))
        _watch(services, actor)
    return Response(body, media_type="text/event-stream", headers=headers)


async def next_link(services: Services, request: Request, slug: str, after: int) -> Response:
    """The proxy recovering a held stream (a gap, or its periodic re-fetch)."""
    key = services.settings.grip_sig_key
    assert key is not None
    token_id = request.query_params.get("token")
    if not grip.link_valid(key, slug, request.query_params.get("grip", ""), token_id):
        raise Forbidden("this next link was not issued by this server")
    actor: Actor | None = None
    if token_id is not None:
        async with services.database.read() as connection:
            actor = await tokens.valid_actor(connection, token_id, now=services.application.clock())
        if actor is None:
            # No hold: the proxy ends the stream. The reader reconnects with its token, if valid.
            return Response("", media_type="text/event-stream")
    channel = grip.story_channel(slug, newsroom=sees_drafts(actor))
    last = grip.last_id(request.headers.getlist("grip-last"), channel)
    version = last if last is not None else after
    try:
        frames = await _session(services, slug, version, actor)
    except NotFound:
        return Response("", media_type="text/event-stream")
    owed = [frame for frame in frames if not isinstance(frame, Hello)]
    body = "".join(text for frame in owed if (text := sse(frame)) is not None)
    headers = {}
    if not (owed and isinstance(owed[-1], Close)):
        headers = _hold(services, request, slug, actor, _last(frames))
    return Response(body, media_type="text/event-stream", headers=headers)


async def websocket_events(
    services: Services,
    request: Request,
    slug: str,
    after: int | LiveblogError,
    authenticate: Authenticate,
) -> Response:
    """One POST of WebSocket-over-HTTP events for a reader's connection."""
    try:
        events = grip.parse_events(await request.body())
    except ValueError as exc:
        return _ws([grip.close(CLOSE_POLICY, str(exc)[:100])])
    out: list[grip.WsEvent] = []
    headers: dict[str, str] = {}
    for event in events:
        match event.type:
            case "OPEN":
                opened, extra = await _open(services, request, slug, after, authenticate)
                out += opened
                headers |= extra
            case "TEXT" | "BINARY":
                refusal = _inbound(services, request, event, headers)
                if refusal is not None:
                    out.append(refusal)
                    break
            case "PING":
                out.append(grip.WsEvent("PONG", event.content))
            case "CLOSE":
                out.append(grip.close(grip.close_code(event)))
                break
            case _:  # PONG, DISCONNECT: nothing to answer
                pass
    return _ws(out, headers)


def _ws(events: list[grip.WsEvent], headers: dict[str, str] | None = None) -> Response:
    return Response(
        grip.encode_events(events),
        media_type=grip.WS_CONTENT_TYPE,
        # No prefix: the live protocol's messages pass as they are (Pushpin's default
        # prefix, "m:", would make it drop them); control messages still start "c:".
        headers={"Sec-WebSocket-Extensions": 'grip; message-prefix=""', **(headers or {})},
    )


async def _open(
    services: Services, request: Request, slug: str, after: int | LiveblogError, authenticate: Authenticate
) -> tuple[list[grip.WsEvent], dict[str, str]]:
    opened = [grip.WsEvent("OPEN")]
    try:
        if isinstance(after, LiveblogError):
            raise after
        actor = await authenticate(request.headers.get("authorization"))
        await ensure_live_readable(services, slug, actor)
        frames = await _session(services, slug, after, actor)
    except LiveblogError as exc:
        return [*opened, grip.close(close_code_for(exc), exc.detail[:120])], {}
    for frame in frames:
        match frame:
            case Hello() | Event() | Reset() | Heartbeat():
                opened.append(grip.text(frame.text))
            case Close():
                opened.append(grip.close(frame.code, frame.reason))
                return opened, {}
            case _:
                assert_never(frame)
    version = _last(frames)
    for channel in _channels(slug, actor, version):
        opened.append(grip.subscribe(channel))
    opened.append(grip.keep_alive(messages.heartbeat(version)))
    _watch(services, actor)
    return opened, {f"Set-Meta-{INBOUND_META}": f"{int(time.time() // 60)}:0"}


def _inbound(
    services: Services, request: Request, event: grip.WsEvent, headers: dict[str, str]
) -> grip.WsEvent | None:
    """Count a reader's frame: a close once it sends too much (as the direct tier does)."""
    if len(event.content) > services.settings.live_inbound_bytes:
        return grip.close(CLOSE_TOO_BIG, "message too big")
    minute = int(time.time() // 60)
    raw = headers.get(f"Set-Meta-{INBOUND_META}") or request.headers.get(f"meta-{INBOUND_META}", "")
    seen_minute, _, count = raw.partition(":")
    sent = int(count) + 1 if seen_minute == str(minute) and count.isdigit() else 1
    headers[f"Set-Meta-{INBOUND_META}"] = f"{minute}:{sent}"
    if sent > services.settings.live_inbound_per_minute:
        return grip.close(CLOSE_POLICY, "readers may not send messages")
    return None
