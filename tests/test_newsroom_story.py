"""The reference story (docs/reference-story.md) played as a newsroom plays it, through the
HTTP API (issue 15, "Done when"): a field reporter submits the captives update and an editor
approves it with an edit; the governor's reply is scheduled in advance and published by the
scheduler; one update carries an uploaded image with alt text, another a Telegram post
embed. Readers never see the queue or the schedule before publication, and the whole log
exports and verifies with both verifiers.

The demo (``liveblog serve --demo``) plays the same story with the desk alone, at the times
of the day it happened; this test plays it now, so that the scheduler really waits.
"""

from __future__ import annotations

import asyncio
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from liveblog_client.audit import verifier as client_verifier
from PIL import Image

from liveblog.api.services import Services
from liveblog.audit.verify import parse_lines, verify
from liveblog.config import Settings
from liveblog.projections import rebuild
from liveblog.scheduler import Scheduler
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.conftest import make_token

SLUG = "belgorod-captive-soldiers"
STORY = f"/api/v1/stories/{SLUG}"
TELEGRAM_POST = "https://t.me/legionoffreedom/2183"
CAPTIVES = "The video shows the two captives. One of them seems to be wounded."
REPLY = "Gladkov agrees to meet the group at the Shebekino checkpoint if the soldiers are alive."


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    """The scheduler is driven by the test (``Scheduler.fire_due``), not a background task."""
    return Settings(
        database_url=database.url,
        signing_key_path=tmp_path / "signing.key",
        media_dir=tmp_path / "media",
        write_rate_per_minute=1_000_000,
        write_burst=1_000_000,
        checkpoint_within_seconds=3600,
        scheduler=False,
        schedule_skew_seconds=0.5,
    )


def _map_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (900, 600), (40, 90, 60)).save(out, "PNG")
    return out.getvalue()


async def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def test_the_reference_story_played_by_a_newsroom_verifies_end_to_end(
    client: httpx.AsyncClient, database: Database, services: Services, editor: dict[str, str]
) -> None:
    reporter = {"Authorization": f"Bearer {await make_token(database, Role.CONTRIBUTOR, 'Field Reporter')}"}
    auditor = {"Authorization": f"Bearer {await make_token(database, Role.AUDITOR, 'Auditor')}"}

    async def post(**body: Any) -> dict[str, Any]:
        return await _ok(await client.post(f"{STORY}/updates", json=body, headers=editor), 201)

    # 1. The story, opened as a draft and published.
    await _ok(
        await client.post(
            "/api/v1/stories",
            json={"title": "Fighters say they hold two Russian soldiers captive", "slug": SLUG},
            headers=editor,
        ),
        201,
    )
    await _ok(await client.post(f"{STORY}/publish", headers=editor), 200)
    # 2. The claim, with the fighters' Telegram post as an embed.
    claim = await post(
        body="Two armed groups say they have captured two Russian soldiers.",
        sources=[{"name": "Freedom of Russia Legion, Telegram channel"}],
        verification={"status": "unverified"},
        media=[{"kind": "embed", "url": TELEGRAM_POST, "caption": "The groups' post"}],
    )
    assert claim["media"][0]["provider"] == "telegram"
    # 3. The deadline, a key event, with an uploaded map (alt text required), then corrected.
    upload = await client.post(
        "/api/v1/media", files={"file": ("map.png", _map_png(), "image/png")}, headers=editor
    )
    image = await _ok(upload, 201)
    deadline = await post(
        body="A man who says he commands the Russian Volunteer Corps sets a deadline of 5 p.m. GMT.",
        title="Fighters set the governor a deadline",
        key_event=True,
        media=[{"kind": "image", "id": image["id"], "alt": "Map of the Belgorod border villages"}],
    )
    corrected = await client.post(
        f"{STORY}/updates/{deadline['id']}/corrections",
        json={
            "changes": {"body": "A man who says he commands the Russian Volunteer Corps sets a deadline of "
                        "17:00 local time (14:00 GMT)."},
            "kind": "correction",
            "reason": "Deadline converted to GMT by mistake.",
            "note": "An earlier version said 5 p.m. GMT; it was 17:00 local time.",
        },
        headers={**editor, "If-Match": f'"{deadline["revision"]}"'},
    )  # fmt: skip
    await _ok(corrected, 200)

    # 5. The captives: the field reporter submits, readers see nothing, an editor approves with an edit.
    submission = await _ok(
        await client.post(
            f"{STORY}/submissions",
            json={
                "body": CAPTIVES + " He lies on an operating table.",
                "title": "Video of the captives",
                "verification": {"status": "unverified"},
            },
            headers=reporter,
        ),
        201,
    )
    assert "operating table" not in (await client.get(STORY)).text
    approved = await _ok(
        await client.post(
            f"{STORY}/submissions/{submission['id']}/approval",
            json={
                "changes": {"body": CAPTIVES + " He is lying on an operating table.", "title": "The captives"}
            },
            headers=editor,
        ),
        201,
    )
    assert approved["author"]["name"] == "Field Reporter"
    assert approved["title"] == "The captives"
    rival = await client.post(f"{STORY}/submissions/{submission['id']}/approval", headers=editor)
    assert rival.status_code == 409, rival.text

    # 6-9. The ministry, no reaction yet, the denial, and a duplicate retracted.
    await post(body="Russia's defence ministry says its artillery pushed back the attempt.")
    await post(body="There has been no immediate response from Gladkov or from Moscow.")
    await post(body="Ukraine denies that it is directly involved.")
    duplicate = await post(body="Ukraine denies that it is directly involved.")
    await _ok(
        await client.post(
            f"{STORY}/updates/{duplicate['id']}/retraction",
            json={"reason": "Posted twice.", "note": "Duplicate of an earlier update."},
            headers=editor,
        ),
        200,
    )

    # 10. The governor's reply, prepared in advance and published by the scheduler.
    publish_at = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
    item = await _ok(
        await client.post(
            f"{STORY}/updates",
            json={"body": REPLY, "title": "Governor replies", "key_event": True, "pinned": True,
                  "publish_at": publish_at},
            headers=editor,
        ),
        202,
    )  # fmt: skip
    assert REPLY not in (await client.get(STORY)).text
    scheduler = Scheduler(services.application)
    for _ in range(300):  # until it is due (the scheduler refuses to fire early)
        if await scheduler.fire_due():
            break
        await asyncio.sleep(0.1)
    reply = await _ok(await client.get(f"{STORY}/updates/{item['id']}"), 200)
    assert reply["pinned"] and reply["key_event"] and reply["title"] == "Governor replies"
    assert await scheduler.fire_due() == []  # exactly once

    # 11-16. Retitle, close.
    header = await _ok(await client.get(STORY), 200)
    await _ok(
        await client.patch(
            STORY,
            json={"title": "Governor says he is ready to meet the group holding the soldiers"},
            headers={**editor, "If-Match": f'"{header["revision"]}"'},
        ),
        200,
    )
    await _ok(await client.post(f"{STORY}/close", headers=editor), 200)

    # What readers see: every published update, the approved one and the scheduled one included.
    story = await _ok(await client.get(STORY), 200)
    bodies = [update["body"] for update in story["updates"]]
    assert any("He is lying on an operating table." in body for body in bodies)
    assert story["pinned"][0]["id"] == item["id"]
    page = (await client.get(f"/stories/{SLUG}")).text
    assert 'alt="Map of the Belgorod border villages"' in page
    assert "Load content from Telegram" in page and "He lies on an operating table" not in page

    # The auditor's export: the queue, the schedule, the image and the embed are in the log,
    # and both verifiers accept it.
    await _ok(await client.post(f"{STORY}/checkpoint", headers=auditor), 200)
    exported = await client.get(f"{STORY}/events", headers={**auditor, "Accept": "application/x-ndjson"})
    assert exported.status_code == 200, exported.text
    lines = exported.content.splitlines()
    records = [json.loads(line) for line in lines[1:]]
    types = [record.get("type") for record in records]
    for needed in ("UpdateSubmitted", "SubmissionApproved", "UpdateScheduled"):
        assert needed in types, types
    fired = [r for r in records if r.get("type") == "UpdatePosted" and r["data"].get("scheduled_id")]
    assert [r["data"]["update_id"] for r in fired] == [item["id"]]
    assert any(m.get("id") == image["id"] for r in records for m in r.get("data", {}).get("media", []))
    result = verify(parse_lines(lines))
    assert result.ok, result.message
    independent = client_verifier.verify(lines)
    assert independent.ok, independent.summary()
    assert await rebuild.check(database) == []
