"""Redaction (issue 12): the text of an update is gone from every surface, the log still verifies.

Each test runs on SQLite and on PostgreSQL. The text is distinctive, so that a search for it
anywhere (every API answer, every row of every table) proves it is gone.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import rfc8785
from liveblog_client.audit import verifier as client_verifier
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from liveblog.application import Application
from liveblog.audit.verify import parse_lines, verify, verify_database
from liveblog.domain.redaction import redacted_data
from liveblog.projections import rebuild
from liveblog.store import event_store, snapshots
from liveblog.store.chain import commitment, event_hash
from liveblog.store.database import Database
from liveblog.store.tables import events, metadata
from tests.api.helpers import assert_problem, event_count, open_story
from tests.audit import run_cli

SECRET = "Zyxwvut Quillfeather"
REASON = "injunction Qx7-internal-only"
SLUG = "border-raid"
REDACTION = {
    "legal_basis": "court order 2026/123",
    "note": "Removed on the order of the district court.",
    "reason": REASON,
}
REFUSED = (IntegrityError, DBAPIError)


async def _export(client: httpx.AsyncClient, auditor: dict[str, str]) -> bytes:
    response = await client.get(
        f"/api/v1/stories/{SLUG}/events", headers={**auditor, "Accept": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    return response.content


def _lines(export: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export.splitlines()]


async def _story_with_secret(client: httpx.AsyncClient, editor: dict[str, str]) -> dict[str, Any]:
    """A live story whose update ``u`` names SECRET in every text it has, posted with an
    Idempotency-Key; another update, and a story-level answer (with the update) stored too."""
    await open_story(client, editor)
    posted = await client.post(
        f"/api/v1/stories/{SLUG}/updates",
        json={
            "body": f"{SECRET} was seen at the checkpoint.",
            "byline": f"Tip from {SECRET}",
            "sources": [{"name": f"{SECRET}'s neighbour", "url": "https://example.org/quillfeather"}],
            "media": [{"kind": "image", "url": "https://example.org/q.jpg", "caption": f"{SECRET} at dawn"}],
            "verification": {"status": "unverified", "note": f"{SECRET} not reachable"},
            "pinned": True,
        },
        headers={**editor, "Idempotency-Key": "post-secret"},
    )
    assert posted.status_code == 201, posted.text
    update = dict(posted.json())
    base = f"/api/v1/stories/{SLUG}/updates/{update['id']}"
    corrected = await client.post(
        f"{base}/corrections",
        json={
            "changes": {"body": f"{SECRET} was seen near the checkpoint."},
            "kind": "correction",
            "reason": f"{SECRET} called us",
            "note": f"We misplaced {SECRET}.",
        },
        headers=editor,
    )
    assert corrected.status_code == 200, corrected.text
    verified = await client.put(
        f"{base}/verification", json={"status": "disputed", "note": f"{SECRET} denies"}, headers=editor
    )
    assert verified.status_code == 200, verified.text
    other = await client.post(
        f"/api/v1/stories/{SLUG}/updates", json={"body": "Another update."}, headers=editor
    )
    assert other.status_code == 201
    closed = await client.post(
        f"/api/v1/stories/{SLUG}/close", headers={**editor, "Idempotency-Key": "close-story"}
    )
    assert closed.status_code == 200, closed.text
    assert SECRET in closed.text  # a story's answer holds its updates
    return update


async def _redact(
    client: httpx.AsyncClient, headers: dict[str, str], update_id: str, **extra: str
) -> httpx.Response:
    return await client.post(
        f"/api/v1/stories/{SLUG}/updates/{update_id}/redaction", json=REDACTION, headers={**headers, **extra}
    )


async def _every_row(database: Database) -> str:
    """Every row of every table, as text."""
    found = []
    async with database.read() as connection:
        for table in metadata.sorted_tables:
            rows = await connection.execute(select(table))
            found.append(f"{table.name}: {[tuple(row) for row in rows]}")
    return "\n".join(found)


async def test_a_redacted_update_leaves_no_trace_and_the_log_still_verifies(
    client: httpx.AsyncClient,
    database: Database,
    application: Application,
    editor: dict[str, str],
    auditor: dict[str, str],
    admin: dict[str, str],
) -> None:
    update = await _story_with_secret(client, editor)
    before = await _export(client, auditor)
    assert SECRET in before.decode()
    kept = (await client.get(f"/api/v1/stories/{SLUG}/checkpoint")).json()

    response = await _redact(client, admin, update["id"])
    assert response.status_code == 200, response.text
    redacted = response.json()
    assert redacted["status"] == "redacted"
    assert (redacted["body"], redacted["body_html"], redacted["byline"]) == ("", "", None)
    assert (redacted["sources"], redacted["media"], redacted["notes"]) == ([], [], [])
    assert redacted["redaction"]["legal_basis"] == "court order 2026/123"
    assert redacted["redaction"]["note"] == REDACTION["note"]
    assert set(redacted["redaction"]) == {"at", "legal_basis", "note"}

    # Every reader surface, and the auditor's: no trace of the text (nor of the internal reason).
    base = f"/api/v1/stories/{SLUG}"
    answers = [
        await client.get(base),
        await client.get(f"{base}/updates/{update['id']}"),
        await client.get(f"{base}/updates/{update['id']}/history"),
        await client.get(f"{base}/updates/{update['id']}/history", headers=auditor),
        await client.get(f"{base}/revisions"),
        await client.get(f"{base}/events?limit=1000", headers=auditor),
    ]
    head = (await client.get(base)).json()["version"]
    # As of every version (staff: version 1 was a draft), and as readers see the published past.
    answers += [await client.get(f"{base}?at_version={v}", headers=auditor) for v in range(1, head + 1)]
    answers += [await client.get(f"{base}?at_version={v}") for v in range(2, head + 1)]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert SECRET not in answer.text
    assert all(REASON not in answer.text for answer in answers[:3] + answers[4:5] + answers[6:])
    as_of = [answer.json() for answer in answers[6:]]
    shown = [u for story in as_of for u in story["updates"] if u["id"] == update["id"]]
    assert shown and all(u["status"] == "redacted" and "redaction" in u for u in shown)
    after = await _export(client, auditor)
    assert SECRET not in after.decode()

    # A retry of the original POST gets the tombstone, and posts nothing.
    count = await event_count(database)
    retried = await client.post(
        f"{base}/updates",
        json={
            "body": f"{SECRET} was seen at the checkpoint.",
            "byline": f"Tip from {SECRET}",
            "sources": [{"name": f"{SECRET}'s neighbour", "url": "https://example.org/quillfeather"}],
            "media": [{"kind": "image", "url": "https://example.org/q.jpg", "caption": f"{SECRET} at dawn"}],
            "verification": {"status": "unverified", "note": f"{SECRET} not reachable"},
            "pinned": True,
        },
        headers={**editor, "Idempotency-Key": "post-secret"},
    )
    assert retried.status_code == 201 and retried.json()["status"] == "redacted"
    assert SECRET not in retried.text
    assert await event_count(database) == count

    # Not a row of any table holds it: events, snapshots, records, read models.
    assert SECRET not in await _every_row(database)
    assert "Quillfeather" not in await _every_row(database)

    # The new export verifies and names the gap; the old one still verifies on its own; the
    # checkpoint signed before the redaction is consistent with the new log.
    result = verify(parse_lines(after.splitlines()), kept_checkpoint=kept)
    assert result.ok, result.message
    events_of_update = [
        line["version"]
        for line in _lines(before)[1:]
        if line.get("data", {}).get("update_id") == update["id"]
    ]
    redaction_version = head
    assert result.redactions == tuple(
        f"version {version} redacted by version {redaction_version} (court order 2026/123)"
        for version in events_of_update
    )
    old = verify(parse_lines(before.splitlines()))
    assert old.ok, old.message
    # The Python client's verifier, written independently from docs/audit-format.md, agrees.
    independent = client_verifier.verify(
        after.splitlines(), kept=client_verifier.parse_checkpoint(json.dumps(kept).encode())
    )
    assert independent.ok, independent.summary()
    assert independent.redactions == result.redactions
    assert client_verifier.verify(before.splitlines()).ok
    assert (await verify_database(database, SLUG)).ok
    assert await rebuild.check(database) == []


async def test_only_an_admin_redacts_once_and_only_an_update_that_exists(
    client: httpx.AsyncClient, database: Database, editor: dict[str, str], admin: dict[str, str]
) -> None:
    update = await _story_with_secret(client, editor)
    count = await event_count(database)
    assert_problem(await _redact(client, editor, update["id"]), 403)
    assert await event_count(database) == count
    assert_problem(await _redact(client, admin, "nosuchupdate"), 404)
    first = await _redact(client, admin, update["id"], **{"Idempotency-Key": "redact-1"})
    assert first.status_code == 200
    again = await _redact(client, admin, update["id"], **{"Idempotency-Key": "redact-1"})
    assert again.status_code == 200 and again.text == first.text  # the same key: the same answer
    assert_problem(await _redact(client, admin, update["id"]), 409)
    corrected = await client.post(
        f"/api/v1/stories/{SLUG}/updates/{update['id']}/corrections",
        json={"changes": {"body": "new"}, "kind": "minor", "reason": "r"},
        headers=editor,
    )
    assert_problem(corrected, 409)
    for missing in ("legal_basis", "note", "reason"):
        body = {name: value for name, value in REDACTION.items() if name != missing}
        answer = await client.post(
            f"/api/v1/stories/{SLUG}/updates/{update['id']}/redaction", json=body, headers=admin
        )
        assert_problem(answer, 422)


async def test_a_forged_redaction_is_detected_by_the_verifier(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], admin: dict[str, str]
) -> None:
    update = await _story_with_secret(client, editor)
    before = _lines(await _export(client, auditor))
    assert (await _redact(client, admin, update["id"])).status_code == 200
    after = _lines(await _export(client, auditor))

    def verified(lines: list[dict[str, Any]]) -> Any:
        return verify(iter(lines))

    # A redaction marker with no redaction event behind it: the other update's post.
    other = next(i for i, line in enumerate(after) if line.get("data", {}).get("body") == "Another update.")
    # Its text removed exactly as a redaction removes it, with the right commitments, so
    # that its hash still verifies: only the missing redaction event gives it away.
    line = after[other]
    kept = redacted_data(line["type"], line["data"])
    removed = {m: commitment(line["salts"][m], line["data"][m]) for m in line["data"] if m not in kept}
    forged = [dict(line) for line in after]
    forged[other] = {
        **line,
        "data": kept,
        "salts": {m: salt for m, salt in line["salts"].items() if m in kept},
        # The real redaction event, which names the other update.
        "redacted": {
            "by": next(x["version"] for x in after if x.get("type") == "UpdateRedacted"),
            "commitments": removed,
        },
    }
    result = verified(forged)
    assert not result.ok and "forged redaction" in result.message, result.message
    assert result.first_bad_version == line["version"]

    # A redaction event, but the text still there: an event line as it was before.
    posted = next(i for i, line in enumerate(before) if line.get("data", {}).get("update_id") == update["id"])
    kept_text = [dict(line) for line in after]
    kept_text[posted] = before[posted]
    result = verified(kept_text)
    assert not result.ok and "still holds the text" in result.message

    # A redacted line whose text was put back beside its marker.
    restored = [dict(line) for line in after]
    restored[posted] = {**after[posted], "data": before[posted]["data"]}
    result = verified(restored)
    assert not result.ok and result.first_bad_version == after[posted]["version"]


async def test_guessing_the_text_of_a_redacted_event_does_not_work(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], admin: dict[str, str]
) -> None:
    update = await _story_with_secret(client, editor)
    original = next(
        line
        for line in _lines(await _export(client, auditor))
        if line.get("data", {}).get("update_id") == update["id"]
    )
    assert (await _redact(client, admin, update["id"])).status_code == 200
    line = next(
        line for line in _lines(await _export(client, auditor)) if line.get("version") == original["version"]
    )
    assert "body" not in line["data"] and "body" not in line["salts"]
    guesses = [original["data"]["body"], "Someone was seen at the checkpoint.", "Nobody was seen."]

    def hashed(document: dict[str, Any], data: dict[str, Any], salts: dict[str, str] | None) -> str:
        return event_hash(
            story=SLUG,
            version=document["version"],
            type=document["type"],
            schema=document["schema"],
            data=data,
            actor=document["actor"],
            recorded_at=_moment(document["recorded_at"]),
            prev_hash=document["prev_hash"],
            salts=salts,
            removed={k: v for k, v in document["redacted"]["commitments"].items() if k not in data},
        )

    # Format 1 (data hashed as it is): a guess at the body over the other members is confirmed.
    format_1 = {**original["data"]}
    format_1_hash = event_hash(
        story=SLUG,
        version=original["version"],
        type=original["type"],
        schema=original["schema"],
        data=format_1,
        actor=original["actor"],
        recorded_at=_moment(original["recorded_at"]),
        prev_hash=original["prev_hash"],
    )
    confirmed = [
        guess
        for guess in guesses
        if event_hash(
            story=SLUG,
            version=original["version"],
            type=original["type"],
            schema=original["schema"],
            data={**format_1, "body": guess},
            actor=original["actor"],
            recorded_at=_moment(original["recorded_at"]),
            prev_hash=original["prev_hash"],
        )
        == format_1_hash
    ]
    assert confirmed == [original["data"]["body"]]

    # Format 2: without the salt no guess reproduces the commitment, or the hash...
    committed = line["redacted"]["commitments"]["body"]
    for guess in guesses:
        assert commitment(secrets.token_bytes(32).hex(), guess) != committed
        salts = {**line["salts"], "body": secrets.token_bytes(32).hex()}
        assert hashed(line, {**line["data"], "body": guess}, salts) != line["hash"]
    # ...but the court, given the original event with its salts, can prove it matches.
    assert commitment(original["salts"]["body"], original["data"]["body"]) == committed
    assert hashed(line, original["data"], original["salts"]) == line["hash"]
    assert (
        hashlib.sha256(
            rfc8785.dumps({"salt": original["salts"]["body"], "value": original["data"]["body"]})
        ).hexdigest()
        == committed
    )


def _moment(text_value: str) -> Any:
    return datetime.fromisoformat(text_value)


async def _snapshot(database: Database, application: Application, version: int) -> None:
    """Store the snapshot the application would take at ``version``."""
    async with database.write() as connection:
        state = await application.load_at(connection, SLUG, version)
        assert state is not None
        [row] = await event_store.read_stream(connection, SLUG, after=version - 1, until=version)
        await snapshots.save(connection, SLUG, version, row.hash, state.model_dump_json())


async def test_the_database_refuses_an_ordinary_change_and_a_forged_redaction(
    client: httpx.AsyncClient,
    database: Database,
    application: Application,
    editor: dict[str, str],
    admin: dict[str, str],
) -> None:
    update = await _story_with_secret(client, editor)
    # A snapshot that holds the text (taken every 100 versions; this story is shorter).
    await _snapshot(database, application, 3)
    statements = [
        "UPDATE events SET data = data WHERE version = 1",
        "DELETE FROM events WHERE version = 1",
        "DELETE FROM snapshots",
        "UPDATE idempotency_records SET body = 'x'",
        "DELETE FROM idempotency_records",
    ]
    forged = {
        "sqlite": [
            # A redaction marker with no redaction event behind it.
            """UPDATE events SET redaction = '{"by": 4}' WHERE version = 3""",
            """UPDATE idempotency_records SET body = 'x', redaction = '{"stream": "border-raid", "by": 4}'""",
        ],
        "postgresql": [
            """UPDATE events SET redaction = '{"by": 4}'::jsonb WHERE version = 3""",
            """UPDATE idempotency_records SET body = 'x',
               redaction = '{"stream": "border-raid", "by": 4}'::jsonb""",
        ],
    }
    dialect = "sqlite" if database.is_sqlite else "postgresql"
    for statement in statements + forged[dialect]:
        with pytest.raises(REFUSED):
            async with database.write() as connection:
                await connection.execute(text(statement))
    assert (await _redact(client, admin, update["id"])).status_code == 200
    async with database.read() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM snapshots"))).scalar_one() == 0
    await _snapshot(database, application, (await event_count(database)))
    after_redaction = {
        "sqlite": [
            # Once redacted, a row cannot be rewritten again, nor another event be marked.
            """UPDATE events SET redaction = json_object('by', (SELECT max(version) FROM events))
               WHERE type = 'UpdatePosted' AND json_extract(data, '$.body') = 'Another update.'""",
            "UPDATE events SET data = json_remove(data, '$.author') WHERE redaction IS NOT NULL",
            "UPDATE events SET hash = prev_hash WHERE redaction IS NOT NULL",
        ],
        "postgresql": [
            """UPDATE events SET redaction = jsonb_build_object('by', (SELECT max(version) FROM events))
               WHERE type = 'UpdatePosted' AND data ->> 'body' = 'Another update.'""",
            "UPDATE events SET data = data - 'author' WHERE redaction IS NOT NULL",
            "UPDATE events SET hash = prev_hash WHERE redaction IS NOT NULL",
        ],
    }
    for statement in statements + after_redaction[dialect]:
        with pytest.raises(REFUSED):
            async with database.write() as connection:
                await connection.execute(text(statement))
    async with database.read() as connection:
        redacted = (
            await connection.execute(select(events.c.version).where(events.c.redaction.is_not(None)))
        ).all()
    assert len(redacted) == 3


async def test_the_cli_lists_every_surface_asks_and_redacts(
    client: httpx.AsyncClient, database: Database, editor: dict[str, str], tmp_path: Path
) -> None:
    update = await _story_with_secret(client, editor)
    args = ("redact", SLUG, update["id"], "--legal-basis", "court order 2026/123", "--note", "Removed.")
    args += ("--reason", REASON)
    count = await event_count(database)

    dry = await asyncio.to_thread(run_cli, database.url, tmp_path, *args, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "event rows (versions): 3, 4, 5" in dry.output
    assert "idempotency records: 2" in dry.output  # the post, and the story's answer to closing
    assert "read model revisions: 3 rows" in dry.output and "read model update_versions: 3 rows" in dry.output
    assert "dry run: nothing was changed" in dry.output
    declined = await asyncio.to_thread(run_cli, database.url, tmp_path, *args, stdin=b"n\n")
    assert declined.exit_code == 1 and "Aborted" in declined.output
    assert await event_count(database) == count

    done = await asyncio.to_thread(run_cli, database.url, tmp_path, *args, "--yes")
    assert done.exit_code == 0, done.output
    assert f"redacted update {update['id']} of {SLUG} at version {count + 1}" in done.output
    assert SECRET not in await _every_row(database)
    verified = await asyncio.to_thread(run_cli, database.url, tmp_path, "audit", "verify", "--db")
    assert verified.exit_code == 0, verified.output
    for version in (3, 4, 5):
        assert (
            f"redacted: version {version} redacted by version {count + 1} (court order 2026/123)"
            in verified.output
        )
    again = await asyncio.to_thread(run_cli, database.url, tmp_path, *args, "--yes")
    assert again.exit_code == 1 and "already redacted" in again.output


async def test_an_event_written_before_salts_is_redacted_and_taken_on_trust(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    admin: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patched:  # events as liveblog wrote them before format 2
        patched.setattr(event_store, "new_salts", lambda data: None)
        await open_story(client, editor)
        posted = await client.post(f"/api/v1/stories/{SLUG}/updates", json={"body": SECRET}, headers=editor)
        assert posted.status_code == 201
    before = _lines(await _export(client, auditor))
    assert all("salts" not in line for line in before[1:])
    assert verify(iter(before)).ok
    assert (await _redact(client, admin, posted.json()["id"])).status_code == 200
    after = _lines(await _export(client, auditor))
    [line] = [line for line in after if line.get("version") == 3]
    assert line["redacted"] == {"by": 4} and "body" not in line["data"] and "salts" not in line
    assert "salts" in after[4]  # the redaction itself is format 2
    result = verify(iter(after))
    assert result.ok, result.message
    assert result.redactions == ("version 3 redacted by version 4 (court order 2026/123)",)
    assert any("taken on trust from the chain: versions 3" in warning for warning in result.warnings)
    assert SECRET not in json.dumps(after)


async def test_a_format_2_event_passed_off_as_format_1_is_refused(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], admin: dict[str, str]
) -> None:
    """A redacted format-1 line's hash is taken on trust; a forger who strips a format-2 line
    of its salts, to have it taken on trust and change what it keeps, is caught."""
    update = await _story_with_secret(client, editor)
    assert (await _redact(client, admin, update["id"])).status_code == 200
    lines = _lines(await _export(client, auditor))
    posted = next(i for i, line in enumerate(lines) if line.get("data", {}).get("update_id") == update["id"])
    forged = [dict(line) for line in lines]
    forged[posted] = {name: value for name, value in lines[posted].items() if name != "salts"} | {
        "data": {**lines[posted]["data"], "author": "Someone else"},
        "redacted": {"by": lines[posted]["redacted"]["by"]},
    }
    result = verify(iter(forged))
    assert not result.ok and "format 2 never reverts to 1" in result.message


async def test_a_rewrite_that_would_move_an_event_in_the_feed_is_refused(
    client: httpx.AsyncClient, database: Database, editor: dict[str, str]
) -> None:
    """Migration 0011: the one UPDATE of ``events`` the guard lets through (a redaction's
    removal of members) must keep ``xid``, the change feed's order, like every other column.
    The redaction event here is a raw row (the hash chain would give it away; the point is
    the guard): with ``xid`` moved the rewrite is refused, with it kept it passes."""
    await open_story(client, editor)
    update = await client.post(
        f"/api/v1/stories/{SLUG}/updates", json={"body": "To be removed."}, headers=editor
    )
    assert update.status_code == 201, update.text
    update_id = update.json()["id"]
    sqlite = database.is_sqlite
    async with database.read() as connection:
        posted = (
            await connection.execute(
                select(events.c.version).where(events.c.stream == SLUG, events.c.type == "UpdatePosted")
            )
        ).scalar_one()
        head = (await connection.execute(text("SELECT max(version) FROM events"))).scalar_one()
    async with database.write() as connection:
        await connection.execute(
            events.insert().values(
                stream=SLUG,
                version=head + 1,
                type="UpdateRedacted",
                schema=1,
                data={"update_id": update_id, "at": "2026-12-01T00:00:00Z"},
                meta={},
                recorded_at=datetime.now(UTC),
                hash="0" * 64,
                prev_hash="0" * 64,
            )
        )
    removed = "json_remove(data, '$.body')" if sqlite else "data - 'body'"
    marker = f"json_object('by', {head + 1})" if sqlite else f"jsonb_build_object('by', {head + 1})"
    rewrite = f"UPDATE events SET data = {removed}, redaction = {marker}{{xid}} WHERE version = {posted}"
    with pytest.raises(REFUSED):
        async with database.write() as connection:
            await connection.execute(text(rewrite.format(xid=", xid = xid + 1")))
    async with database.write() as connection:
        await connection.execute(text(rewrite.format(xid="")))
    async with database.read() as connection:
        data = (
            await connection.execute(
                select(events.c.data).where(events.c.stream == SLUG, events.c.version == posted)
            )
        ).scalar_one()
    assert "body" not in data
