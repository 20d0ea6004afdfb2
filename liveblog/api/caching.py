"""How long caches may keep what does not change, except by a redaction (docs/redaction.md).

The past of a story (``?at_version=``, ``?as_of=``) and the complete pages of a revision
history are fixed once recorded, with one exception: a redaction rewrites them, and the
redacted text must not outlive it in any cache. So they are no longer ``immutable``:

- browsers, which nobody can purge, keep them at most :data:`BROWSER_MAX_AGE` seconds and
  then revalidate (``must-revalidate``);
- shared caches (CDNs) keep them at most :data:`SHARED_MAX_AGE` seconds, and are told the
  story's purge key (``Surrogate-Key`` for Fastly and Varnish ``xkey``, ``Cache-Tag`` for
  Cloudflare and others): after a redaction, purging that one key removes every cached past
  response of the story at once (docs/api.md "Caching and redaction");
- the ``ETag`` is a digest of the body, so a revalidation after a redaction gets the new
  body (200), never a 304 for the old one.

The present of a story (its JSON, its updates, the live page, the embed, the fragment,
the feeds, the permalinks) changes with every write, and the writer purges shared caches
after each commit (:mod:`liveblog.purge`): :func:`live_headers` lets a shared cache keep it
for a short ``s-maxage`` (``LIVEBLOG_CACHE_SHARED_MAX_AGE``), serve it a little stale while
it revalidates, and much staler when the origin fails (``stale-if-error``); browsers, which
no purge reaches, keep it only ``LIVEBLOG_CACHE_MAX_AGE`` seconds. Each such response names
its story (:func:`purge_key`), its update (:func:`update_key`) or, for what lists every
story, :data:`GLOBAL_KEY`.

Requests that carry a token (``Authorization``) get ``private, no-store``: staff see drafts,
and nothing of theirs may enter any cache. Every cacheable response has ``Vary:
Authorization``, and its strong ``ETag`` answers ``If-None-Match`` with 304.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from fastapi import Request
from starlette.responses import Response

from liveblog.api import http

BROWSER_MAX_AGE = 60
"""Seconds a browser may show a past response without asking again."""
SHARED_MAX_AGE = 3600
"""Seconds a shared cache may keep one; a purge of :func:`purge_key` ends it sooner."""


PRIVATE = "private, no-store"
"""The ``Cache-Control`` of every response to a request with a token."""
GLOBAL_KEY = "liveblog-global"
"""The surrogate key of what lists every story (``/api/v1/stories``, ``/feed.atom``,
``/feed.json``): purged with every change of any story."""


def purge_key(slug: str) -> str:
    """The surrogate key of every cacheable response about story ``slug`` (slugs are
    lowercase letters, digits and hyphens, so the key needs no escaping)."""
    return f"liveblog-story-{slug}"


def update_key(update_id: str) -> str:
    """The surrogate key of the responses about update ``update_id`` (ids are letters,
    digits, ``-`` and ``_``: no escaping either)."""
    return f"liveblog-update-{update_id}"


def is_public(request: Request) -> bool:
    """Whether the response to ``request`` may be kept by shared caches: it carries no token
    (a consumer's token reads as a reader, but what a token fetched stays private too)."""
    return "authorization" not in request.headers


def key_headers(keys: Iterable[str]) -> dict[str, str]:
    """``Surrogate-Key`` (Fastly, Varnish: space-separated) and ``Cache-Tag`` (Cloudflare:
    comma-separated) naming ``keys``."""
    chosen = list(dict.fromkeys(keys))
    return {"Surrogate-Key": " ".join(chosen), "Cache-Tag": ",".join(chosen)}


def past_headers(slug: str, *, public: bool, keys: Iterable[str] = ()) -> dict[str, str]:
    """``Cache-Control`` (and, for shared caches, the purge keys: the story's and
    ``keys``) of a response that changes only when a redaction rewrites it; ``public`` is
    false for token holders, whose responses no cache keeps."""
    if not public:
        return {"Cache-Control": PRIVATE}
    return {
        "Cache-Control": f"public, max-age={BROWSER_MAX_AGE}, s-maxage={SHARED_MAX_AGE}, must-revalidate",
        **key_headers([purge_key(slug), *keys]),
    }


@dataclass(frozen=True, slots=True)
class LivePolicy:
    """How long caches keep the present (seconds); from the ``LIVEBLOG_CACHE_*`` settings."""

    shared_max_age: int = 5
    max_age: int = 2
    stale_while_revalidate: int = 10
    stale_if_error: int = 86400

    def cache_control(self) -> str:
        return (
            f"public, max-age={self.max_age}, s-maxage={self.shared_max_age}, "
            f"stale-while-revalidate={self.stale_while_revalidate}, stale-if-error={self.stale_if_error}"
        )


def live_headers(policy: LivePolicy, keys: Iterable[str], *, public: bool) -> dict[str, str]:
    """The caching headers of a response about the present, naming ``keys``."""
    if not public:
        return {"Cache-Control": PRIVATE, "Vary": "Authorization"}
    return {"Cache-Control": policy.cache_control(), **key_headers(keys), "Vary": "Authorization"}


def live_response(
    request: Request,
    policy: LivePolicy,
    body: bytes,
    media_type: str,
    keys: Iterable[str],
    *,
    etag: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """``body`` with :func:`live_headers` and a strong ``ETag`` (``etag``, or a digest of
    the body), or 304 if ``If-None-Match`` names it. ``headers`` are added."""
    tag = etag or digest_etag("b", body)
    found = {"ETag": tag, **(headers or {}), **live_headers(policy, keys, public=is_public(request))}
    if http.not_modified(request, tag):
        return Response(status_code=304, headers=found)
    return Response(body, media_type=media_type, headers=found)


def digest_etag(prefix: str, body: bytes) -> str:
    """A strong entity tag for ``body``: ``"<prefix>.<32 hex digits of its SHA-256>"``."""
    return f'"{prefix}.{hashlib.sha256(body).hexdigest()[:32]}"'
