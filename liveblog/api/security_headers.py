"""Security headers: ``nosniff`` on every response, and which Content-Security-Policy each
HTML route gets.

``X-Content-Type-Options: nosniff`` goes on every HTTP response, whatever its type (JSON,
problem documents, event streams, static files, 304s, 413s): a browser must never guess
another type than the one sent (a JSON body sniffed as HTML is a script injection). A 500
answered by Starlette's outermost error handler leaves outside every middleware, so
:func:`liveblog.api.problems.problem` sets it on problem documents as well.

This is the one place where a Content-Security-Policy is chosen (:func:`policy_for`):

- the API reference (``/docs`` and everything under it) gets :data:`DOCS_POLICY`, the
  strictest policy Swagger UI runs under: scripts, styles and the OpenAPI document from this
  origin only, images from this origin or ``data:`` (Swagger's stylesheet draws its icons
  as ``data:`` URLs), no forms, no frames, no other origin at all;
- every other HTML response (the reader pages) gets :data:`PAGE_POLICY`, which also admits
  ``https:`` images (media that editors link to);
- the embed (``/stories/{slug}/embed``, the one page meant to be framed by other sites) gets
  :data:`PAGE_POLICY` with ``frame-ancestors`` from ``LIVEBLOG_EMBED_FRAME_ANCESTORS``
  (``*`` unless configured); every other page keeps ``frame-ancestors 'none'``;
- the pages that can load a social embed's frame when the reader asks (the live page and its
  older pages, the embed, an update's permalink: :data:`EMBEDDING_PAGE`) add ``frame-src``
  with exactly the providers' frame origins (:func:`liveblog.domain.social.frame_origins`,
  with the instances of ``LIVEBLOG_MASTODON_INSTANCES``); every other page may frame nothing
  (``default-src 'none'``).

Neither allows an inline script or style. ``Referrer-Policy`` is the same on every page.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DOCS_PREFIX = "/docs"
EMBED_PATH = re.compile(r"^/stories/[^/]+/embed$")
EMBEDDING_PAGE = re.compile(r"^/stories/[^/]+(?:/embed|/updates/[^/]+)?$")
NOSNIFF = (b"x-content-type-options", b"nosniff")


def policy_for(path: str, *, embed_frame_ancestors: str = "*", frame_origins: Sequence[str] = ()) -> str:
    """The Content-Security-Policy of an HTML response to ``path`` (without the root path);
    ``embed_frame_ancestors`` (checked by :func:`liveblog.config.check_frame_ancestors`) is
    who may frame the embed; ``frame_origins`` the social embeds' frames a page may load."""
    if path == DOCS_PREFIX or path.startswith(DOCS_PREFIX + "/"):
        return DOCS_POLICY
    policy = PAGE_POLICY
    if frame_origins and EMBEDDING_PAGE.match(path):
        policy = policy.replace("; base-uri", f"; frame-src {' '.join(frame_origins)}; base-uri")
    if EMBED_PATH.match(path):
        return policy.replace("frame-ancestors 'none'", f"frame-ancestors {embed_frame_ancestors}")
    return policy


def headers_for(
    path: str, *, embed_frame_ancestors: str = "*", frame_origins: Sequence[str] = ()
) -> dict[str, str]:
    """The security headers an HTML response to ``path`` carries besides ``nosniff``."""
    return {
        "Content-Security-Policy": policy_for(
            path, embed_frame_ancestors=embed_frame_ancestors, frame_origins=frame_origins
        ),
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }


class SecurityHeaders:
    """Adds ``nosniff`` to every HTTP response that lacks it, and :func:`headers_for` the
    request's path to every HTML response."""

    def __init__(
        self, app: ASGIApp, *, embed_frame_ancestors: str = "*", frame_origins: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.embed_frame_ancestors = embed_frame_ancestors
        self.frame_origins = tuple(frame_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        root = scope.get("root_path", "")
        path: str = scope["path"]
        if root and path.startswith(root):
            path = path[len(root) :]
        extra = [
            (name.lower().encode(), value.encode())
            for name, value in headers_for(
                path, embed_frame_ancestors=self.embed_frame_ancestors, frame_origins=self.frame_origins
            ).items()
        ]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower(): value for name, value in headers}
                if names.get(b"content-type", b"").startswith(b"text/html"):
                    headers += extra
                if NOSNIFF[0] not in names:
                    headers.append(NOSNIFF)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
