"""Markdown to safe HTML: markdown-it-py renders, Ammonia (nh3) sanitises.

Raw HTML in the Markdown is not interpreted (it comes out as text), and whatever the
renderer produces is then cleaned against an allow-list, so neither a renderer bug nor a
crafted link can put script on a reader's page.

A Markdown image (``![alt](url)``) is rendered only when its URL is liveblog's own media
(``/media/{id}/{width}.{ext}``, :data:`~liveblog.domain.values.MEDIA_URL_PATTERN`), as
``<img src alt loading="lazy">``; new updates with any other image are refused (422, see
:func:`image_urls` and :mod:`liveblog.media.references`), and one recorded before that rule
renders without it, as it always did.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from liveblog.domain.values import MEDIA_URL_PATTERN

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)
OWN_MEDIA_URL = re.compile(MEDIA_URL_PATTERN)


def _image(renderer: Any, tokens: Sequence[Token], index: int, options: Any, env: Any) -> str:
    token = tokens[index]
    src = token.attrGet("src")
    if not isinstance(src, str) or not OWN_MEDIA_URL.match(src):
        return ""
    alt = renderer.renderInlineAsText(token.children or [], options, env)
    return f'<img src="{escapeHtml(src)}" alt="{escapeHtml(alt)}" loading="lazy">'


_markdown.add_render_rule("image", _image)

_ALLOWED_TAGS = {
    "a",
    "blockquote",
    "br",
    "code",
    "del",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "strong",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "ul",
}
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "loading"},
    "td": {"align"},
    "th": {"align"},
}


def _attribute(tag: str, attribute: str, value: str) -> str | None:
    # Behind the renderer's own rule: an <img> keeps only a src that is liveblog's media.
    if tag == "img" and attribute == "src" and not OWN_MEDIA_URL.match(value):
        return None
    return value


@lru_cache(maxsize=4096)
def markdown_to_html(markdown: str) -> str:
    """Sanitised HTML for ``markdown``. Deterministic: the same text gives the same bytes."""
    return nh3.clean(
        _markdown.render(markdown),
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


def image_urls(markdown: str) -> list[str]:
    """The URL of every image in ``markdown`` (inline or by reference), as the renderer
    sees them, in order."""
    found: list[str] = []
    pending = list(_markdown.parse(markdown))
    while pending:
        token = pending.pop(0)
        if token.type == "image":
            src = token.attrGet("src")
            found.append(src if isinstance(src, str) else "")
        if token.children:
            pending[:0] = token.children
    return found
