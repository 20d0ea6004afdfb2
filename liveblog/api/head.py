"""``HEAD`` on every GET route: the GET response's status and headers, without its body.

Crawlers, link checkers and CDNs send HEAD. FastAPI's routes answer only the methods they
name (a HEAD got 405), so HEAD is served here, for every route at once, as the GET it
stands for: the application sees a GET, its response start (status, ``Content-Length``,
``ETag``, ``Cache-Control``…) is passed on, and the body is replaced by an empty one. A
streaming response (Server-Sent Events, the NDJSON export) is stopped as soon as its
headers are out, so a HEAD never holds a live connection.
"""

from __future__ import annotations

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGet:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        # A copy: the server's own scope (and so its access log) still says HEAD.
        as_get = {**scope, "method": "GET"}
        finished = False

        with anyio.CancelScope() as response_sent:

            async def headers_only(message: Message) -> None:
                nonlocal finished
                if finished:
                    return
                if message["type"] != "http.response.start":  # a body, a pathsend, …
                    finished = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                    response_sent.cancel()  # nothing more of the response is wanted
                    return
                await send(message)

            await self.app(as_get, receive, headers_only)
