"""The past read model: the Story resource at any version, from indexed rows, equals the
rendering of the log's prefix, across a page boundary, pins and unpins, corrections,
retractions and headline changes; and it is what the as-of API and the history page serve."""

from __future__ import annotations

import httpx

from liveblog.application import Application, decode
from liveblog.domain import fold
from liveblog.projections import past_views, story_view, views
from liveblog.store import event_store
from tests.api.fixtures_extra import API
from tests.api.helpers import open_story, post_update

SLUG = "border-raid"


async def _edit_a_long_story(client: httpx.AsyncClient, editor: dict[str, str]) -> list[str]:
    await open_story(client, editor)
    ids = [(await post_update(client, editor, body=f"Update number {n}."))["id"] for n in range(25)]
    base = f"{API}/stories/{SLUG}/updates"
    steps = [
        client.put(f"{base}/{ids[2]}/flags", json={"pinned": True}, headers=editor),
        client.post(
            f"{base}/{ids[3]}/corrections",
            json={
                "changes": {"body": "Update three, corrected."},
                "kind": "correction",
                "note": "Fixed.",
                "reason": "wrong figure",
            },
            headers=editor,
        ),
        client.put(f"{base}/{ids[24]}/flags", json={"key_event": True}, headers=editor),
        client.put(f"{base}/{ids[2]}/flags", json={"pinned": False}, headers=editor),
        client.post(
            f"{base}/{ids[24]}/retraction", json={"reason": "wrong", "note": "Withdrawn."}, headers=editor
        ),
        client.patch(f"{API}/stories/{SLUG}", json={"title": "A new headline"}, headers=editor),
    ]
    for step in steps:
        response = await step
        assert response.status_code in (200, 201), response.text
    return ids


async def test_every_version_equals_the_rendered_fold_of_the_log_prefix(
    client: httpx.AsyncClient, editor: dict[str, str], application: Application
) -> None:
    await _edit_a_long_story(client, editor)
    async with application.database.read() as connection:
        log = [decode(recorded) for recorded in await event_store.read_stream(connection, SLUG)]
        for version in range(1, len(log) + 1):
            expected = fold(None, log[:version])
            assert expected is not None
            story = await past_views.read_story(connection, SLUG, version)
            assert story == views.story_view(expected), f"version {version}"
            assert await past_views.read_updates(connection, SLUG, version) == [
                views.update_view(SLUG, update)
                for update in sorted(expected.updates.values(), key=lambda u: u.seq, reverse=True)
            ]
        assert await past_views.read_story(connection, SLUG, len(log) + 1) is None
        assert await past_views.read_story(connection, "no-such-story", 1) is None


async def test_the_page_boundary_and_pins_at_chosen_versions(
    client: httpx.AsyncClient, editor: dict[str, str], application: Application
) -> None:
    ids = await _edit_a_long_story(client, editor)
    async with application.database.read() as connection:
        head = await application.load(connection, SLUG)
        assert head is not None
        pinned_at = head.version - 5  # the first step after the 25 posts pinned ids[2]
        pinned = await past_views.read_story(connection, SLUG, pinned_at)
        before = await past_views.read_story(connection, SLUG, pinned_at - 1)
        now = await past_views.read_story(connection, SLUG, head.version)
    assert pinned is not None and before is not None and now is not None
    assert [u["id"] for u in pinned["pinned"]] == [ids[2]] and before["pinned"] == []
    assert now["pinned"] == [] and now["key_events"] == [] and now["title"] == "A new headline"
    assert [u["id"] for u in now["updates"]] == ids[::-1][:20] and now["next"] is not None
    served = await client.get(f"{API}/stories/{SLUG}", params={"at_version": head.version})
    assert served.content == story_view.dumps(now).encode()
    assert served.content == (await client.get(f"{API}/stories/{SLUG}")).content
