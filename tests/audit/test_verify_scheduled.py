"""A log with scheduled posts and update headlines verifies with both verifiers (the server's
``liveblog audit verify`` and the Python client's), redaction included; a forged fire
(twice, late mark wrong, cancelled item) is refused by both (issue 15)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from liveblog_client.audit.verifier import verify as client_verify

from liveblog.application import Application
from liveblog.audit import verify as verifier
from liveblog.audit.signing import Signer, raw_public_key
from liveblog.config import Settings
from liveblog.domain import commands as c
from liveblog.scheduler import SCHEDULER
from liveblog.store.database import Database
from liveblog.store.idempotency import StoredResponse
from tests.audit import attacker, events_of, forge, run_cli

SLUG = "governor-reply"
FORGED = "governor-forged"


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database.url,
        signing_key_path=tmp_path / "signing.key",
        write_rate_per_minute=1_000_000,
        write_burst=1_000_000,
        checkpoint_within_seconds=3600,
        scheduler=False,
    )


def ahead(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


async def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


async def play(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    admin: dict[str, str],
    application: Application,
    slug: str,
    *,
    redact: bool,
) -> None:
    BASE = f"/api/v1/stories/{slug}"
    await _ok(
        await client.post("/api/v1/stories", json={"title": "The reply", "slug": slug}, headers=editor), 201
    )
    publication = await _ok(
        await client.post(f"{BASE}/publish", json={"publish_at": ahead(hours=1)}, headers=editor), 202
    )
    await _ok(await client.post(f"{BASE}/scheduled/{publication['id']}/publication", headers=editor), 200)
    first = await _ok(
        await client.post(
            f"{BASE}/updates",
            json={"body": "Soon.", "title": "Reply", "publish_at": ahead(hours=1)},
            headers=editor,
        ),
        202,
    )
    await _ok(
        await client.patch(
            f"{BASE}/scheduled/{first['id']}", json={"publish_at": ahead(hours=2)}, headers=editor
        ),
        200,
    )
    dropped = await _ok(
        await client.post(
            f"{BASE}/updates", json={"body": "Never.", "publish_at": ahead(hours=1)}, headers=editor
        ),
        202,
    )
    await _ok(await client.post(f"{BASE}/scheduled/{dropped['id']}/cancellation", headers=editor), 200)
    await _ok(await client.post(f"{BASE}/scheduled/{first['id']}/publication", headers=editor), 201)
    due = await _ok(
        await client.post(
            f"{BASE}/updates", json={"body": "Due.", "publish_at": ahead(seconds=6)}, headers=editor
        ),
        202,
    )
    # The scheduler of a server whose clock runs a minute ahead: published late.
    late = Application(
        application.database,
        signer=application.signer,
        clock=lambda: datetime.now(UTC) + timedelta(minutes=1),
    )
    await late.handle(
        c.FireSchedule(story=slug, schedule_id=due["id"], at=late.clock()),
        SCHEDULER,
        lambda _state: StoredResponse(status=204, headers={}, body=""),
    )
    titled = await _ok(
        await client.post(f"{BASE}/updates", json={"body": "Titled.", "title": "A headline"}, headers=editor),
        201,
    )
    await _ok(
        await client.post(
            f"{BASE}/updates/{titled['id']}/corrections",
            json={"changes": {"title": ""}, "kind": "minor", "reason": "no headline"},
            headers=editor,
        ),
        200,
    )
    if redact:
        redaction = {"legal_basis": "court order", "note": "Removed.", "reason": "order"}
        await _ok(
            await client.post(f"{BASE}/updates/{first['id']}/redaction", json=redaction, headers=admin), 200
        )


async def test_a_log_with_scheduled_posts_and_titles_verifies_with_both_verifiers(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    admin: dict[str, str],
    application: Application,
    database: Database,
    tmp_path: Path,
) -> None:
    await play(client, editor, admin, application, SLUG, redact=True)
    await play(client, editor, admin, application, FORGED, redact=False)
    keys = tmp_path / "keys.json"
    keys.write_bytes((await client.get("/api/v1/keys")).content)
    exported = await asyncio.to_thread(run_cli, database.url, tmp_path, "audit", "export", SLUG)
    assert exported.exit_code == 0, exported.output
    path = tmp_path / "export.ndjson"
    path.write_bytes(exported.stdout_bytes)
    lines = [json.loads(line) for line in exported.stdout_bytes.splitlines()]
    unredacted = await asyncio.to_thread(run_cli, database.url, tmp_path, "audit", "export", FORGED)
    assert unredacted.exit_code == 0, unredacted.output
    types = [line["type"] for line in events_of(lines)]
    for kind in ("PublicationScheduled", "UpdateScheduled", "ScheduleChanged", "ScheduleCancelled"):
        assert kind in types
    [late] = [e for e in events_of(lines) if e["type"] == "UpdatePosted" and e["data"].get("late")]
    assert late["data"]["scheduled_for"] and late["actor"]["id"] == SCHEDULER.id

    server = await asyncio.to_thread(
        run_cli, database.url, tmp_path, "audit", "verify", str(path), "--key", str(keys)
    )
    assert server.exit_code == 0, server.output
    verdict = client_verify(exported.stdout_bytes.splitlines(keepends=True))
    assert verdict.ok, verdict.summary()
    assert verdict.redactions  # the scheduled update's events lost their text too

    # Forged logs (of the story without a redaction, re-signed): refused by both.
    signer = attacker()
    plain = [json.loads(line) for line in unredacted.stdout_bytes.splitlines()]
    head = [len(events_of(plain))]
    assert verifier.verify(forge(plain, events_of(plain), signer, at=head), trusted_keys=_trust(signer)).ok

    def drop_late(copy: list[dict[str, Any]]) -> None:
        for event in copy:
            if event["data"].get("late"):
                del event["data"]["late"]

    def fire_cancelled(copy: list[dict[str, Any]]) -> None:
        cancelled = next(e for e in copy if e["type"] == "ScheduleCancelled")["data"]["schedule_id"]
        target = next(e for e in copy if e["type"] == "UpdatePosted" and "late" in e["data"])
        scheduled = next(
            e for e in copy if e["type"] == "UpdateScheduled" and e["data"]["update_id"] == cancelled
        )
        target["data"].update(
            update_id=cancelled, scheduled_id=cancelled, scheduled_for=scheduled["data"]["publish_at"]
        )

    def fire_twice(copy: list[dict[str, Any]]) -> None:
        posted = next(e for e in copy if e["type"] == "UpdatePosted" and "late" in e["data"])
        copy.append(json.loads(json.dumps(posted)))

    for change in (drop_late, fire_cancelled, fire_twice):
        copy = json.loads(json.dumps(events_of(plain)))
        change(copy)
        forged = forge(plain, copy, signer, at=[len(copy)])
        result = verifier.verify(forged, trusted_keys=_trust(signer))
        assert not result.ok and "rules" in result.message, (change.__name__, result.message)
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in forged).encode()
        client = client_verify(data.splitlines(keepends=True))
        assert not client.ok and "scheduled" in client.summary(), (change.__name__, client.summary())


def _trust(signer: Signer) -> dict[str, bytes]:
    return {signer.key_id: raw_public_key(signer.public_key)}
