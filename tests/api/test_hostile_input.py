"""Hostile and malformed input: every refusal is a precise problem+json and the log is untouched."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx

from liveblog.projections.rendering import image_urls
from liveblog.store.database import Database
from tests.api.fixtures_extra import API, assert_problem_of, assert_validation, elements
from tests.api.helpers import assert_problem, event_count, open_story, post_update

STORY = f"{API}/stories/border-raid"
UPDATES = f"{STORY}/updates"
LIMIT = 1024 * 1024  # Settings.max_body_bytes
JSON_HEADERS = {"Content-Type": "application/json"}


async def send_raw(
    client: httpx.AsyncClient, url: str, content: bytes, headers: dict[str, str], method: str = "POST"
) -> httpx.Response:
    return await client.request(method, url, content=content, headers={**JSON_HEADERS, **headers})


# ------------------------------------------------------------------------------------ JSON syntax


MALFORMED = [
    b'{"body": ',
    b'{"body": "unterminated}',
    b"{'body': 'single quotes'}",
    b'{"body": "x",}',
    b'{"body": "x"} trailing',
    b"{body: 1}",
    b"nul",
]


async def test_malformed_json_is_400(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    targets = [
        ("POST", f"{API}/stories"),
        ("POST", UPDATES),
        ("PATCH", STORY),
        ("POST", f"{UPDATES}/{update['id']}/corrections"),
        ("PUT", f"{UPDATES}/{update['id']}/flags"),
    ]
    for method, url in targets:
        for content in MALFORMED:
            response = await send_raw(client, url, content, editor, method)
            assert response.status_code == 400, (method, url, content, response.text)
            problem = assert_problem_of(response, 400, "malformed-json")
            assert problem["title"] == "Malformed JSON"
    assert await event_count(database) == before


async def test_json_that_is_not_utf8_is_malformed(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """JSON is UTF-8 (docs/api.md Conventions); bytes that are not UTF-8 are malformed JSON."""
    await open_story(client, editor)
    before = await event_count(database)
    for content in (b'{"body": "caf\xe9"}', b'{"body": "\xff\xfe"}'):
        response = await send_raw(client, UPDATES, content, editor)
        assert response.status_code == 400, (content, response.text)
        assert_problem_of(response, 400, "malformed-json")
    assert await event_count(database) == before


async def test_deeply_nested_json_is_refused_not_a_crash(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    depth = 200_000
    for content in (b"[" * depth + b"]" * depth, b'{"body": ' + b"[" * depth + b"]" * depth + b"}"):
        response = await send_raw(client, UPDATES, content, editor)
        # Unparseable for the server: a client error in problem+json, whatever its type; never a 5xx.
        assert response.status_code in (400, 422), response.text[:200]
        assert_problem(response, response.status_code)
    assert await event_count(database) == before


# ------------------------------------------------------------------------------------ shape


async def test_wrong_types_are_422_naming_the_field(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    cases: list[tuple[str, str, Any, tuple[str, ...]]] = [
        ("POST", f"{API}/stories", {"title": 42}, ("body", "title")),
        ("POST", f"{API}/stories", {"title": ["a"]}, ("body", "title")),
        ("POST", f"{API}/stories", {"title": "ok", "publish": "maybe"}, ("body", "publish")),
        ("POST", f"{API}/stories", {"title": "ok", "publish": [True]}, ("body", "publish")),
        ("POST", f"{API}/stories", {"title": "ok", "language": 7}, ("body", "language")),
        ("POST", f"{API}/stories", {"title": "ok", "summary": {"a": 1}}, ("body", "summary")),
        ("POST", UPDATES, {"body": 123}, ("body", "body")),
        ("POST", UPDATES, {"body": None}, ("body", "body")),
        ("POST", UPDATES, {"body": ["text"]}, ("body", "body")),
        ("POST", UPDATES, {"body": {"text": "x"}}, ("body", "body")),
        ("POST", UPDATES, {"body": "ok", "sources": "Ministry"}, ("body", "sources")),
        ("POST", UPDATES, {"body": "ok", "sources": [{"name": 5}]}, ("body", "sources")),
        ("POST", UPDATES, {"body": "ok", "sources": [{"url": "https://a.example"}]}, ("body", "sources")),
        ("POST", UPDATES, {"body": "ok", "key_event": "maybe"}, ("body", "key_event")),
        ("POST", UPDATES, {"body": "ok", "pinned": {}}, ("body", "pinned")),
        ("POST", UPDATES, {"body": "ok", "occurred_at": "yesterday"}, ("body", "occurred_at")),
        ("POST", UPDATES, {"body": "ok", "occurred_at": "2025-03-14T08:30:00"}, ("body", "occurred_at")),
        ("POST", UPDATES, {"body": "ok", "verification": {"status": "probably"}}, ("body", "verification")),
        ("POST", UPDATES, {"body": "ok", "verification": "confirmed"}, ("body", "verification")),
        (
            "POST",
            UPDATES,
            {"body": "ok", "media": [{"kind": "gif", "url": "https://a.example/x.gif"}]},
            ("body", "media"),
        ),
        ("POST", UPDATES, {"body": "ok", "media": [{"kind": "image"}]}, ("body", "media")),
        ("POST", UPDATES, {"body": "ok", "byline": 3}, ("body", "byline")),
        ("PATCH", STORY, {"title": False}, ("body", "title")),
        (
            "POST",
            f"{UPDATES}/{update['id']}/corrections",
            {"changes": "body", "kind": "minor", "reason": "r"},
            ("body", "changes"),
        ),
        (
            "POST",
            f"{UPDATES}/{update['id']}/corrections",
            {"changes": {"body": "x"}, "kind": "typo", "reason": "r"},
            ("body", "kind"),
        ),
        ("PUT", f"{UPDATES}/{update['id']}/flags", {"pinned": "perhaps"}, ("body", "pinned")),
        ("PUT", f"{UPDATES}/{update['id']}/verification", {"status": 1}, ("body", "status")),
    ]
    for method, url, body, loc in cases:
        response = await client.request(method, url, json=body, headers=editor)
        assert response.status_code == 422, (body, response.text)
        assert_validation(response, loc)
    # A top-level document that is not an object.
    for body in ([], ["body"], "body", 5, True):
        response = await client.post(UPDATES, json=body, headers=editor)
        assert response.status_code == 422, (body, response.text)
        assert_validation(response, ("body",))
    assert await event_count(database) == before
    assert (await client.get(UPDATES)).json()["items"] == [update]


async def test_unknown_fields_are_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    cases: list[tuple[str, str, dict[str, Any], tuple[str, ...]]] = [
        ("POST", f"{API}/stories", {"title": "ok", "publsh": True}, ("body", "publsh")),
        ("POST", f"{API}/stories", {"title": "ok", "status": "live"}, ("body", "status")),
        ("POST", UPDATES, {"body": "ok", "author": "Someone Else"}, ("body", "author")),
        ("POST", UPDATES, {"body": "ok", "id": "chosen-id"}, ("body", "id")),
        ("POST", UPDATES, {"body": "ok", "sources": [{"name": "A", "note": "x"}]}, ("body", "sources")),
        (
            "POST",
            UPDATES,
            {"body": "ok", "verification": {"status": "confirmed", "by": "me"}},
            ("body", "verification"),
        ),
        ("PATCH", STORY, {"headline": "x"}, ("body", "headline")),
        (
            "POST",
            f"{UPDATES}/{update['id']}/corrections",
            {"changes": {"headline": "x"}, "kind": "minor", "reason": "r"},
            ("body", "changes"),
        ),
        ("PUT", f"{UPDATES}/{update['id']}/flags", {"sticky": True}, ("body", "sticky")),
        (
            "PUT",
            f"{UPDATES}/{update['id']}/verification",
            {"status": "confirmed", "source": "x"},
            ("body", "source"),
        ),
        (
            "POST",
            f"{UPDATES}/{update['id']}/retraction",
            {"reason": "r", "note": "n", "silent": True},
            ("body", "silent"),
        ),
    ]
    for method, url, body, loc in cases:
        response = await client.request(method, url, json=body, headers=editor)
        assert response.status_code == 422, (body, response.text)
        errors = assert_validation(response, loc)
        assert any(error["type"] == "extra_forbidden" for error in errors), errors
    assert await event_count(database) == before
    assert (await client.get(f"{API}/stories", headers=editor)).json()["items"][0]["slug"] == "border-raid"


async def test_an_empty_body_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    for method, url in (
        ("POST", f"{API}/stories"),
        ("POST", UPDATES),
        ("PATCH", STORY),
        ("POST", f"{UPDATES}/{update['id']}/corrections"),
        ("PUT", f"{UPDATES}/{update['id']}/flags"),
        ("PUT", f"{UPDATES}/{update['id']}/verification"),
        ("POST", f"{UPDATES}/{update['id']}/retraction"),
    ):
        for content in (b"", b"null"):
            response = await send_raw(client, url, content, editor, method)
            assert response.status_code == 422, (method, url, content, response.text)
            assert_validation(response, ("body",))
    for url, loc in ((f"{API}/stories", ("body", "title")), (UPDATES, ("body", "body"))):
        response = await client.post(url, json={}, headers=editor)
        assert_validation(response, loc)
        assert any(error["type"] == "missing" for error in response.json()["errors"])
    assert await event_count(database) == before


async def test_update_body_of_20000_characters_is_accepted_and_20001_refused(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    too_long = await client.post(UPDATES, json={"body": "x" * 20_001}, headers=editor)
    assert_validation(too_long, ("body", "body"))
    assert await event_count(database) == before
    exact = await client.post(UPDATES, json={"body": "x" * 20_000}, headers=editor)
    assert exact.status_code == 201, exact.text
    assert len(exact.json()["body"]) == 20_000
    assert await event_count(database) == before + 1
    # Characters, not bytes: 20,000 two-byte characters are fine.
    wide = await client.post(UPDATES, json={"body": "é" * 20_000}, headers=editor)
    assert wide.status_code == 201, wide.text
    assert (await client.get(f"{UPDATES}/{wide.json()['id']}")).json()["body"] == "é" * 20_000
    wide_too_long = await client.post(UPDATES, json={"body": "é" * 20_001}, headers=editor)
    assert_validation(wide_too_long, ("body", "body"))
    # The same limit holds for a correction's new body.
    correction = await client.post(
        f"{UPDATES}/{exact.json()['id']}/corrections",
        json={"changes": {"body": "y" * 20_001}, "kind": "minor", "reason": "r"},
        headers=editor,
    )
    assert_validation(correction, ("body", "changes", "body"))
    assert await event_count(database) == before + 2


async def test_a_whitespace_only_body_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    for blank in (" ", "   \n\t  \r\n", "\u00a0\u2003\u3000", ""):
        response = await client.post(UPDATES, json={"body": blank}, headers=editor)
        assert response.status_code == 422, (blank, response.text)
        assert_validation(response, ("body", "body"))
        correction = await client.post(
            f"{UPDATES}/{update['id']}/corrections",
            json={"changes": {"body": blank}, "kind": "minor", "reason": "r"},
            headers=editor,
        )
        assert correction.status_code == 422, (blank, correction.text)
        assert_validation(correction, ("body", "changes", "body"))
    for blank_title in ("", "   "):
        story = await client.post(
            f"{API}/stories", json={"title": blank_title, "slug": "blank"}, headers=editor
        )
        assert_validation(story, ("body", "title"))
    assert await event_count(database) == before


async def test_text_fields_over_their_limits_are_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    before = await event_count(database)
    stories: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"title": "t" * 301}, ("body", "title")),
        ({"title": "ok", "summary": "s" * 2_001}, ("body", "summary")),
        ({"title": "ok", "language": "english"}, ("body", "language")),
        ({"title": "ok", "language": "EN"}, ("body", "language")),
    ]
    for body, loc in stories:
        response = await client.post(f"{API}/stories", json=body, headers=editor)
        assert_validation(response, loc)
    assert await event_count(database) == before
    await open_story(client, editor)
    before = await event_count(database)
    updates: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"body": "ok", "byline": "b" * 301}, ("body", "byline")),
        ({"body": "ok", "sources": [{"name": "n"}] * 21}, ("body", "sources")),
        ({"body": "ok", "media": [{"kind": "link", "url": "https://a.example"}] * 21}, ("body", "media")),
    ]
    for body, loc in updates:
        response = await client.post(UPDATES, json=body, headers=editor)
        assert_validation(response, loc)
    assert await event_count(database) == before


# Instants whose offset carries them outside years 1..9999 once converted to UTC: each is valid
# RFC 3339, and each used to reach the store and raise OverflowError there (a 500).
OUTSIDE_UTC = (
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+00:01",
)
# The calendar's edges that UTC can represent: accepted, then answered as any other time.
EDGES_OF_UTC = ("0001-01-01T00:00:00Z", "0001-01-01T00:00:00-14:00", "9999-12-31T23:59:59.999999Z")


async def test_an_occurred_at_that_leaves_the_calendar_in_utc_is_422(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """Valid RFC 3339 with an offset, but its UTC instant is outside years 1..9999."""
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    for moment in OUTSIDE_UTC:
        response = await client.post(UPDATES, json={"body": "ok", "occurred_at": moment}, headers=editor)
        assert response.status_code == 422, (moment, response.status_code, response.text)
        assert_validation(response, ("body", "occurred_at"))
        correction = await client.post(
            f"{UPDATES}/{update['id']}/corrections",
            json={"changes": {"occurred_at": moment}, "kind": "minor", "reason": "r"},
            headers=editor,
        )
        assert correction.status_code == 422, (moment, correction.status_code, correction.text)
        assert_validation(correction, ("body", "changes", "occurred_at"))
    assert await event_count(database) == before


async def test_an_as_of_that_leaves_the_calendar_in_utc_is_422(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    await post_update(client, editor)
    for moment in OUTSIDE_UTC:
        for headers in ({}, editor):  # readers and staff alike
            response = await client.get(STORY, params={"as_of": moment}, headers=headers)
            assert response.status_code == 422, (moment, response.status_code, response.text)
            (error,) = assert_validation(response, ("query", "as_of"))
            assert "between the years 1 and 9999 in UTC" in error["msg"], error


async def test_an_as_of_at_the_edges_of_the_calendar_is_answered_as_any_time(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    """Before the story existed is 404 (as for any earlier time); the last instant UTC can
    hold is after every event, so it is the story as it stands."""
    await open_story(client, editor)
    await post_update(client, editor)
    current = (await client.get(STORY)).json()
    before, also_before, after = EDGES_OF_UTC
    for moment in (before, also_before):
        response = await client.get(STORY, params={"as_of": moment})
        assert_problem_of(response, 404, "story-not-found")
    response = await client.get(STORY, params={"as_of": after})
    assert response.status_code == 200, response.text
    assert response.json() == current


async def test_an_occurred_at_at_the_edges_of_the_calendar_is_kept_exactly(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    """Every instant UTC can hold is stored and served back, as RFC 3339 UTC, on every backend;
    the pages render it too."""
    await open_story(client, editor)
    expected = ("0001-01-01T00:00:00Z", "0001-01-01T14:00:00Z", "9999-12-31T23:59:59.999999Z")
    for moment, utc in zip(EDGES_OF_UTC, expected, strict=True):
        posted = await post_update(client, editor, occurred_at=moment)
        assert posted["occurred_at"] == utc
        corrected = await client.post(
            f"{UPDATES}/{posted['id']}/corrections",
            json={"changes": {"occurred_at": moment, "body": "Changed."}, "kind": "minor", "reason": "r"},
            headers=editor,
        )
        assert corrected.status_code == 200, corrected.text
        assert corrected.json()["occurred_at"] == utc
        shown = await client.get(f"{UPDATES}/{posted['id']}")
        assert shown.status_code == 200 and shown.json()["occurred_at"] == utc
        assert (await client.get(f"/stories/border-raid/updates/{posted['id']}")).status_code == 200
    assert (await client.get("/stories/border-raid")).status_code == 200
    assert (await client.get("/stories/border-raid/history")).status_code == 200


async def test_a_nul_character_is_refused_on_every_backend(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """PostgreSQL cannot store U+0000 in text or jsonb; accepting it on one backend only
    would make the log unportable. It is a validation error everywhere, never a 500."""
    await open_story(client, editor)
    before = await event_count(database)
    for url, body, loc in (
        (UPDATES, {"body": "before\u0000after"}, ("body", "body")),
        (UPDATES, {"body": "ok", "byline": "Kim\u0000"}, ("body", "byline")),
        (f"{API}/stories", {"title": "Nul\u0000title", "slug": "nul"}, ("body", "title")),
    ):
        response = await client.post(url, json=body, headers=editor)
        assert response.status_code == 422, (body, response.status_code, response.text)
        assert_validation(response, loc)
    assert await event_count(database) == before


async def test_a_lone_surrogate_is_refused_not_a_crash(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """`"\\ud800"` is valid JSON syntax but not Unicode text: it cannot be stored as UTF-8."""
    await open_story(client, editor)
    before = await event_count(database)
    for url, content, loc in (
        (UPDATES, b'{"body": "half a pair \\ud800 here"}', ("body", "body")),
        (f"{API}/stories", b'{"title": "\\udfff", "slug": "surrogate"}', ("body", "title")),
    ):
        response = await send_raw(client, url, content, editor)
        assert response.status_code == 422, (content, response.status_code, response.text)
        assert_validation(response, loc)
    assert await event_count(database) == before


# ------------------------------------------------------------------------------------ URLs and HTML


async def test_javascript_and_other_non_web_urls_are_refused(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    update = await post_update(client, editor)
    before = await event_count(database)
    bad_urls = [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "  javascript:alert(1)",
        "javascript://example.com/%0Aalert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "//evil.example/x",
        "https://",
        "ftp://files.example/a",
        "file:///etc/passwd",
    ]
    for url in bad_urls:
        for body, loc in (
            ({"body": "ok", "sources": [{"name": "S", "url": url}]}, ("body", "sources")),
            ({"body": "ok", "media": [{"kind": "link", "url": url}]}, ("body", "media")),
            ({"body": "ok", "media": [{"kind": "image", "url": url, "caption": "c"}]}, ("body", "media")),
        ):
            response = await client.post(UPDATES, json=body, headers=editor)
            assert response.status_code == 422, (url, response.text)
            assert_validation(response, loc)
        for changes in ({"sources": [{"name": "S", "url": url}]}, {"media": [{"kind": "video", "url": url}]}):
            response = await client.post(
                f"{UPDATES}/{update['id']}/corrections",
                json={"changes": changes, "kind": "minor", "reason": "r"},
                headers=editor,
            )
            assert response.status_code == 422, (url, response.text)
            assert_validation(response, ("body", "changes"))
    assert await event_count(database) == before
    ok = await client.post(
        UPDATES,
        json={
            "body": "ok",
            "sources": [{"name": "S", "url": "HTTPS://Example.com/a"}],
            "media": [{"kind": "video", "url": "http://v.example/1"}],
        },
        headers=editor,
    )
    assert ok.status_code == 201, ok.text


HOSTILE_MARKDOWN = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    "<style>body{display:none}</style>",
    '<div onclick="alert(1)">hi</div>',
    "[click](javascript:alert(1))",
    "[click](JAVASCRIPT:alert(1))",
    "[click]( javascript:alert(1) )",
    "[click](java&#115;cript:alert(1))",
    "[click](&#x6A;avascript:alert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<javascript:alert(1)>",
    "![img](javascript:alert(1))",
    '![x](https://ok.example/a.png "x\\" onerror=\\"alert(1)")',
    '[x](https://ok.example "t\\" onmouseover=\\"alert(1)")',
    "[ref]\n\n[ref]: javascript:alert(1)",
    "<a href=https://ok.example onmouseover=alert(1)>x</a>",
    "```html\n<script>alert(1)</script>\n```",
    "<!-- <script>alert(1)</script> -->",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
]
SAFE_TAGS = {
    "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "ol", "p",
    "pre", "s", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip


def assert_inert(html: str) -> None:
    """No element can run script: safe tags only, no event handlers, web links only."""
    for tag, attrs in elements(html):
        assert tag in SAFE_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html)
            assert name in {"href", "title", "rel", "align"}, (name, html)
            if name == "href":
                assert value is not None
                assert value.strip().lower().startswith(("http://", "https://", "mailto:")), (value, html)
    lowered = html.lower()
    assert "<script" not in lowered and "<img" not in lowered and "<svg" not in lowered
    assert "<iframe" not in lowered and "<style" not in lowered


async def test_body_html_is_sanitised(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await open_story(client, editor)
    for markdown in HOSTILE_MARKDOWN:
        if image_urls(markdown):
            # A Markdown image from anywhere but this server's media is refused, not dropped.
            refused = await client.post(UPDATES, json={"body": markdown}, headers=editor)
            assert refused.status_code == 422, refused.text
            assert refused.json()["type"] == "urn:liveblog:problem:foreign-image"
            continue
        update = await post_update(client, editor, body=markdown)
        assert update["body"] == markdown  # the source is kept as written
        assert_inert(update["body_html"])
        stored = (await client.get(f"{UPDATES}/{update['id']}")).json()
        assert stored["body_html"] == update["body_html"]
    # Raw HTML is shown as text, not dropped and not interpreted.
    shown = await post_update(client, editor, body="<script>alert(1)</script>")
    assert "&lt;script&gt;" in shown["body_html"]
    # A correction's new body is sanitised too.
    corrected = await client.post(
        f"{UPDATES}/{shown['id']}/corrections",
        json={
            "changes": {"body": "<img src=x onerror=alert(2)> [x](javascript:alert(2))"},
            "kind": "minor",
            "reason": "r",
        },
        headers=editor,
    )
    assert corrected.status_code == 200, corrected.text
    assert_inert(corrected.json()["body_html"])
    story = (await client.get(STORY)).json()
    for item in story["updates"]:
        assert_inert(item["body_html"])


# ------------------------------------------------------------------------------------ size


def oversized_update() -> bytes:
    return json.dumps({"body": "x" * (LIMIT + 10)}).encode()


async def test_a_body_over_1_mib_with_content_length_is_413(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    content = oversized_update()
    response = await send_raw(client, UPDATES, content, editor)
    assert response.request.headers["content-length"] == str(len(content))
    problem = assert_problem_of(response, 413, "payload-too-large")
    assert problem["title"] == "Request body too large"
    story = await send_raw(
        client, f"{API}/stories", json.dumps({"title": "t" * (LIMIT + 1)}).encode(), editor
    )
    assert_problem_of(story, 413, "payload-too-large")
    assert await event_count(database) == before


async def test_a_streamed_body_over_1_mib_is_413(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"body": "'
        for _ in range(40):
            sent.append(1)
            yield b"x" * 65_536  # 40 x 64 KiB = 2.5 MiB in all
        yield b'"}'

    response = await client.post(UPDATES, content=chunks(), headers={**JSON_HEADERS, **editor})
    assert "content-length" not in response.request.headers
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert_problem_of(response, 413, "payload-too-large")
    assert len(sent) < 40  # the server stopped reading at the limit instead of buffering it all
    assert await event_count(database) == before


async def test_a_body_just_under_1_mib_reaches_validation(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    before = await event_count(database)
    envelope = len(json.dumps({"body": ""}).encode())
    content = json.dumps({"body": "x" * (LIMIT - envelope)}).encode()
    assert len(content) == LIMIT
    response = await send_raw(client, UPDATES, content, editor)
    assert_validation(response, ("body", "body"))  # too long for an update, but not too large to read

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 100_000):
            yield content[start : start + 100_000]

    streamed = await client.post(UPDATES, content=chunks(), headers={**JSON_HEADERS, **editor})
    assert_validation(streamed, ("body", "body"))
    assert await event_count(database) == before


# ------------------------------------------------------------------------------------ routing


async def test_unknown_routes_and_methods_are_problems(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await open_story(client, editor)
    missing = await client.get(f"{API}/no-such-thing")
    assert_problem_of(missing, 404, "not-found")
    not_allowed = await client.delete(STORY, headers=editor)
    assert_problem_of(not_allowed, 405, "method-not-allowed")
    assert "allow" in not_allowed.headers
    assert (await client.get(STORY)).status_code == 200
