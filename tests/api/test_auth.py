"""Bearer tokens and roles: 401 (with WWW-Authenticate) for missing or bad tokens, 403 for roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import API, assert_problem_of, bearer, create_token, revoke_token
from tests.api.helpers import event_count, open_story, post_update

STORY = f"{API}/stories/border-raid"
UPDATES = f"{STORY}/updates"


def write_routes(update_id: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """Every write of docs/api.md "Stories" and "Updates", each with a body that would be accepted."""
    base = f"{UPDATES}/{update_id}"
    return [
        ("POST", f"{API}/stories", {"title": "Another story", "slug": "another"}),
        ("PATCH", STORY, {"title": "New headline"}),
        ("POST", f"{API}/stories/a-draft/publish", None),
        ("POST", UPDATES, {"body": "New update"}),
        ("POST", f"{base}/corrections", {"changes": {"body": "Fixed"}, "kind": "minor", "reason": "typo"}),
        ("PUT", f"{base}/verification", {"status": "confirmed"}),
        ("PUT", f"{base}/flags", {"pinned": True}),
        ("POST", f"{base}/retraction", {"reason": "wrong", "note": "Withdrawn"}),
        ("POST", f"{STORY}/close", None),
    ]


def assert_unauthenticated(response: httpx.Response) -> None:
    assert_problem_of(response, 401, "unauthenticated")
    challenge = response.headers.get("www-authenticate", "")
    assert challenge.lower().startswith("bearer"), response.headers


async def setup_story(client: httpx.AsyncClient, editor: dict[str, str]) -> dict[str, Any]:
    await open_story(client, editor)
    draft = await client.post(f"{API}/stories", json={"title": "A draft", "slug": "a-draft"}, headers=editor)
    assert draft.status_code == 201
    return await post_update(client, editor)


async def test_a_write_without_a_token_is_401(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    update = await setup_story(client, editor)
    before = await event_count(database)
    for method, url, body in write_routes(update["id"]):
        response = await client.request(method, url, json=body)
        assert response.status_code == 401, (method, url, response.text)
        assert_unauthenticated(response)
    assert await event_count(database) == before


async def test_an_auditor_writing_is_403(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], database: Database
) -> None:
    update = await setup_story(client, editor)
    before = await event_count(database)
    for method, url, body in write_routes(update["id"]):
        response = await client.request(method, url, json=body, headers=auditor)
        assert response.status_code == 403, (method, url, response.text)
        assert_problem_of(response, 403, "forbidden")
        assert "www-authenticate" not in response.headers
    assert await event_count(database) == before
    # Reading is open to auditors.
    assert (await client.get(STORY, headers=auditor)).status_code == 200


async def test_an_admin_can_do_every_write(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str], database: Database
) -> None:
    update = await setup_story(client, editor)
    before = await event_count(database)
    for method, url, body in write_routes(update["id"]):
        response = await client.request(method, url, json=body, headers=admin)
        assert response.status_code in (200, 201), (method, url, response.text)
    assert await event_count(database) == before + len(write_routes(update["id"]))  # one event each
    posted = (await client.get(UPDATES)).json()["items"]
    assert any(item["author"] == {"name": "Sam Admin"} for item in posted)


async def test_a_revoked_token_is_401_everywhere(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    update = await setup_story(client, editor)
    token_id, headers = await create_token(database, Role.EDITOR, "Soon Gone")
    works = await client.post(UPDATES, json={"body": "Before revocation"}, headers=headers)
    assert works.status_code == 201, works.text
    await revoke_token(database, token_id)
    before = await event_count(database)
    for method, url, body in write_routes(update["id"]):
        response = await client.request(method, url, json=body, headers=headers)
        assert response.status_code == 401, (method, url, response.text)
        assert_unauthenticated(response)
    for url in (f"{API}/stories", STORY, UPDATES, f"{UPDATES}/{update['id']}"):
        response = await client.get(url, headers=headers)
        assert response.status_code == 401, (url, response.text)
        assert_unauthenticated(response)
    assert await event_count(database) == before
    # Other tokens are unaffected.
    assert (await client.post(UPDATES, json={"body": "Still here"}, headers=editor)).status_code == 201


async def test_an_expired_token_is_401(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    _, headers = await create_token(
        database, Role.EDITOR, "Expired", expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )
    before = await event_count(database)
    response = await client.post(UPDATES, json={"body": "Too late"}, headers=headers)
    assert_unauthenticated(response)
    assert_unauthenticated(await client.get(STORY, headers=headers))
    assert await event_count(database) == before


async def test_unknown_and_malformed_tokens_are_401_even_on_public_reads(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    update = await setup_story(client, editor)
    secret = editor["Authorization"].removeprefix("Bearer ")
    bad_headers = [
        bearer("lb_" + "A" * 43),  # well formed, unknown
        bearer(secret[:-1]),  # one character short
        bearer(secret + "x"),
        bearer("not-a-liveblog-token"),
        bearer("lb_" + "x" * 200),
        {"Authorization": f"Token {secret}"},
        {"Authorization": f"Basic {secret}"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer    "},
        {"Authorization": secret},
        {"Authorization": ""},
    ]
    before = await event_count(database)
    for headers in bad_headers:
        for url in (f"{API}/stories", STORY, UPDATES, f"{UPDATES}/{update['id']}"):
            response = await client.get(url, headers=headers)
            assert response.status_code == 401, (headers, url, response.text)
            assert_unauthenticated(response)
            assert secret not in response.text
        write = await client.post(UPDATES, json={"body": "Nope"}, headers=headers)
        assert write.status_code == 401, (headers, write.text)
        assert_unauthenticated(write)
    assert await event_count(database) == before
    # Without any Authorization header the same reads are public.
    for url in (f"{API}/stories", STORY, UPDATES, f"{UPDATES}/{update['id']}"):
        assert (await client.get(url)).status_code == 200


async def test_the_scheme_is_case_insensitive_and_the_actor_is_recorded(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    secret = editor["Authorization"].removeprefix("Bearer ")
    response = await client.post(
        UPDATES, json={"body": "lower-case scheme"}, headers={"Authorization": f"bearer {secret}"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["author"] == {"name": "Olena Editor"}
