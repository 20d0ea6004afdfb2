"""``X-Content-Type-Options: nosniff`` on every HTTP response, whatever its type.

JSON, problem documents, event streams, static files, 304s and errors alike: a browser
must never guess another type than the one sent (a JSON body sniffed as HTML is a script
injection). Responses built before this middleware sees them (a 500 answered by Starlette's
outermost error handler) carry it from :func:`liveblog.api.problems.problem`.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = (b"x-content-type-options", b"nosniff")


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == HEADER[0] for name, _ in headers):
                    message["headers"] = [*headers, HEADER]
            await send(message)

        await self.app(scope, receive, send_with_nosniff)
