"""An event stored in an older schema: read in today's shape by the API, the command handler
and a rebuild, shown and hashed in its stored form by the log and the export, verified.

No event type has changed shape yet, so the test registers an upcaster of its own through
the registry: a "schema 0" of UpdatePosted that called the body ``text``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from liveblog.audit.verify import verify_database
from liveblog.domain.upcasting import UPCASTERS
from liveblog.domain.values import rfc3339
from liveblog.projections import rebuild
from liveblog.store import event_store
from liveblog.store.chain import event_hash
from liveblog.store.database import Database
from liveblog.store.tables import events
from tests.api.helpers import open_story, post_update

SLUG = "border-raid"
OLD_BODY = "Written by a liveblog of long ago."
ACTOR = {"id": "desk", "name": "Desk", "role": "editor"}


def text_to_body(data: dict[str, Any]) -> dict[str, Any]:
    data["body"] = data.pop("text")
    return data


@pytest.fixture
def body_was_text() -> Iterator[None]:
    UPCASTERS.register("UpdatePosted", 0)(text_to_body)
    yield
    UPCASTERS.unregister("UpdatePosted", 0)


async def store_old_post(database: Database) -> dict[str, Any]:
    """Append, with plain SQL, an UpdatePosted as schema 0 wrote it; returns its stored data."""
    now = datetime.now(UTC)
    data = {
        "at": rfc3339(now),
        "update_id": "old-post",
        "text": OLD_BODY,
        "author": "Desk",
        "sources": [],
        "key_event": False,
        "pinned": False,
        "media": [],
    }
    async with database.write(SLUG) as connection:
        head = (await event_store.read_stream(connection, SLUG, newest=1))[0]
        version = head.version + 1
        digest = event_hash(
            story=SLUG,
            version=version,
            type="UpdatePosted",
            schema=0,
            data=data,
            actor=ACTOR,
            recorded_at=now,
            prev_hash=head.hash,
        )
        await connection.execute(
            insert(events).values(
                stream=SLUG,
                version=version,
                type="UpdatePosted",
                schema=0,
                data=data,
                meta={"actor": ACTOR},
                recorded_at=now,
                hash=digest,
                prev_hash=head.hash,
            )
        )
    return data


async def test_an_old_schema_reads_in_todays_shape_and_still_verifies(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    database: Database,
    body_was_text: None,
) -> None:
    await open_story(client, editor)
    stored = await store_old_post(database)
    await rebuild.rebuild(database)

    update = await client.get(f"/api/v1/stories/{SLUG}/updates/old-post")
    assert update.status_code == 200, update.text
    assert update.json()["body"] == OLD_BODY

    # The command handler reads it too: the story goes on from it, chained to its hash.
    await post_update(client, editor, body="Written today.")
    corrected = await client.post(
        f"/api/v1/stories/{SLUG}/updates/old-post/corrections",
        json={"changes": {"body": "Corrected today."}, "kind": "minor", "reason": "style"},
        headers=editor,
    )
    assert corrected.status_code == 200, corrected.text
    assert await rebuild.check(database) == []

    # The log itself shows the row as stored: schema 0, the body under `text`.
    log = (await client.get(f"/api/v1/stories/{SLUG}/events", headers=auditor)).json()["items"]
    old = next(item for item in log if item["data"].get("update_id") == "old-post")
    assert (old["type"], old["schema"], old["data"]) == ("UpdatePosted", 0, stored)

    # The hash covers that stored form, not the upcast one, and the whole log verifies.
    common = {
        "story": SLUG,
        "version": old["version"],
        "type": "UpdatePosted",
        "schema": 0,
        "actor": ACTOR,
        "recorded_at": datetime.fromisoformat(old["recorded_at"]),
        "prev_hash": old["prev_hash"],
    }
    assert event_hash(**common, data=stored) == old["hash"]
    assert event_hash(**common, data=text_to_body(dict(stored))) != old["hash"]
    result = await verify_database(database, SLUG)
    assert result.ok, result.message
    assert result.events == len(log)


async def test_without_its_upcaster_an_old_schema_fails_verification_loudly(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    await store_old_post(database)

    result = await verify_database(database, SLUG)

    assert not result.ok
    assert result.first_bad_version == 3
    assert "schema 0 is not that of UpdatePosted events" in result.message
