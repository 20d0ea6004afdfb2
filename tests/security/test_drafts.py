"""Issue item 3 (first half): drafts are invisible to readers, on every surface: API,
pages, WebSocket, SSE, history, events, checkpoint, story list.

Anonymous readers get 404 (4404 on the WebSocket); a present but bad token gets 401;
editors, auditors and admins see the draft (issue "Hardening" item 7: auditors read the
whole log of every story, drafts included).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.fixtures_extra import create_token
from tests.security.conftest import API, sse_blocks, ws_outcome

DRAFT = "quiet-draft"
CANARY = "DRAFT-CANARY-7f3a"


async def _draft(client: httpx.AsyncClient, editor: dict[str, str]) -> dict[str, Any]:
    """A draft with a canary in its title, summary and update, corrected once."""
    opened = await client.post(
        f"{API}/stories",
        json={"title": f"Embargoed {CANARY}", "summary": f"Summary {CANARY}", "slug": DRAFT},
        headers=editor,
    )
    assert opened.status_code == 201 and opened.json()["status"] == "draft"
    posted = await client.post(
        f"{API}/stories/{DRAFT}/updates", json={"body": f"Body {CANARY}"}, headers=editor
    )
    assert posted.status_code == 201
    update: dict[str, Any] = posted.json()
    corrected = await client.post(
        f"{API}/stories/{DRAFT}/updates/{update['id']}/corrections",
        json={"changes": {"body": f"Body {CANARY}, fixed"}, "kind": "correction", "reason": "r", "note": "n"},
        headers=editor,
    )
    assert corrected.status_code == 200
    return update


def _surfaces(update_id: str) -> list[tuple[str, dict[str, Any]]]:
    story = f"{API}/stories/{DRAFT}"
    return [
        (story, {}),
        (story, {"at_version": 1}),
        (story, {"as_of": "2100-01-01T00:00:00Z"}),
        (f"{story}/updates", {}),
        (f"{story}/updates/{update_id}", {}),
        (f"{story}/updates/{update_id}/history", {}),
        (f"{story}/revisions", {}),
        (f"{story}/checkpoint", {}),
        (f"{story}/events", {}),
        (f"{story}/events", {"after": 0, "limit": 10}),
        (f"/stories/{DRAFT}", {}),
        (f"/stories/{DRAFT}/updates/{update_id}", {}),
        (f"/stories/{DRAFT}/history", {}),
        (f"/stories/{DRAFT}/history", {"version": 2}),
    ]


# Who gets what on each read surface of a draft: readers never see it; editors, auditors
# and admins do, except the log, which is for auditors (editors get 403 whatever the story).
DRAFT_MATRIX = {"anonymous": 404, "editor": 200, "auditor": 200, "admin": 200}
LOG_MATRIX = {"anonymous": 401, "editor": 403, "auditor": 200, "admin": 200}


async def test_the_role_matrix_of_a_draft_on_every_http_surface(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], admin: dict[str, str]
) -> None:
    """Issue "Hardening" item 7: auditors read the whole log of every story, drafts included
    (events, revisions, update histories, at_version/as_of, the pages); readers never do."""
    update = await _draft(client, editor)
    callers = {"anonymous": {}, "editor": editor, "auditor": auditor, "admin": admin}
    wrong = []
    for path, params in _surfaces(update["id"]):
        matrix = LOG_MATRIX if path.endswith("/events") else DRAFT_MATRIX
        for who, headers in callers.items():
            response = await client.get(path, params=params, headers=headers)
            expected = matrix[who]
            if path.endswith("/checkpoint") and expected == 200:
                expected = 404  # visible, but drafts are never signed: the 404 says so
                if "checkpoint" not in response.text:
                    wrong.append(f"{who}: GET {path}: a 404 for the story, not for its checkpoint")
            if response.status_code != expected:
                wrong.append(f"{who}: GET {path} {params} -> {response.status_code} {response.text[:120]!r}")
            elif expected >= 400:
                if CANARY in response.text:
                    wrong.append(f"{who}: GET {path} {params}: the refusal shows the draft")
            elif path.endswith(("/events", "/revisions", "/history")) and "/api/" in path:
                # Staff read every revision, from the draft's first version on.
                assert CANARY in response.text, (who, path)
    assert not wrong, "\n".join(wrong)


async def test_drafts_are_listed_for_staff_and_left_out_of_every_readers_document(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], admin: dict[str, str]
) -> None:
    await _draft(client, editor)
    opened = await client.post(
        f"{API}/stories", json={"title": "Public", "slug": "public", "publish": True}, headers=editor
    )
    assert opened.status_code == 201
    listed = await client.get(f"{API}/stories")
    assert [item["slug"] for item in listed.json()["items"]] == ["public"]
    assert CANARY not in listed.text
    for path in (f"{API}/keys", "/stories/public", "/stories/public/history", f"{API}/stories/public"):
        assert CANARY not in (await client.get(path)).text, path
    for headers in (editor, auditor, admin):
        listed = await client.get(f"{API}/stories", headers=headers)
        assert {item["slug"] for item in listed.json()["items"]} == {"public", DRAFT}


async def test_drafts_are_closed_4404_on_the_websocket_and_404_on_sse_for_readers_only(
    server_url: str,
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    admin: dict[str, str],
) -> None:
    await _draft(client, editor)
    assert await ws_outcome(server_url, DRAFT, {}) == 4404
    response, blocks = await sse_blocks(server_url, DRAFT, {})
    assert response.status_code == 404 and not blocks
    assert CANARY not in response.text
    for headers in (editor, auditor, admin):
        hello = await ws_outcome(server_url, DRAFT, headers)
        assert isinstance(hello, dict) and hello["type"] == "hello"
        response, blocks = await sse_blocks(server_url, DRAFT, headers, after=0, until_version=3)
        assert response.status_code == 200 and any(CANARY in "\n".join(block) for block in blocks)


async def test_a_draft_stays_hidden_from_a_reader_subscribed_before_and_shows_once_published(
    server_url: str, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await _draft(client, editor)
    assert await ws_outcome(server_url, DRAFT, {}) == 4404
    published = await client.post(f"{API}/stories/{DRAFT}/publish", headers=editor)
    assert published.status_code == 200
    hello = await ws_outcome(server_url, DRAFT, {}, after=5)
    assert isinstance(hello, dict) and hello["type"] == "hello"
    assert (await client.get(f"{API}/stories/{DRAFT}")).status_code == 200


async def test_a_published_storys_draft_versions_are_for_staff_only(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """``GET /api/v1/stories/{slug}?at_version=N`` refuses readers a version at which the
    story was still a draft; the history page's "the story as it stood after change N"
    (``/stories/{slug}/history?version=N``) is the same view and must refuse it too. Staff
    (editors, auditors) get both."""
    await _draft(client, editor)  # versions 1 to 3 are drafts
    published = await client.post(f"{API}/stories/{DRAFT}/publish", headers=editor)
    assert published.status_code == 200 and published.json()["version"] == 4
    _, auditing_token = await create_token(database, Role.AUDITOR, "Draft Auditor")
    wrong = []
    for version in (1, 2, 3):
        api = await client.get(f"{API}/stories/{DRAFT}", params={"at_version": version})
        page = await client.get(f"/stories/{DRAFT}/history", params={"version": version})
        if api.status_code != 404:
            wrong.append(f"API at_version={version} -> {api.status_code}")
        if page.status_code != 404:
            shown = "rendering it with status draft" if "Status: draft" in page.text else "?"
            wrong.append(f"history page version={version} -> {page.status_code}, {shown}")
    assert (await client.get(f"/stories/{DRAFT}/history", params={"version": 4})).status_code == 200
    for headers in (editor, auditing_token):
        for version in (1, 2, 3):
            page = await client.get(f"/stories/{DRAFT}/history", params={"version": version}, headers=headers)
            api = await client.get(f"{API}/stories/{DRAFT}", params={"at_version": version}, headers=headers)
            assert page.status_code == api.status_code == 200, (headers, version)
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("role", [Role.EDITOR, Role.AUDITOR, Role.ADMIN])
async def test_every_staff_token_sees_drafts(
    role: Role, client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    update = await _draft(client, editor)
    _, headers = await create_token(database, role, f"Another {role.value}")
    for path, params in _surfaces(update["id"]):
        if path.endswith("/events") and role is Role.EDITOR:
            continue
        response = await client.get(path, params=params, headers=headers)
        if path.endswith("/checkpoint") and response.status_code == 404 and "checkpoint" in response.text:
            continue  # visible, but drafts are never signed
        assert response.status_code == 200, (path, params, response.status_code)
