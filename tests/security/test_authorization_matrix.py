"""Issue item 1: the authorization matrix, generated from the application's route table.

Every route (HTTP, WebSocket, SSE, pages, docs, static files) has a rule in :data:`RULES`;
a route without one (or a rule without a route) fails :func:`test_every_route_has_a_rule`.
Each route is then called with a concrete, valid request (a published story with an update;
a fresh story for every write) as each of seven identities:

* permitted identities must get through (2xx/3xx, a ``hello`` on the live routes);
* a missing token on a protected route is exactly 401; a present but malformed, revoked or
  expired token is exactly 401 on every route that reads tokens, public ones included (by
  design: a client with a bad token learns it at once); a valid token of the wrong role is 403;
* a refused write records nothing.

Rules: ``public`` (anyone; a bad token is still 401), ``editor`` (editor or admin),
``auditor`` (auditor or admin), ``feed`` (auditor, consumer or admin: the change feed),
``admin`` (admin only: webhooks), ``open`` (static assets and the API's own documentation,
which never look at tokens and serve no story data).
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from liveblog.api.app import create_app
from liveblog.config import Settings
from liveblog.store import webhooks as webhook_store
from liveblog.store.database import Database
from tests.api.helpers import event_count
from tests.security.conftest import API, IDENTITIES, Identity, published_story, sse_blocks, ws_outcome
from tests.security.routes import RouteKey, route_table

S = f"{API}/stories/{{slug}}"
U = f"{S}/updates/{{update_id}}"
W = f"{API}/webhooks/{{webhook_id}}"
Q = f"{S}/submissions"
QS = f"{Q}/{{submission_id}}"

RULES: dict[RouteKey, str] = {
    # API documentation and static assets: no tokens read, no story data served.
    ("GET", "/openapi.json"): "open",
    ("GET", "/docs"): "open",
    ("GET", "/docs/assets/{name}"): "open",
    ("GET", "/redoc"): "open",
    ("MOUNT", "/static"): "open",
    # Stories
    ("POST", f"{API}/stories"): "editor",
    ("GET", f"{API}/stories"): "public",
    ("GET", S): "public",
    ("PATCH", S): "editor",
    ("POST", f"{S}/publish"): "editor",
    ("POST", f"{S}/close"): "editor",
    ("POST", f"{S}/reopen"): "editor",
    # Updates
    ("POST", f"{S}/updates"): "editor",
    ("GET", f"{S}/updates"): "public",
    ("GET", U): "public",
    ("POST", f"{U}/corrections"): "editor",
    ("PUT", f"{U}/verification"): "editor",
    ("PUT", f"{U}/flags"): "editor",
    ("POST", f"{U}/retraction"): "editor",
    ("POST", f"{U}/redaction"): "admin",  # removing text for legal reasons: admins alone
    # The submission queue (issue 15): contributors submit and withdraw their own; editors decide
    ("POST", Q): "submit",
    ("GET", Q): "queue",
    ("GET", QS): "queue",
    ("POST", f"{QS}/withdrawal"): "submitter",
    ("POST", f"{QS}/approval"): "editor",
    ("POST", f"{QS}/rejection"): "editor",
    # Audit
    ("GET", f"{S}/events"): "auditor",
    ("GET", f"{U}/history"): "public",
    ("GET", f"{S}/revisions"): "public",
    ("GET", f"{S}/checkpoint"): "public",
    ("POST", f"{S}/checkpoint"): "auditor",
    ("GET", f"{API}/keys"): "public",
    # The change feed
    ("GET", f"{API}/events"): "feed",
    # Live delivery
    ("WEBSOCKET", f"{S}/live"): "public",
    ("GET", f"{S}/live"): "public",  # Server-Sent Events
    # Webhooks
    ("POST", f"{API}/webhooks"): "admin",
    ("GET", f"{API}/webhooks"): "admin",
    ("GET", W): "admin",
    ("PATCH", W): "admin",
    ("DELETE", W): "admin",
    ("POST", f"{W}/secret"): "admin",
    # Pages
    ("GET", "/stories/{slug}"): "public",
    ("GET", "/stories/{slug}/updates/{update_id}"): "public",
    ("GET", "/stories/{slug}/history"): "public",
    # Embeds, oEmbed and feeds (issue #13): for readers, read no token at all (an iframe, a
    # CMS or a feed reader sends none), so any credentials, even bad ones, change nothing.
    ("GET", "/stories/{slug}/embed"): "open",
    ("GET", "/stories/{slug}/fragment"): "open",
    ("GET", "/embed.js"): "open",
    ("GET", "/oembed"): "open",
    ("GET", "/stories/{slug}/feed.atom"): "open",
    ("GET", "/stories/{slug}/feed.json"): "open",
    ("GET", "/feed.atom"): "open",
    ("GET", "/feed.json"): "open",
    # What search engines read (issue #13, point 5): for everyone, reading no token.
    ("GET", "/sitemap-news.xml"): "open",
    ("GET", "/robots.txt"): "open",
}

LIVE_ROUTES = {("WEBSOCKET", f"{S}/live"), ("GET", f"{S}/live")}
PERMITTED = {
    "open": set(IDENTITIES),
    "public": {"anonymous", "editor", "auditor", "admin", "consumer", "contributor"},
    "editor": {"editor", "admin"},
    "auditor": {"auditor", "admin"},
    "admin": {"admin"},
    "feed": {"auditor", "admin", "consumer"},
    "submit": {"editor", "admin", "contributor"},
    "queue": {"editor", "auditor", "admin", "contributor"},
    "submitter": {"contributor"},
}
BAD_TOKENS = {"malformed", "revoked", "expired"}


def expected_refusal(rule: str, who: str) -> int | None:
    """The status a refused identity gets (``None``: it is let through)."""
    if who in PERMITTED[rule]:
        return None
    if who == "anonymous" or who in BAD_TOKENS:
        return 401
    return 403


def test_every_route_has_a_rule() -> None:
    routes = route_table(create_app(Settings()))
    unruled = sorted(routes - set(RULES))
    stale = sorted(set(RULES) - routes)
    assert not unruled, f"routes without an authorization rule (add them to RULES): {unruled}"
    assert not stale, f"rules for routes the app does not have: {stale}"
    assert set(RULES.values()) <= set(PERMITTED)


def test_the_rules_agree_with_the_api_contract() -> None:
    """Spot checks against docs/api.md, so RULES cannot drift into permissiveness unnoticed."""
    writes = {key for key in RULES if key[0] in ("POST", "PUT", "PATCH", "DELETE")}
    # Signing a checkpoint on demand writes no event: it is the auditors'. Redaction and
    # webhooks are the admins'.
    assert RULES[("POST", f"{S}/checkpoint")] == "auditor"
    assert RULES[("POST", f"{U}/redaction")] == "admin"
    webhooks = {key for key in RULES if key[1].startswith(f"{API}/webhooks")}
    assert webhooks and all(RULES[key] == "admin" for key in webhooks)
    queue = {("POST", Q), ("POST", f"{QS}/withdrawal")}
    assert RULES[("POST", Q)] == "submit"
    special = {("POST", f"{S}/checkpoint"), ("POST", f"{U}/redaction"), *webhooks, *queue}
    assert writes and all(RULES[key] == "editor" for key in writes - special)
    assert RULES[("GET", f"{S}/events")] == "auditor"
    assert RULES[("GET", f"{API}/events")] == "feed"
    assert {
        rule
        for key, rule in RULES.items()
        if key[0] in ("GET", "WEBSOCKET") and key[1].startswith(API) and key not in webhooks
    } == {
        "public",
        "auditor",
        "feed",
        "queue",
    }


# ----------------------------------------------------------------- concrete requests


@dataclass
class Call:
    method: str
    url: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class World:
    """The state requests are made against: a published story with one update (for reads)
    and a factory of fresh stories (for writes, one per identity)."""

    client: httpx.AsyncClient
    setup: dict[str, str]
    slug: str
    update_id: str
    database: Database
    contributor: dict[str, str]
    submission_id: str
    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def fresh(self, *, publish: bool = True, closed: bool = False) -> tuple[str, str | None]:
        slug = f"fresh-{next(self.counter)}"
        if not publish:
            response = await self.client.post(
                f"{API}/stories", json={"title": "A draft", "slug": slug}, headers=self.setup
            )
            assert response.status_code == 201, response.text
            return slug, None
        update = await published_story(self.client, self.setup, slug)
        if closed:
            response = await self.client.post(f"{API}/stories/{slug}/close", headers=self.setup)
            assert response.status_code == 200, response.text
        return slug, update["id"]

    async def submission(self) -> tuple[str, str]:
        """A fresh published story with a pending submission by the contributor."""
        slug, _ = await self.fresh()
        return slug, await submit(self.client, self.contributor, slug)

    async def webhook(self) -> str:
        """A fresh webhook endpoint's id (made in the store: the setup token is an editor's)."""
        async with webhook_store.transaction(self.database) as connection:
            endpoint = await webhook_store.create(
                connection, url=HOOK_URL, stories=None, types=None, cursor=None, now=datetime.now(UTC)
            )
        return endpoint.id


Builder = Callable[[World], Awaitable[Call]]
HOOK_URL = "https://hooks.example.org/liveblog"


def _read(path: str, **params: Any) -> Builder:
    async def build(world: World) -> Call:
        return Call("GET", path.format(slug=world.slug, update_id=world.update_id), params=dict(params))

    return build


def _write(
    method: str, path: str, body: Any = None, *, publish: bool = True, closed: bool = False
) -> Builder:
    async def build(world: World) -> Call:
        slug, update_id = await world.fresh(publish=publish, closed=closed)
        payload = body(slug) if callable(body) else body
        return Call(method, path.format(slug=slug, update_id=update_id), json=payload)

    return build


async def submit(client: httpx.AsyncClient, headers: dict[str, str], slug: str) -> str:
    response = await client.post(
        f"{API}/stories/{slug}/submissions", json={"body": "From the field."}, headers=headers
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _queue(path: str, body: Any = None) -> Builder:
    """A write to a fresh pending submission (the contributor's)."""

    async def build(world: World) -> Call:
        slug, submission_id = await world.submission()
        return Call("POST", path.format(slug=slug, submission_id=submission_id), json=body)

    return build


def _queue_read(path: str) -> Builder:
    async def build(world: World) -> Call:
        return Call("GET", path.format(slug=world.slug, submission_id=world.submission_id))

    return build


def _hook(method: str, path: str, body: Any = None) -> Builder:
    async def build(world: World) -> Call:
        return Call(method, path.format(webhook_id=await world.webhook()), json=body)

    return build


BUILDERS: dict[RouteKey, Builder] = {
    ("GET", "/openapi.json"): _read("/openapi.json"),
    ("GET", "/docs"): _read("/docs"),
    ("GET", "/docs/assets/{name}"): _read("/docs/assets/docs.js"),
    ("GET", "/redoc"): _read("/redoc"),
    ("MOUNT", "/static"): _read("/static/liveblog.css"),
    ("POST", f"{API}/stories"): _write(
        "POST", f"{API}/stories", lambda slug: {"title": "Brand new", "slug": f"{slug}-new", "publish": True}
    ),
    ("GET", f"{API}/stories"): _read(f"{API}/stories"),
    ("GET", S): _read(S),
    ("PATCH", S): _write("PATCH", S, {"title": "A new headline", "reason": "sharper"}),
    ("POST", f"{S}/publish"): _write("POST", f"{S}/publish", publish=False),
    ("POST", f"{S}/close"): _write("POST", f"{S}/close"),
    ("POST", f"{S}/reopen"): _write("POST", f"{S}/reopen", closed=True),
    ("POST", f"{S}/updates"): _write("POST", f"{S}/updates", {"body": "Another update."}),
    ("GET", f"{S}/updates"): _read(f"{S}/updates", limit=5),
    ("GET", U): _read(U),
    ("POST", f"{U}/corrections"): _write(
        "POST",
        f"{U}/corrections",
        {"changes": {"body": "Corrected."}, "kind": "correction", "reason": "wrong", "note": "Fixed."},
    ),
    ("PUT", f"{U}/verification"): _write(
        "PUT", f"{U}/verification", {"status": "confirmed", "note": "Seen."}
    ),
    ("PUT", f"{U}/flags"): _write("PUT", f"{U}/flags", {"pinned": True, "key_event": True}),
    ("POST", f"{U}/retraction"): _write("POST", f"{U}/retraction", {"reason": "wrong", "note": "Withdrawn."}),
    ("POST", f"{U}/redaction"): _write(
        "POST", f"{U}/redaction", {"legal_basis": "court order 1/2026", "note": "Removed.", "reason": "order"}
    ),
    ("POST", Q): _write("POST", Q, {"body": "Seen from the field."}),
    ("GET", Q): _queue_read(Q),
    ("GET", QS): _queue_read(QS),
    ("POST", f"{QS}/withdrawal"): _queue(f"{QS}/withdrawal"),
    ("POST", f"{QS}/approval"): _queue(f"{QS}/approval", {"changes": {"body": "Edited by the desk."}}),
    ("POST", f"{QS}/rejection"): _queue(f"{QS}/rejection", {"note": "Not confirmed."}),
    ("GET", f"{S}/events"): _read(f"{S}/events"),
    ("GET", f"{U}/history"): _read(f"{U}/history"),
    ("GET", f"{S}/revisions"): _read(f"{S}/revisions"),
    ("GET", f"{S}/checkpoint"): _read(f"{S}/checkpoint"),
    ("POST", f"{S}/checkpoint"): _write("POST", f"{S}/checkpoint"),
    ("GET", f"{API}/keys"): _read(f"{API}/keys"),
    ("POST", f"{API}/webhooks"): _hook("POST", f"{API}/webhooks", {"url": HOOK_URL}),
    ("GET", f"{API}/webhooks"): _hook("GET", f"{API}/webhooks"),
    ("GET", W): _hook("GET", W),
    ("PATCH", W): _hook("PATCH", W, {"status": "paused"}),
    ("DELETE", W): _hook("DELETE", W),
    ("POST", f"{W}/secret"): _hook("POST", f"{W}/secret"),
    ("GET", f"{API}/events"): _read(f"{API}/events"),
    ("GET", "/stories/{slug}"): _read("/stories/{slug}"),
    ("GET", "/stories/{slug}/updates/{update_id}"): _read("/stories/{slug}/updates/{update_id}"),
    ("GET", "/stories/{slug}/history"): _read("/stories/{slug}/history"),
    ("GET", "/stories/{slug}/embed"): _read("/stories/{slug}/embed"),
    ("GET", "/stories/{slug}/fragment"): _read("/stories/{slug}/fragment"),
    ("GET", "/embed.js"): _read("/embed.js"),
    ("GET", "/oembed"): _read("/oembed", url="http://testserver/stories/matrix-story"),
    ("GET", "/stories/{slug}/feed.atom"): _read("/stories/{slug}/feed.atom"),
    ("GET", "/stories/{slug}/feed.json"): _read("/stories/{slug}/feed.json"),
    ("GET", "/feed.atom"): _read("/feed.atom"),
    ("GET", "/feed.json"): _read("/feed.json"),
    ("GET", "/sitemap-news.xml"): _read("/sitemap-news.xml"),
    ("GET", "/robots.txt"): _read("/robots.txt"),
}


def test_every_http_rule_has_a_concrete_request() -> None:
    assert set(BUILDERS) == set(RULES) - LIVE_ROUTES


@pytest.fixture
async def world(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database, identities: dict[str, Identity]
) -> World:
    update = await published_story(client, editor, "matrix-story")
    contributor = identities["contributor"].headers
    return World(
        client=client,
        setup=editor,
        slug="matrix-story",
        update_id=update["id"],
        database=database,
        contributor=contributor,
        submission_id=await submit(client, contributor, "matrix-story"),
    )


def _label(key: RouteKey) -> str:
    return f"{key[0]} {key[1]}"


@pytest.mark.parametrize("key", sorted(set(RULES) - LIVE_ROUTES), ids=_label)
async def test_http_route_authorization(
    key: RouteKey, world: World, identities: dict[str, Identity], database: Database
) -> None:
    rule = RULES[key]
    wrong: list[str] = []
    for who in IDENTITIES:
        call = await BUILDERS[key](world)
        before = await event_count(database)
        response = await world.client.request(
            call.method,
            call.url,
            json=call.json,
            params=call.params,
            headers={**call.headers, **identities[who].headers},
        )
        refusal = expected_refusal(rule, who)
        outcome = f"{who}: {call.method} {call.url} -> {response.status_code} {response.text[:160]!r}"
        if refusal is None:
            if not 200 <= response.status_code < 400:
                wrong.append(f"permitted but refused or failed: {outcome}")
            continue
        if response.status_code != refusal:
            wrong.append(f"expected {refusal}: {outcome}")
            continue
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            wrong.append(f"refusal is not a problem document: {outcome}")
        if refusal == 401 and not response.headers.get("www-authenticate", "").lower().startswith("bearer"):
            wrong.append(f"401 without a Bearer challenge: {outcome}")
        if await event_count(database) != before:
            wrong.append(f"a refused request changed the log: {outcome}")
    assert not wrong, "\n".join(wrong)


async def test_live_routes_authorization(
    server_url: str, world: World, identities: dict[str, Identity]
) -> None:
    """The WebSocket (close 4401 for a bad token, ``hello`` otherwise) and Server-Sent Events
    (401 for a bad token, ``hello`` otherwise) subscriptions of a published story."""
    assert RULES[("WEBSOCKET", f"{S}/live")] == RULES[("GET", f"{S}/live")] == "public"
    wrong: list[str] = []
    for who in IDENTITIES:
        headers = identities[who].headers
        refusal = expected_refusal("public", who)
        first = await ws_outcome(server_url, world.slug, headers)
        if refusal is None:
            if not (isinstance(first, dict) and first.get("type") == "hello"):
                wrong.append(f"WebSocket, {who}: expected hello, got {first!r}")
        elif first != 4401:
            wrong.append(f"WebSocket, {who}: expected close 4401, got {first!r}")
        response, blocks = await sse_blocks(server_url, world.slug, headers)
        if refusal is None:
            if response.status_code != 200 or not blocks or blocks[0][0] != "event: hello":
                wrong.append(f"SSE, {who}: expected 200 and hello, got {response.status_code} {blocks[:1]}")
        elif response.status_code != 401:
            wrong.append(f"SSE, {who}: expected 401, got {response.status_code}")
    assert not wrong, "\n".join(wrong)
