"""The HTTP server's own limits: how long a client may take to send a request, how long an
idle connection is kept, how many connections are served at once, and the process's
descriptor limit.

uvicorn (with h11) has a keep-alive timeout and ``limit_concurrency``, but no timeout on
reading a request: a client that sends its head or its body one byte every few seconds, or
nothing at all, holds a connection (and a file descriptor) for as long as it likes.
:class:`TimedH11Protocol` adds them:

* the **header timeout** runs from the moment the connection is made, or the first byte of
  the next request arrives on a kept-alive one, until the request head is complete;
* the **body timeout** runs from then until the request body is complete (it is suspended
  while the server itself stopped reading, when the application is slower than the client);
* the **keep-alive timeout** (uvicorn's) closes a connection idle between requests.

When one of the first two runs out before anything was answered, the client gets a 408
problem document with ``Connection: close`` (a connection that sent nothing is just closed).
None of them concerns a response: a streamed response (Server-Sent Events) is never cut, and
a WebSocket connection leaves this protocol once upgraded.

Past ``max_connections`` HTTP connections, a new one is answered 503 (problem+json,
``Retry-After``, ``Connection: close``) as soon as its request head is read, without
reaching the application. Upgraded WebSocket connections are not counted here (they have
their own cap per address, see :mod:`liveblog.api.limits`).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import resource
from dataclasses import dataclass, field
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from liveblog.api.problems import PROBLEM_JSON, problem_type

log = logging.getLogger("liveblog.api")

RETRY_AFTER_SECONDS = 1


class OpenConnections:
    """How many HTTP connections the process serves now. uvicorn's own set of connections
    holds upgraded WebSockets too, so 1,000 live readers would turn every editor away."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Seconds and counts; see :mod:`liveblog.config` for the settings behind them."""

    header_timeout: float
    body_timeout: float
    keepalive_timeout: float
    max_connections: int
    open: OpenConnections = field(default_factory=OpenConnections, compare=False)
    """Shared by every connection of the process (each worker unpickles its own)."""


def _problem_bytes(status: int, reason: str, kind: str, detail: str, extra_headers: str = "") -> bytes:
    body = json.dumps(
        {"type": problem_type(kind), "title": reason, "status": status, "detail": detail}, ensure_ascii=False
    ).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        f"content-type: {PROBLEM_JSON}\r\n"
        f"content-length: {len(body)}\r\n"
        f"{extra_headers}"
        "connection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


@functools.lru_cache(maxsize=8)
def _over_capacity_app(limits: HttpLimits) -> Any:
    body = json.dumps(
        {
            "type": problem_type("ServiceUnavailable"),
            "title": "Service Unavailable",
            "status": 503,
            "detail": f"the server is at its limit of {limits.max_connections} connections; try again shortly",
        }
    ).encode()
    headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_SECONDS).encode()),
        (b"connection", b"close"),
    ]

    async def over_capacity(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return over_capacity


_last_warning = [float("-inf")]


def _warn_over_capacity(now: float, limit: int) -> None:
    """Log refusals at most once a minute: a flood of connections must not flood the log."""
    if now - _last_warning[0] >= 60:
        _last_warning[0] = now
        log.warning("at the limit of %d HTTP connections: refusing new ones with 503", limit)


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with header and body timeouts and a connection cap (see the
    module's documentation). Build it with ``functools.partial(TimedH11Protocol, limits=...)``
    as uvicorn's ``http``."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HttpLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.timeout_keep_alive = limits.keepalive_timeout  # type: ignore[assignment]
        self._reading_timer: asyncio.TimerHandle | None = None
        self._reading: str | None = None  # "head" or "body" while a timer runs for it
        self._received_any = False
        self._upgraded = False
        self._counted = False

    # Connection and data ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.limits.open.count += 1
        self._counted = True
        if self.limits.open.count > self.limits.max_connections:
            _warn_over_capacity(self.loop.time(), self.limits.max_connections)
            self.app = _over_capacity_app(self.limits)
        self._arm("head")

    def data_received(self, data: bytes) -> None:
        if data:
            self._received_any = True
            if self._reading is None and self.conn.their_state is h11.IDLE:
                self._arm("head")  # the first bytes of the next request on a kept-alive connection
        super().data_received(data)
        self._follow()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True
        self._disarm()
        self._uncount()  # a WebSocket has its own cap (per address), not this one
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._uncount()
        super().connection_lost(exc)

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self.limits.open.count -= 1

    # Timers ---------------------------------------------------------------------------

    def _follow(self) -> None:
        """Move the reading timer along with h11's view of the request."""
        if self._upgraded:
            self._disarm()
            return
        state = self.conn.their_state
        if state is h11.IDLE:
            return  # the head timer, if armed, keeps running; keep-alive is uvicorn's
        if state is h11.SEND_BODY:
            if self._reading != "body":
                self._arm("body")
            return
        self._disarm()  # DONE, MUST_CLOSE, CLOSED, ERROR: nothing more to read

    def _arm(self, what: str) -> None:
        self._disarm()
        seconds = self.limits.header_timeout if what == "head" else self.limits.body_timeout
        self._reading = what
        self._reading_timer = self.loop.call_later(seconds, self._expired, what)

    def _disarm(self) -> None:
        if self._reading_timer is not None:
            self._reading_timer.cancel()
        self._reading_timer = None
        self._reading = None

    def _expired(self, what: str) -> None:
        self._reading_timer = None
        self._reading = None
        if self.transport.is_closing() or self._upgraded:
            return
        if what == "body" and self.flow.read_paused:
            self._arm("body")  # the application, not the client, is behind: wait for it
            return
        seconds = self.limits.header_timeout if what == "head" else self.limits.body_timeout
        if what == "head":  # no application saw this request (any cycle is an earlier one)
            answer = self._received_any
        else:
            answer = not self.cycle.response_started
            if not self.cycle.response_complete:
                self.cycle.disconnected = True  # its application gets http.disconnect
        if answer:
            part = "request head" if what == "head" else "request body"
            self.transport.write(
                _problem_bytes(
                    408,
                    "Request Timeout",
                    "RequestTimeout",
                    f"the {part} was not received within {seconds:g} s",
                )
            )
        self.transport.close()


def raise_descriptor_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit where allowed; returns the
    (soft, hard) limits in force afterwards."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft, hard
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-files limit from %d to %d: %s", soft, target, exc)
    return resource.getrlimit(resource.RLIMIT_NOFILE)


# Descriptors kept back from the connection cap: database pool, WebSockets' headroom, logs.
RESERVED_DESCRIPTORS = 64


def effective_max_connections(configured: int, soft_limit: int) -> int:
    """``configured``, lowered if the process could not open that many descriptors."""
    if soft_limit == resource.RLIM_INFINITY:
        return configured
    usable = max(1, soft_limit - RESERVED_DESCRIPTORS)
    if usable < configured:
        log.warning(
            "serving at most %d HTTP connections, not %d: the open-files limit is %d",
            usable,
            configured,
            soft_limit,
        )
    return min(configured, usable)
