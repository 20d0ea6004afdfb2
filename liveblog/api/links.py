"""Absolute URLs for what leaves this server's pages: feeds, oEmbed, fragments, WebSub pings.

A page may link with paths (``/stories/…``): the browser resolves them against the page.
A feed entry, an oEmbed document or a fragment included in another site's HTML has no such
base, so their links are made absolute against :func:`public_base`: the configured
``LIVEBLOG_PUBLIC_URL``, else the origin the request reached (its ``Host``, and the scheme
that ``LIVEBLOG_TRUSTED_PROXIES`` vouch for).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from fastapi import Request

from liveblog.config import Settings

# A start tag's href or src attribute holding a path ("/…", not "//host"). The HTML here is
# the server's: templates (autoescaped) and nh3's sanitised body, whose serialiser escapes a
# `"` inside an attribute value and `<` in text, so this matches attributes of start tags only.
_ROOTED = re.compile(r'(<[a-zA-Z][^<>]*?\s(?:href|src)=")/(?!/)')
_SRCSET = re.compile(r'(<img\s[^<>]*?\ssrcset=")([^"]*)"')
_SRCSET_ROOTED = re.compile(r"(^|,\s*)/(?!/)")


def public_base(request: Request, settings: Settings) -> str:
    """The origin (and path prefix) absolute URLs start with, without a trailing ``/``."""
    if settings.public_url is not None:
        return settings.public_url
    return str(request.base_url).rstrip("/")


def absolute_links(html: str, base: str) -> str:
    """``html`` with every ``href="/…"`` and ``src="/…"`` of a start tag, and every rooted URL
    of an image's ``srcset``, made absolute against ``base`` (other links, absolute or
    fragment-only, are left as they are)."""
    html = _SRCSET.sub(
        lambda match: (
            match.group(1) + _SRCSET_ROOTED.sub(lambda m: f"{m.group(1)}{base}/", match.group(2)) + '"'
        ),
        html,
    )
    previous = None
    # An element with both an href and a src (none today) needs a second pass.
    while previous != html:
        previous = html
        html = _ROOTED.sub(lambda match: f"{match.group(1)}{base}/", html)
    return html


def oembed_discovery(base: str, slug: str) -> str:
    """The oEmbed endpoint's URL for story ``slug``'s page (the live page's discovery link)."""
    return f"{base}/oembed?" + urlencode({"url": f"{base}/stories/{slug}", "format": "json"})
