"""docs/redaction.md, the surfaces readers and caches get: after a redaction the pages (live,
older, permalink, history at every version) show the tombstone and no trace of the text,
past responses are cached for a bounded time with a purge key and revalidate to the new
body, and the database (SQLite's files, every PostgreSQL table) holds no trace either."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from liveblog.store.database import Database
from tests.api.helpers import open_story, post_update
from tests.live.test_redaction_replay import BASIS, NOTE, REASON, SECRET, SLUG, redact, write_the_secret

BASE = f"/api/v1/stories/{SLUG}"


def assert_no_trace(body: str, where: str) -> None:
    assert SECRET.lower() not in body.lower(), where
    assert REASON not in body, where


def tombstones(page: str) -> list[str]:
    return re.findall(r'<article class="update redacted".*?</article>', page, flags=re.S)


async def test_every_page_shows_the_tombstone_and_no_trace_of_the_text(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str]
) -> None:
    target, version = await write_the_secret(client, editor)
    for n in range(20):  # the redacted update ends on the page of older updates
        await post_update(client, editor, body=f"Later update {n}.")
    version += 20
    live = (await client.get(f"/stories/{SLUG}")).text
    older_link = re.search(r'href="(/stories/[^"]+\?before=[^"]+)"', live)
    assert older_link is not None
    assert SECRET in (await client.get(older_link.group(1).replace("&amp;", "&"))).text
    assert SECRET in (await client.get(f"/stories/{SLUG}/history")).text

    redacted = await redact(client, admin, target["id"])
    version += 1
    assert redacted["status"] == "redacted" and redacted["body"] == ""

    pages = {
        "live": f"/stories/{SLUG}",
        "older": older_link.group(1).replace("&amp;", "&"),
        "permalink": f"/stories/{SLUG}/updates/{target['id']}",
        "history": f"/stories/{SLUG}/history",
    }
    for n in range(2, version + 1):  # readers' past starts at publication (version 2)
        pages[f"history at {n}"] = f"/stories/{SLUG}/history?version={n}"
    for name, url in pages.items():
        response = await client.get(url)
        assert response.status_code == 200, (name, response.text)
        if name.startswith("history"):
            assert response.headers["cache-control"] == "no-cache", name
        else:
            # Kept briefly by shared caches, and purged by the story's key (the redaction's).
            assert "s-maxage=" in response.headers["cache-control"], name
            assert f"liveblog-story-{SLUG}" in response.headers["surrogate-key"].split(), name
        assert_no_trace(response.text, name)

    for name in ("older", "permalink"):
        (tombstone,) = tombstones((await client.get(pages[name])).text)
        assert "Removed for legal reasons on" in tombstone and NOTE in tombstone and BASIS in tombstone
        assert f'aria-labelledby="update-{target["id"]}-removed"' in tombstone
        assert f'<h3 class="tombstone-heading" id="update-{target["id"]}-removed">' in tombstone
    permalink = (await client.get(pages["permalink"])).text
    assert "<title>Removed for legal reasons on" in permalink
    # Every past version at which the update was on the first page shows its tombstone in
    # its place (it is the oldest of 2 + (n - 6) updates, 20 to a page).
    for n in range(3, 25):
        as_of = (await client.get(pages[f"history at {n}"])).text
        assert len(tombstones(as_of)) == 1, n

    history = (await client.get(pages["history"])).text
    changes = re.findall(r'<li class="change.*?</li>', history, flags=re.S)
    removed = [change for change in changes if "Update removed for legal reasons" in change]
    # Posted, corrected, flagged, redacted: when and what kind each was, with no text.
    assert len(removed) == 4
    assert sum("tombstone" in change for change in removed) == 1
    assert not any("<del>" in change or "<ins>" in change for change in removed)


async def test_past_responses_are_cached_for_a_bounded_time_and_revalidate_after_a_redaction(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str]
) -> None:
    target, version = await write_the_secret(client, editor)
    before = await client.get(BASE, params={"at_version": 3})
    assert SECRET in before.text
    cache_control = before.headers["cache-control"]
    assert cache_control == "public, max-age=60, s-maxage=3600, must-revalidate"
    assert "immutable" not in cache_control
    assert before.headers["surrogate-key"] == before.headers["cache-tag"] == f"liveblog-story-{SLUG}"
    tag = before.headers["etag"]
    assert tag.startswith('"3.')
    cached = await client.get(BASE, params={"at_version": 3}, headers={"If-None-Match": tag})
    assert cached.status_code == 304 and cached.headers["cache-control"] == cache_control
    staff = await client.get(BASE, params={"at_version": 3}, headers=editor)
    assert staff.headers["cache-control"] == "private, no-store"
    assert "surrogate-key" not in staff.headers

    history = f"{BASE}/updates/{target['id']}/history"
    page = await client.get(history, params={"limit": 1})
    assert page.json()["next"] and SECRET in page.text
    assert page.headers["surrogate-key"] == f"liveblog-story-{SLUG} liveblog-update-{target['id']}"

    await redact(client, admin, target["id"])
    # A cache revalidating what it kept gets the tombstone, never a 304 that keeps the text.
    after = await client.get(BASE, params={"at_version": 3}, headers={"If-None-Match": tag})
    assert after.status_code == 200 and after.headers["etag"] != tag
    assert_no_trace(after.text, "as of version 3")
    again = await client.get(history, params={"limit": 1}, headers={"If-None-Match": page.headers["etag"]})
    assert again.status_code == 200
    assert_no_trace(again.text, "update history")
    for n in range(1, version + 2):
        assert_no_trace((await client.get(BASE, params={"at_version": n})).text, f"as of version {n}")


def sqlite_files(database: Database) -> list[Path]:
    main = Path(database.url.split("///", 1)[1])
    return [path for path in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if path.exists()]


async def tables_holding(database: Database, needle: str) -> dict[str, int]:
    """Every table of the schema, searched row by row as text (PostgreSQL)."""
    found = {}
    async with database.read() as connection:
        names = (
            await connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            )
        ).scalars()
        for name in list(names):
            count = (
                await connection.execute(
                    text(f'SELECT count(*) FROM "{name}" AS t WHERE t::text ILIKE :needle'),
                    {"needle": f"%{needle}%"},
                )
            ).scalar_one()
            if count:
                found[name] = int(count)
    return found


async def holding(database: Database, needle: str) -> list[str]:
    if database.is_sqlite:
        return [
            path.name
            for path in sqlite_files(database)
            if needle.lower().encode() in path.read_bytes().lower()
        ]
    return sorted(await tables_holding(database, needle))


async def test_the_database_holds_no_trace_of_the_text_after_a_redaction(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    admin: dict[str, str],
    database: Database,
) -> None:
    target, _ = await write_the_secret(client, editor)
    # Replayable with its key: the stored response holds the text too, until the redaction.
    keyed = await client.post(
        f"{BASE}/updates",
        json={"body": f"Again, {SECRET}."},
        headers={**editor, "Idempotency-Key": "post-the-name"},
    )
    assert keyed.status_code == 201
    assert await holding(database, SECRET)  # the search finds what it looks for

    await redact(client, admin, target["id"])
    await redact(client, admin, keyed.json()["id"])
    assert await holding(database, SECRET) == []
    replayed = await client.post(
        f"{BASE}/updates",
        json={"body": f"Again, {SECRET}."},
        headers={**editor, "Idempotency-Key": "post-the-name"},
    )
    assert_no_trace(replayed.text, "the idempotent replay")


async def test_a_redacted_update_keeps_its_place_among_the_others(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str]
) -> None:
    await open_story(client, editor)
    first = await post_update(client, editor, body="First.")
    middle: dict[str, Any] = await post_update(client, editor, body=f"Middle, naming {SECRET}.", pinned=True)
    last = await post_update(client, editor, body="Last.")
    await redact(client, admin, middle["id"])
    page = (await client.get(f"/stories/{SLUG}")).text
    order = [m.group(1) for m in re.finditer(r'<article class="update[^"]*" id="update-([^"]+)"', page)]
    assert order == [last["id"], middle["id"], first["id"]]  # not pinned any more: in the list
    assert_no_trace(page, "live page")
