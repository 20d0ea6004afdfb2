"""Properties over random editor sessions (hypothesis), through the real API and store.

For any sequence of editor actions: the read model kept inline equals a rebuild from the
log; the story as of every version is byte for byte what GET served at that version and
what rendering the fold of the log's prefix gives; and loading any version (snapshot plus
tail) equals folding the log's prefix.
"""

from __future__ import annotations

import itertools
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveblog.application import Application, decode
from liveblog.domain import fold
from liveblog.domain.replay import replay
from liveblog.projections import rebuild, story_view, views
from liveblog.store import event_store, snapshots

TEXTS = ["Shelling reported overnight.", "Two people were killed.", "Children evacuated.", "No comment yet."]
KINDS = ["correction", "clarification", "amendment", "minor"]
STATUSES = ["unverified", "confirmed", "disputed", "denied", "false"]
ACTIONS = ["post", "post", "post", "correct", "verify", "flag", "retract", "revise", "close", "reopen"]
stories = itertools.count()

Action = tuple[str, int, int, bool]
action = st.tuples(st.sampled_from(ACTIONS), st.integers(0, 9), st.integers(0, 3), st.booleans())


async def perform(
    client: httpx.AsyncClient, editor: dict[str, str], slug: str, ids: list[str], step: Action
) -> httpx.Response | None:
    name, pick, text, flag = step
    base = f"/api/v1/stories/{slug}"
    target = f"{base}/updates/{ids[pick % len(ids)]}" if ids else None
    body: dict[str, Any]
    if name == "post":
        body = {"body": TEXTS[text], "pinned": flag, "key_event": not flag}
        return await client.post(f"{base}/updates", json=body, headers=editor)
    if name == "revise":
        return await client.patch(base, json={"title": f"Story {TEXTS[text]}"}, headers=editor)
    if name in ("close", "reopen"):
        return await client.post(f"{base}/{name}", headers=editor)
    if target is None:
        return None
    if name == "correct":
        body = {"changes": {"body": TEXTS[text] + " (updated)"}, "kind": KINDS[pick % 4], "reason": "checked"}
        if KINDS[pick % 4] != "minor":
            body["note"] = "We corrected this update."
        return await client.post(f"{target}/corrections", json=body, headers=editor)
    if name == "verify":
        return await client.put(f"{target}/verification", json={"status": STATUSES[text]}, headers=editor)
    if name == "flag":
        return await client.put(f"{target}/flags", json={"pinned": flag}, headers=editor)
    return await client.post(
        f"{target}/retraction", json={"reason": "wrong", "note": "Withdrawn."}, headers=editor
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(action, min_size=1, max_size=30))
async def test_inline_rebuilt_and_as_of_views_agree(
    steps: list[Action],
    client: httpx.AsyncClient,
    editor: dict[str, str],
    application: Application,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(snapshots, "SNAPSHOT_EVERY", 4)  # exercise snapshots in short sessions
    slug = f"session-{next(stories)}"
    opened = await client.post(
        "/api/v1/stories", json={"title": "A session", "slug": slug, "publish": True}, headers=editor
    )
    assert opened.status_code == 201
    ids: list[str] = []
    served: dict[int, bytes] = {}
    for step in steps:
        response = await perform(client, editor, slug, ids, step)
        if response is None:
            continue
        assert response.status_code < 500, response.text
        if response.status_code == 201:
            ids.append(response.json()["id"])
        current = await client.get(f"/api/v1/stories/{slug}")
        served[int(current.headers["etag"].strip('"'))] = current.content

    for version, content in served.items():
        past = await client.get(f"/api/v1/stories/{slug}", params={"at_version": version})
        assert past.content == content, f"version {version}"

    assert await rebuild.check(application.database) == []

    async with application.database.read() as connection:
        log = [decode(e) for e in await event_store.read_stream(connection, slug)]
        for version in range(1, len(log) + 1):
            assert await application.load_at(connection, slug, version) == fold(None, log[:version])
    for version in range(1, len(log) + 1):
        past = await client.get(f"/api/v1/stories/{slug}", params={"at_version": version}, headers=editor)
        replayed = fold(None, log[:version])
        assert replayed is not None
        assert past.content == story_view.dumps(views.story_view(replayed)).encode(), f"version {version}"
    assert replay(slug, log) == fold(None, log)
