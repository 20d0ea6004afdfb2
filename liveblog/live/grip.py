"""GRIP, the protocol between liveblog and a connection tier in front of it (Pushpin, or
Fastly Fanout, which speaks the same protocol): pure encoding and checking, no I/O.

With ``LIVEBLOG_LIVE_TIER=grip`` the proxy holds the readers' connections; liveblog answers
each new connection once, with what :class:`~liveblog.live.session.LiveSession` owes the
reader (its hello and backlog, or a reset), and tells the proxy to subscribe it to a
*channel*; it then publishes each event once to each proxy, which writes it to every
subscriber. The frames are the live protocol's own (:func:`~liveblog.live.session.sse`,
the hub's JSON text): the tier adds no format of its own.

Channels (one audience each; an event goes to every channel whose audience may see it):

* ``story:<slug>``: readers. Only events after the story's publication (docs/live-drafts.md):
  nothing of a draft period is ever published there.
* ``newsroom:<slug>``: readers with a newsroom token, who are served the whole log.
* ``token:<id>``: every connection opened with token ``id``; a close is published there when
  the token lapses (revoked, expired), which ends those connections.

Reliability ("every version exactly once, in order"): each event is published with GRIP
``id`` = its version and ``prev-id`` = the version before, and a held stream is subscribed
with ``prev-id`` = the last version it was sent, with a ``Grip-Link`` *next* link. When a
message's ``prev-id`` is not the stream's last id (a message was lost, or two arrived out
of order) the proxy drops it and fetches the next link instead, with ``Grip-Last:
<channel>; last-id=<version>``; the origin answers with the events after that version and
holds again. The proxy also fetches the next link every ``timeout`` seconds, which recovers
a lost *last* message and re-checks the reader's token. The next link carries everything the
origin needs (the proxy sends none of the reader's headers with it), MAC'd with the GRIP key
so a reader cannot forge a newsroom link.

Why not the ``gripcontrol``/``pubcontrol`` libraries: their publishing is synchronous
(``requests`` in threads) and pubcontrol has not been released since 2023; the protocol
needed here is small and documented, so it is this module (PyJWT checks the signature) and an
``httpx`` publisher.

WebSocket-over-HTTP (the proxy turns each WebSocket into short POSTs of ``OPEN``, ``TEXT``,
``CLOSE``... events): the proxy does not check ``prev-id`` on WebSockets, so order there rests
on each process publishing its events in commit order, and a publish the proxy never
acknowledged (given up after retries) is followed by a close (4008: resume with ``after``)
published to the story's channels. What that leaves open (a WebSocket that connects while
an event is being published; two processes publishing one story at once) is in
docs/deploy.md, "Known limits".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import jwt

PUBLIC = "story:"
NEWSROOM = "newsroom:"
TOKEN = "token:"
KEEP_ALIVE_SECONDS = 15
"""A held connection is sent a heartbeat after this long without a message (below
live.js's 45 s quiet limit)."""
WS_CONTENT_TYPE = "application/websocket-events"


def story_channel(slug: str, *, newsroom: bool) -> str:
    """The channel of ``slug``'s events for readers, or (``newsroom``) for the newsroom."""
    return (NEWSROOM if newsroom else PUBLIC) + slug


def token_channel(token_id: str) -> str:
    return TOKEN + token_id


def signed(header: str | None, key: str) -> bool:
    """Whether ``header`` (a ``Grip-Sig``) is a valid, unexpired HS256 JWT signed with ``key``."""
    if not header:
        return False
    try:
        with warnings.catch_warnings():
            # Pushpin's default key ("changeme") is short; docs/deploy.md says to set a long one.
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            jwt.decode(header.strip(), key, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return False
    return True


def signature(key: str, *, issuer: str = "pushpin", lifetime: int = 3600, now: float) -> str:
    """A ``Grip-Sig`` as the proxy makes it (for tests and tools)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode({"iss": issuer, "exp": int(now) + lifetime}, key, algorithm="HS256")


# ---------------------------------------------------------------------------- next links


def _link_mac(key: str, slug: str, token_id: str) -> str:
    message = f"liveblog-grip-link\n{slug}\n{token_id}".encode()
    digest = hmac.new(key.encode(), message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def next_link(path: str, key: str, slug: str, *, after: int, token_id: str | None) -> str:
    """The ``Grip-Link`` URL (relative to the origin) the proxy fetches to recover the stream
    of ``slug`` after ``after``; a newsroom stream's link names its token (``token_id``)."""
    query = f"after={after}&grip={_link_mac(key, slug, token_id or '')}"
    if token_id is not None:
        query += f"&token={quote(token_id, safe='')}"
    return f"{path}?{query}"


def link_valid(key: str, slug: str, mac: str, token_id: str | None) -> bool:
    return hmac.compare_digest(_link_mac(key, slug, token_id or ""), mac)


def last_id(headers: Iterable[str], channel: str) -> int | None:
    """The version a ``Grip-Last: <channel>; last-id=<version>`` header says the proxy has."""
    for header in headers:
        for part in header.split(","):
            name, _, params = part.strip().partition(";")
            if name.strip() != channel:
                continue
            for param in params.split(";"):
                field, _, value = param.strip().partition("=")
                if field == "last-id" and value.strip().isdigit() and len(value.strip()) <= 12:
                    return int(value.strip())
    return None


# ---------------------------------------------------------------------------- held streams


def stream_hold(
    channels: dict[str, int | None], *, link: str, link_every: int, keep_alive: str
) -> dict[str, str]:
    """The response headers that hold an HTTP stream open on ``channels`` (name: the
    ``prev-id`` its next message must follow, or ``None``), with its next link and a
    keep-alive (sent after :data:`KEEP_ALIVE_SECONDS` of quiet)."""
    return {
        "Grip-Hold": "stream",
        "Grip-Channel": ", ".join(
            name if prev is None else f"{name}; prev-id={prev}" for name, prev in channels.items()
        ),
        "Grip-Link": f"<{link}>; rel=next; timeout={link_every}",
        "Grip-Keep-Alive": (
            f"{base64.b64encode(keep_alive.encode()).decode()}; format=base64; timeout={KEEP_ALIVE_SECONDS}"
        ),
    }


# ---------------------------------------------------------------------------- WebSocket-over-HTTP


@dataclass(frozen=True, slots=True)
class WsEvent:
    """One WebSocket-over-HTTP event: ``OPEN``, ``TEXT``, ``BINARY``, ``PING``, ``PONG``,
    ``CLOSE``, ``DISCONNECT``; ``content`` is its payload (a close: the code, then the reason)."""

    type: str
    content: bytes = b""


WS_TYPES = frozenset({"OPEN", "TEXT", "BINARY", "PING", "PONG", "CLOSE", "DISCONNECT"})


def parse_events(body: bytes) -> list[WsEvent]:
    """The events of a request body; ``ValueError`` if it is not one."""
    events: list[WsEvent] = []
    at = 0
    while at < len(body):
        end = body.find(b"\r\n", at)
        if end < 0:
            raise ValueError("an event line without its CRLF")
        kind, _, size = body[at:end].decode("ascii", "replace").partition(" ")
        if kind not in WS_TYPES:
            raise ValueError(f"an event of unknown type {kind[:20]!r}")
        at = end + 2
        if not size:
            events.append(WsEvent(kind))
            continue
        try:
            length = int(size, 16)
        except ValueError:
            raise ValueError("an event length that is not hexadecimal") from None
        if length < 0 or at + length + 2 > len(body) or body[at + length : at + length + 2] != b"\r\n":
            raise ValueError("an event shorter than its length")
        events.append(WsEvent(kind, body[at : at + length]))
        at += length + 2
    return events


def encode_events(events: Iterable[WsEvent]) -> bytes:
    out = bytearray()
    for event in events:
        if event.content or event.type in ("TEXT", "BINARY"):
            out += f"{event.type} {len(event.content):x}\r\n".encode() + event.content + b"\r\n"
        else:
            out += f"{event.type}\r\n".encode()
    return bytes(out)


def text(message: str) -> WsEvent:
    return WsEvent("TEXT", message.encode())


def close(code: int, reason: str = "") -> WsEvent:
    return WsEvent("CLOSE", code.to_bytes(2, "big") + reason.encode()[:123])


def close_code(event: WsEvent) -> int:
    """The code of a client's ``CLOSE`` (1005, "none", if it sent none)."""
    return int.from_bytes(event.content[:2], "big") if len(event.content) >= 2 else 1005


def control(message: dict[str, Any]) -> WsEvent:
    """A GRIP control message (``c:`` + JSON), which the proxy acts on and never forwards."""
    return text("c:" + json.dumps(message, separators=(",", ":")))


def subscribe(channel: str) -> WsEvent:
    return control({"type": "subscribe", "channel": channel})


def keep_alive(message: str) -> WsEvent:
    return control({"type": "keep-alive", "content": message, "timeout": KEEP_ALIVE_SECONDS})


# ---------------------------------------------------------------------------- publishing


QUIET_SSE = ": quiet\n\n"
"""What readers' held streams get for a version only the newsroom is shown (a submission's
or a scheduled item's event): an SSE comment, which readers ignore, so that the proxy's id
chain still moves on by one."""


def event_item(channel: str, version: int, *, sse: str, ws: str | None) -> dict[str, Any]:
    """The publish item for the event that brought a story to ``version``, on ``channel``:
    the SSE frame for held streams, the JSON text for WebSockets (``None``: nothing for
    them), chained by version."""
    formats: dict[str, Any] = {"http-stream": {"content": sse}}
    if ws is not None:
        formats["ws-message"] = {"content": ws}
    return {"channel": channel, "id": str(version), "prev-id": str(version - 1), "formats": formats}


def close_item(channel: str, code: int, reason: str, *, streams: bool = True) -> dict[str, Any]:
    """The publish item that ends every connection on ``channel`` (WebSockets with
    ``code``/``reason``; held streams too unless ``streams`` is false)."""
    formats: dict[str, Any] = {"ws-message": {"action": "close", "code": code, "reason": reason}}
    if streams:
        formats["http-stream"] = {"action": "close"}
    return {"channel": channel, "formats": formats}
