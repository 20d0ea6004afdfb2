"""Where the server is and how to talk to it: what the sync and async clients share."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TypeVar
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

from liveblog_client.calls import Call, story_path
from liveblog_client.errors import error_for
from liveblog_client.retry import DEFAULT_RETRY, Attempts, RetryPolicy

T = TypeVar("T")
DEFAULT_URL = "http://127.0.0.1:8000"


def user_agent() -> str:
    try:
        return f"liveblog-client/{version('liveblog-client')}"
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "liveblog-client"


@dataclass(frozen=True)
class Connection:
    """The server's base ``url`` (``http(s)://host[:port][/prefix]``), the bearer ``token``
    (``None`` for a reader), the retry policy and the per-request ``timeout`` in seconds."""

    url: str = DEFAULT_URL
    token: str | None = field(default=None, repr=False)
    retry: RetryPolicy = DEFAULT_RETRY
    timeout: float = 30.0

    def auth_headers(self) -> dict[str, str]:
        """``Authorization`` with the bearer token; nothing for a reader."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def headers(self) -> dict[str, str]:
        """The headers of every HTTP request."""
        return {"User-Agent": user_agent(), "Accept": "application/json", **self.auth_headers()}

    def base_url(self) -> str:
        return self.url.rstrip("/")

    def timeouts(self) -> httpx.Timeout:
        """``timeout`` for each read and write; connecting gets at most 10 s."""
        return httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))

    def request(self, http: httpx.Client | httpx.AsyncClient, call: Call[T]) -> httpx.Request:
        """The request for ``call``, built once: its retries send it again unchanged."""
        headers = dict(call.headers)
        if call.files is not None:
            return http.build_request(call.method, call.path, files=call.files, headers=headers)
        if call.body is not None:
            headers["Content-Type"] = "application/json"
        return http.build_request(
            call.method, call.path, params=call.params or None, content=call.content(), headers=headers
        )

    def attempts(self, request: httpx.Request) -> Attempts:
        """The retry bookkeeping for one request."""
        return Attempts(self.retry, f"{request.method} {request.url}")

    def live_url(self, slug: str, after: int) -> str:
        """The WebSocket URL of the story's live delivery, resuming after version ``after``."""
        parts = urlsplit(self.url.rstrip("/"))
        scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
        path = parts.path + story_path(slug) + "/live"
        return urlunsplit((scheme, parts.netloc, path, urlencode({"after": after}), ""))


def final(response: httpx.Response) -> httpx.Response:
    """``response`` if it is a success; its typed error otherwise (its body must be read)."""
    if response.is_error:
        raise error_for(response)
    return response
