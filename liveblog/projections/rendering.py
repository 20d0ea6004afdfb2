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

import html
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.token import Token

from liveblog.domain.values import MEDIA_URL_PATTERN
from liveblog.projections.diffs import word_diff

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


# --------------------------------------------------------------- diffs, rendered

_DELETE_OPEN, _DELETE_CLOSE, _INSERT_OPEN, _INSERT_CLOSE = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKERS = {_DELETE_OPEN: "del", _DELETE_CLOSE: None, _INSERT_OPEN: "ins", _INSERT_CLOSE: None}
_NO_MARKERS = str.maketrans(dict.fromkeys(_MARKERS))
_MARKER_SPLIT = re.compile(f"([{''.join(_MARKERS)}])")


def markdown_diff_to_html(segments: Sequence[Mapping[str, str]]) -> str:
    """Sanitised HTML for a word diff of two Markdown texts (``diffs.word_diff``'s
    segments): the text rendered as the reader sees it (never a raw ``**``), the deleted
    words in ``<del>``, the inserted ones in ``<ins>``.

    The segments are joined into one Markdown text with private-use characters marking
    where each change starts and ends (a change is marked line by line, so no mark spans a
    block), rendered by :func:`markdown_to_html`, and each run of text between the marks is
    then wrapped in its own ``<del>``/``<ins>`` (so no tag is left open across another),
    and the result is sanitised once more. Where a change lies inside Markdown's syntax (a
    link's URL), the marks cannot all land in text: then it is the word diff of the two
    texts' rendered words, without their formatting."""
    marked: list[str] = []
    for segment in segments:
        text = segment["text"].translate(_NO_MARKERS)
        opening, closing = {
            "delete": (_DELETE_OPEN, _DELETE_CLOSE),
            "insert": (_INSERT_OPEN, _INSERT_CLOSE),
        }.get(segment["op"], ("", ""))
        marked.append("\n".join(f"{opening}{line}{closing}" if line else line for line in text.split("\n")))
    source = "".join(marked)
    rendered = markdown_to_html(source)
    writer = _DiffWriter()
    writer.feed(rendered)
    writer.close()
    if writer.marks != sum(source.count(mark) for mark in _MARKERS) or "%EE%80%8" in rendered.upper():
        # A change inside Markdown's own syntax (a link's URL, say): the marks did not all
        # land in text. The diff of the two texts as rendered says what changed instead.
        return _plain_diff(segments)
    return nh3.clean(
        "".join(writer.out),
        tags=_ALLOWED_TAGS | {"ins"},
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )


_BLOCK_TAG = re.compile(r"</?(?:p|li|h[1-6]|blockquote|pre|tr|td|th|br|hr|ul|ol|table|thead|tbody)\b[^>]*>")
_ANY_TAG = re.compile(r"<[^>]*>")


def _plain_diff(segments: Sequence[Mapping[str, str]]) -> str:
    def words(op: str) -> str:
        text = "".join(s["text"] for s in segments if s["op"] in ("equal", op))
        blocks_apart = _BLOCK_TAG.sub(" ", markdown_to_html(text.translate(_NO_MARKERS)))
        return html.unescape(_ANY_TAG.sub("", blocks_apart))

    parts = []
    for segment in word_diff(" ".join(words("delete").split()), " ".join(words("insert").split())):
        text = html.escape(segment["text"], quote=False)
        tag = {"delete": "del", "insert": "ins"}.get(segment["op"])
        parts.append(f"<{tag}>{text}</{tag}>" if tag else text)
    return "<p>" + "".join(parts) + "</p>"


class _DiffWriter(HTMLParser):
    """Writes sanitised HTML back out, each run of marked text in its own ``<del>``/``<ins>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.mode: str | None = None
        self.marks = 0

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], end: str) -> str:
        written = "".join(
            f' {name}="{html.escape((value or "").translate(_NO_MARKERS))}"' for name, value in attrs
        )
        return f"<{tag}{written}{end}>"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, ""))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, ""))

    def handle_endtag(self, tag: str) -> None:
        self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        for piece in _MARKER_SPLIT.split(data):
            if piece in _MARKERS:
                self.mode = _MARKERS[piece]
                self.marks += 1
            elif piece:
                text = html.escape(piece, quote=False)
                self.out.append(f"<{self.mode}>{text}</{self.mode}>" if self.mode else text)
