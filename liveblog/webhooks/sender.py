"""One signed HTTP delivery, to the address that was checked (SSRF guard).

For a URL that names a host, the name is resolved here, at delivery time, every address is
checked (:func:`liveblog.webhooks.policy.pick_address`), and the connection is made to the
chosen address itself, with the name in the ``Host`` header and as the TLS server name (SNI
and certificate check). A DNS answer that changes between the check and the connection
("rebinding") therefore changes nothing: nothing resolves the name again. Redirects are not
followed (a 3xx is a failure), proxies from the environment are not used (they would
connect elsewhere), and every attempt has a timeout.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import httpx
from standardwebhooks.webhooks import Webhook

from liveblog import __version__
from liveblog.errors import InvalidInput
from liveblog.webhooks import policy
from liveblog.webhooks.policy import IPAddress

Resolver = Callable[[str, int], Awaitable[list[IPAddress]]]
USER_AGENT = f"liveblog-webhooks/{__version__}"
MAX_ANSWER_BYTES = 1024


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one attempt."""

    ok: bool
    status: int | None  # the HTTP status, if a response came
    error: str | None  # why it failed, for people
    address: str | None  # where it connected (or would have)
    seconds: float


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        text = str(sockaddr[0]).split("%", 1)[0]  # an IPv6 zone is no part of the address
        found[ipaddress.ip_address(text)] = None
    return list(found)


def signed_headers(secret: str, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


class Sender:
    """Sends deliveries through one HTTP client (one per endpoint worker: connections are
    pooled by address, and one endpoint's name is the only one they serve)."""

    def __init__(self, *, timeout: float, allow_private: bool, resolver: Resolver = resolve) -> None:
        self.allow_private = allow_private
        self.resolver = resolver
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def send(self, url: str, secret: str, message_id: str, body: str, *, at: datetime) -> Outcome:
        """One attempt to deliver ``body`` to ``url``, signed with ``secret``; never raises
        for what the network or the receiver does (that is the outcome)."""
        started = time.monotonic()

        def failed(error: str, address: str | None = None, status: int | None = None) -> Outcome:
            return Outcome(False, status, error, address, time.monotonic() - started)

        try:
            target = policy.parse_url(url)
        except InvalidInput as exc:
            return failed(exc.detail)
        if target.literal is not None:
            addresses = [target.literal]
        else:
            try:
                addresses = await self.resolver(target.host, target.port)
            except (OSError, UnicodeError, ValueError) as exc:
                return failed(f"cannot resolve {target.host}: {exc}")
        chosen = policy.pick_address(addresses, allow_private=self.allow_private)
        if isinstance(chosen, str):
            return failed(f"{target.host}: {chosen}")
        extensions = (
            {"sni_hostname": target.host} if target.scheme == "https" and target.literal is None else {}
        )
        headers = {
            "host": target.host_header,
            "content-type": "application/json",
            **signed_headers(secret, message_id, at, body),
        }
        try:
            async with self.client.stream(
                "POST", target.url_for(chosen), content=body.encode(), headers=headers, extensions=extensions
            ) as response:
                # Only the start of the answer is kept (for the error message): a receiver
                # cannot make the server read a large body.
                head = b""
                async for chunk in response.aiter_raw():
                    head += chunk
                    if len(head) >= MAX_ANSWER_BYTES:
                        break
        except httpx.TimeoutException:
            return failed("timed out", str(chosen))
        except httpx.HTTPError as exc:
            return failed(f"{type(exc).__name__}: {exc}".rstrip(": "), str(chosen))
        status = response.status_code
        if policy.succeeded(status):
            return Outcome(True, status, None, str(chosen), time.monotonic() - started)
        return failed(policy.describe_status(status, head), str(chosen), status)
