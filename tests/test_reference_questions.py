"""The four questions of docs/reference-story.md, answered from the log through the public API."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import httpx
import pytest

from liveblog import demo
from liveblog.application import Application
from liveblog.audit.signing import verify_signature
from liveblog.store.chain import GENESIS, event_hash

BASE = f"/api/v1/stories/{demo.SLUG}"


@pytest.fixture
async def ids(application: Application) -> dict[str, str]:
    return await demo.play(application.database, signer=application.signer)


async def all_events(client: httpx.AsyncClient, auditor: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = 0
    while True:
        page = (
            await client.get(f"{BASE}/events", params={"after": after, "limit": 10}, headers=auditor)
        ).json()
        items += page["items"]
        if page["next"] is None:
            return items
        after = int(page["next"])


async def test_what_the_page_said_at_half_past_four_local_time(
    client: httpx.AsyncClient, ids: dict[str, str]
) -> None:
    response = await client.get(BASE, params={"as_of": "2023-06-04T16:30:00+03:00"})
    assert response.status_code == 200
    page = response.json()
    assert page["title"] == "Fighters say they hold two Russian soldiers captive in Belgorod region"
    assert [u["id"] for u in page["updates"]] == [ids["deadline"], ids["claim"]]
    deadline = page["updates"][0]
    assert "before 5 p.m. GMT" in deadline["body"] and deadline["notes"] == []
    assert page["pinned"] == [] and page["status"] == "live"
    same_moment = await client.get(BASE, params={"at_version": page["version"]})
    assert same_moment.content == response.content


async def test_who_changed_the_deadline_when_from_what_to_what_and_what_readers_saw(
    client: httpx.AsyncClient, auditor: dict[str, str], ids: dict[str, str]
) -> None:
    path = f"{BASE}/updates/{ids['deadline']}/history"
    audited = (await client.get(path, headers=auditor)).json()["items"]
    correction = audited[1]
    assert [r["kind"] for r in audited][:2] == ["posted", "correction"]
    assert correction["actor"]["name"] == demo.DESK.name
    assert correction["at"] == "2023-06-04T13:34:00Z"  # 16:34 in Belgorod
    assert correction["reason"].startswith("Deadline converted to GMT by mistake")
    deleted = "".join(s["text"] for s in correction["diff"]["body"] if s["op"] == "delete")
    inserted = "".join(s["text"] for s in correction["diff"]["body"] if s["op"] == "insert")
    assert "5 p.m." in deleted and "17:00 local time (14:00" in inserted
    assert "5 p.m. GMT" in correction["changes"]["body"]["from"]
    assert "17:00 local time" in correction["changes"]["body"]["to"]

    public = (await client.get(path)).json()["items"][1]
    assert public["note"] == correction["note"] and "5 p.m. GMT" in public["note"]
    assert "actor" not in public and "reason" not in public


async def test_which_updates_were_ever_retracted_and_what_they_said_before(
    client: httpx.AsyncClient, auditor: dict[str, str], ids: dict[str, str]
) -> None:
    retracted = [
        e["data"]["update_id"] for e in await all_events(client, auditor) if e["type"] == "UpdateRetracted"
    ]
    assert retracted == [ids["duplicate"]]
    revisions = (await client.get(f"{BASE}/updates/{ids['duplicate']}/history")).json()["items"]
    assert revisions[0]["kind"] == "posted" and revisions[0]["body"].startswith("Ukraine denies")
    assert revisions[-1]["kind"] == "retraction" and revisions[-1]["body"] == revisions[0]["body"]


async def test_nobody_rewrote_the_log_since_the_end_of_day_checkpoint(
    client: httpx.AsyncClient, auditor: dict[str, str], ids: dict[str, str]
) -> None:
    checkpoint = (await client.get(f"{BASE}/checkpoint")).json()
    assert checkpoint["signed_at"] == "2023-06-04T20:30:00Z"  # taken as the story closed
    keys = {
        k["id"]: base64.b64decode(k["public_key"]) for k in (await client.get("/api/v1/keys")).json()["items"]
    }
    assert verify_signature(keys[checkpoint["key_id"]], checkpoint)

    events = await all_events(client, auditor)
    previous = GENESIS
    for event in events:
        assert event["prev_hash"] == previous
        recomputed = event_hash(
            story=demo.SLUG,
            version=event["version"],
            type=event["type"],
            schema=event["schema"],
            data=event["data"],
            actor=event["actor"],
            recorded_at=datetime.fromisoformat(event["recorded_at"]),
            prev_hash=previous,
            salts=event.get("salts"),
        )
        assert recomputed == event["hash"], event["version"]
        previous = event["hash"]
    assert events[checkpoint["version"] - 1]["hash"] == checkpoint["head_hash"]
    assert checkpoint["version"] == len(events)
