"""The rules of webhook delivery, without I/O: which URLs and addresses are acceptable,
how long to wait before the next attempt, when to pause, and what a delivery says.

The worker (:mod:`liveblog.webhooks.worker`) and the sender (:mod:`liveblog.webhooks.sender`)
are the shell around these functions.
"""

from __future__ import annotations

import ipaddress
import json
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from liveblog.errors import InvalidInput

MAX_URL_LENGTH = 2048
MAX_FILTER_ITEMS = 100
SCHEMES = ("https", "http")
TEST_TYPE = "WebhookTest"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Target:
    """A delivery URL taken apart: where to connect, and what to call it there."""

    scheme: str
    host: str  # a name, or an address without brackets
    port: int
    path: str  # path and query, at least "/"
    literal: IPAddress | None  # the host, when the URL names an address

    @property
    def host_header(self) -> str:
        """The ``Host`` header: the name (or bracketed address) and any non-default port."""
        host = f"[{self.host}]" if isinstance(self.literal, ipaddress.IPv6Address) else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"

    def url_for(self, address: IPAddress) -> str:
        """The URL that connects to ``address`` itself (the checked one) rather than the name."""
        host = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
        return f"{self.scheme}://{host}:{self.port}{self.path}"


def parse_url(url: str) -> Target:
    """Take a delivery URL apart, or raise :class:`InvalidInput` saying what is wrong.

    Accepted: ``https://`` or ``http://``, a host, an optional port, path and query, at most
    2,048 characters; refused: credentials in the URL (they would be sent to anyone who
    reads a log of it), a fragment, whitespace or control characters."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"the URL is longer than {MAX_URL_LENGTH} characters")
    if not url.isprintable() or any(character.isspace() for character in url):
        raise InvalidInput("the URL contains whitespace or control characters")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"the URL cannot be read: {exc}") from None
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidInput("the URL must start with https:// or http://")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidInput("the URL must not contain credentials (user:password@); sign with the secret")
    if parts.fragment or url.endswith("#"):
        raise InvalidInput("the URL must not have a fragment (#...)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidInput("the URL has no host")
    scheme = parts.scheme.lower()
    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
        if not _is_hostname(host):
            raise InvalidInput(f"{host!r} is not a valid host name") from None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(
        scheme=scheme,
        host=host.lower(),
        port=port if port is not None else (443 if scheme == "https" else 80),
        path=path,
        literal=literal,
    )


def _is_hostname(host: str) -> bool:
    labels = host.split(".")
    return len(host) <= 253 and all(
        0 < len(label) <= 63
        and label[0] != "-"
        and label[-1] != "-"
        and all(c.isascii() and (c.isalnum() or c in "-_") for c in label)
        for label in labels
    )


def address_refusal(address: IPAddress) -> str | None:
    """Why a delivery must not go to ``address`` (``None``: it may).

    Refused: anything not globally routable (loopback, private, link-local, unique local,
    shared, reserved, documentation, unspecified) and multicast, IPv4 and IPv6 alike, and an
    IPv6 address that embeds a refused IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, 6to4)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            # A connection to ::ffff:a.b.c.d goes to a.b.c.d: that address decides.
            inner = address_refusal(address.ipv4_mapped)
            return None if inner is None else f"{address} embeds {inner}"
        if address.sixtofour is not None:
            inner = address_refusal(address.sixtofour)
            if inner is not None:
                return f"{address} embeds {inner}"
    for flag, what in (
        ("is_unspecified", "unspecified"),
        ("is_loopback", "loopback"),
        ("is_link_local", "link-local"),
        ("is_multicast", "multicast"),
        ("is_private", "private"),
        ("is_reserved", "reserved"),
    ):
        if getattr(address, flag):
            return f"{address} is a {what} address"
    if not address.is_global:
        return f"{address} is not a globally routable address"
    return None


def validate_url(url: str, *, allow_private: bool) -> Target:
    """:func:`parse_url`, and at registration a literal address that delivery would refuse
    is refused at once (names are checked at each delivery, after resolving them)."""
    target = parse_url(url)
    if target.literal is not None and not allow_private:
        reason = address_refusal(target.literal)
        if reason is not None:
            raise InvalidInput(f"deliveries to {reason} are refused (LIVEBLOG_WEBHOOK_ALLOW_PRIVATE is off)")
    return target


def pick_address(addresses: list[IPAddress], *, allow_private: bool) -> IPAddress | str:
    """The first address of a resolved name that delivery may connect to, or why none may."""
    if not addresses:
        return "the name resolved to no address"
    if allow_private:
        return addresses[0]
    reasons = []
    for address in addresses:
        reason = address_refusal(address)
        if reason is None:
            return address
        reasons.append(reason)
    return "refused: " + "; ".join(dict.fromkeys(reasons)) + " (LIVEBLOG_WEBHOOK_ALLOW_PRIVATE is off)"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, and the pause after ``max_failures`` in a row."""

    base_seconds: float
    max_seconds: float
    max_failures: int

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (1, 2, ...): the
        exponential step ``base * 2**(failures-1)`` capped at ``max_seconds``, of which the
        second half is random ("equal jitter"), so that endpoints that failed together do
        not all retry at the same moment, and no wait is shorter than half its step."""
        exponent = min(max(failures - 1, 0), 60)
        step = min(self.max_seconds, self.base_seconds * float(2**exponent))
        draw: float = (rng or random).random()
        return step / 2 + draw * step / 2

    def pauses(self, failures: int) -> bool:
        """Whether ``failures`` consecutive failures pause the endpoint."""
        return failures >= self.max_failures


def succeeded(status: int) -> bool:
    """Any 2xx accepts a delivery; everything else (redirects too: they are not followed) fails."""
    return 200 <= status < 300


def message_id(story: str, version: int) -> str:
    """The Standard Webhooks ``webhook-id``: the same for every attempt of one event, so a
    receiver can drop a duplicate (deliveries are at least once)."""
    return f"msg_{story}_{version}"


def payload(item: dict[str, Any], cursor: str, timestamp: str) -> dict[str, Any]:
    """A delivery's body: the event's ``type``, ``story`` and ``version`` at the top, the
    change feed's item as ``event``, and the feed ``cursor`` just after it."""
    return {
        "type": item["type"],
        "timestamp": timestamp,
        "story": item["story"],
        "version": item["version"],
        "event": item,
        "cursor": cursor,
    }


def probe_payload(timestamp: str) -> dict[str, Any]:
    """The body of a test delivery (``liveblog webhooks test``): no event, no cursor."""
    return {
        "type": TEST_TYPE,
        "timestamp": timestamp,
        "story": None,
        "version": None,
        "event": None,
        "cursor": None,
    }


def encode(document: dict[str, Any]) -> str:
    """The JSON text that is signed and sent (UTF-8 on the wire)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def describe_status(status: int, body: bytes) -> str:
    """A one-line account of a refused delivery, for ``last_error`` and ``paused_reason``."""
    snippet = body[:200].decode("utf-8", "replace").replace("\n", " ").strip()
    reason = "a redirect (not followed)" if 300 <= status < 400 else "not a 2xx"
    return f"HTTP {status}, {reason}" + (f": {snippet}" if snippet else "")
