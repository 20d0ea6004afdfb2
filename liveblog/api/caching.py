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

Token holders' responses are ``private``: no shared cache keeps them.
"""

from __future__ import annotations

import hashlib

BROWSER_MAX_AGE = 60
"""Seconds a browser may show a past response without asking again."""
SHARED_MAX_AGE = 3600
"""Seconds a shared cache may keep one; a purge of :func:`purge_key` ends it sooner."""


def purge_key(slug: str) -> str:
    """The surrogate key of every cacheable response about story ``slug`` (slugs are
    lowercase letters, digits and hyphens, so the key needs no escaping)."""
    return f"liveblog-story-{slug}"


def past_headers(slug: str, *, public: bool) -> dict[str, str]:
    """``Cache-Control`` (and, for shared caches, the purge key) of a response that changes
    only when a redaction rewrites it; ``public`` is false for token holders."""
    if not public:
        return {"Cache-Control": f"private, max-age={BROWSER_MAX_AGE}, must-revalidate"}
    key = purge_key(slug)
    return {
        "Cache-Control": f"public, max-age={BROWSER_MAX_AGE}, s-maxage={SHARED_MAX_AGE}, must-revalidate",
        "Surrogate-Key": key,
        "Cache-Tag": key,
    }


def digest_etag(prefix: str, body: bytes) -> str:
    """A strong entity tag for ``body``: ``"<prefix>.<32 hex digits of its SHA-256>"``."""
    return f'"{prefix}.{hashlib.sha256(body).hexdigest()[:32]}"'
