"""Limits: request body size, per-token write rate, live connections per address.

The body is read up to the limit (whatever ``Content-Length`` claims), and a request that
goes over it is answered 413 without reaching the application. Write budgets and connection
counts are kept per process (with N workers, a client may get up to N times as much).
"""

from __future__ import annotations

import functools
import ipaddress
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from liveblog.api.problems import problem
from liveblog.errors import RateLimited


class BodySizeLimit:
    """Bodies up to ``max_bytes``; a path in ``per_path`` (without the root path) has its own."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, per_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        if root and path.startswith(root):
            path = path[len(root) :]
        limit = self.per_path.get(path, self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                return await receive()
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = problem(
            413,
            "Request body too large",
            f"request bodies are limited to {limit} bytes",
            "PayloadTooLarge",
        )
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _is_trusted(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def client_address(scope: Scope, trusted_proxies: Iterable[str]) -> str:
    """The address of the client behind a request or WebSocket ``scope``: the one function
    every per-address limit keys on.

    The connection's peer is the client, unless it is one of ``trusted_proxies``
    (``LIVEBLOG_TRUSTED_PROXIES``; none by default). Then ``X-Forwarded-For`` is read from
    the right, each trusted proxy having appended the address it received from: the first
    address that is not a trusted proxy is the client. Whatever a client writes further left
    is never believed, and a malformed entry stops the walk at the last trusted hop.
    """
    client = scope.get("client")
    peer = str(client[0]) if client else "unknown"
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _is_trusted(peer, networks):
        return peer
    forwarded = [
        hop.strip()
        for name, value in scope.get("headers", [])
        if name.lower() == b"x-forwarded-for"
        for hop in value.decode("latin-1").split(",")
    ]
    address = peer
    for hop in reversed(forwarded):
        try:
            hop = str(ipaddress.ip_address(hop))
        except ValueError:
            return address
        if not _is_trusted(hop, networks):
            return hop
        address = hop
    return address


class WriteRate:
    """Per-token write budgets (token buckets): ``per_minute`` on average, ``burst`` at once."""

    def __init__(self, *, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_minute / 60
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> None:
        """Spend one write of ``key``'s budget, or raise :class:`RateLimited` saying when to retry."""
        now = self.clock()
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        if tokens < 1:
            wait = math.ceil((1 - tokens) / self.per_second)
            self._buckets[key] = (tokens, now)
            raise RateLimited(
                f"this token may write {self.per_second * 60:g} times a minute", retry_after=wait
            )
        self._buckets[key] = (tokens - 1, now)


class ConnectionCount:
    """Open live connections per client address, capped."""

    def __init__(self, *, per_address: int) -> None:
        self.per_address = per_address
        self._open: dict[str, int] = {}

    def acquire(self, address: str) -> None:
        """Count one more connection from ``address``, or raise :class:`RateLimited` if it
        already holds its share."""
        if self._open.get(address, 0) >= self.per_address:
            raise RateLimited(f"at most {self.per_address} live connections per address", retry_after=10)
        self._open[address] = self._open.get(address, 0) + 1

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if not self._open[address]:
            del self._open[address]

    @contextmanager
    def hold(self, address: str) -> Iterator[None]:
        """One connection from ``address`` for as long as the block runs."""
        self.acquire(address)
        try:
            yield
        finally:
            self.release(address)
