"""Cross-origin access: anyone may read, only this origin (or configured ones) may write.

Reads (GET, HEAD) answer every origin with ``Access-Control-Allow-Origin: *`` and expose
the headers a reader's script needs. A preflight for a write from another origin gets no
CORS headers unless that origin is in ``LIVEBLOG_CORS_WRITE_ORIGINS``, so browsers refuse to
send it. (Starlette's CORSMiddleware applies one policy to every method; this one differs
by method, which is the whole point here.)
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

READ_METHODS = {"GET", "HEAD"}
WRITE_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match, If-None-Match"
EXPOSED = "ETag, Location, Retry-After, Link"


class CrossOrigin:
    def __init__(self, app: ASGIApp, *, write_origins: list[str]) -> None:
        self.app = app
        self.write_origins = set(write_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if origin is None:
            await self.app(scope, receive, send)
            return
        requested = headers.get("access-control-request-method")
        if scope["method"] == "OPTIONS" and requested is not None:
            await self._preflight(origin, requested.upper())(scope, receive, send)
            return
        allowed = self._allowed(origin, scope["method"])

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed is not None:
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", allowed.encode()),
                    (b"access-control-expose-headers", EXPOSED.encode()),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _allowed(self, origin: str, method: str) -> str | None:
        """The ``Access-Control-Allow-Origin`` value for ``method`` from ``origin``, if any."""
        if origin in self.write_origins:
            return origin
        return "*" if method in READ_METHODS else None

    def _preflight(self, origin: str, method: str) -> Response:
        allowed = self._allowed(origin, method)
        if allowed is None:
            return Response(status_code=403, headers={"Vary": "Origin"})
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Origin": allowed,
                "Access-Control-Allow-Methods": "GET, HEAD"
                if allowed == "*"
                else "GET, HEAD, POST, PUT, PATCH",
                "Access-Control-Allow-Headers": WRITE_HEADERS
                if allowed != "*"
                else "If-None-Match, Last-Event-ID",
                "Access-Control-Max-Age": "600",
                "Vary": "Origin",
            },
        )
