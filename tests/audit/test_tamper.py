"""Tampered copies of the reference story's export, and a log edited in the database behind
the triggers' back: `liveblog audit verify` exits 1 and names the version concerned."""

from __future__ import annotations

import copy
import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import DBAPIError

from liveblog.application import Application
from liveblog.store.database import Database
from liveblog.store.tables import events, snapshots
from tests.audit import SLUG, Demo, attacker, events_of, forge, play_demo, public_key_file


@pytest.fixture
async def story(
    database: Database, application: Application, client: httpx.AsyncClient, tmp_path: Path
) -> Demo:
    return await play_demo(database, application, client, tmp_path)


def correction_of_the_deadline(lines: list[dict[str, Any]]) -> dict[str, Any]:
    [event] = [
        e for e in events_of(lines) if e["type"] == "UpdateCorrected" and "17:00" in json.dumps(e["data"])
    ]
    return event


def line_of(lines: list[bytes], version: int) -> int:
    """The index in ``lines`` of the event line of ``version``."""
    [index] = [i for i, line in enumerate(lines) if json.loads(line).get("version") == version and i > 0]
    return index


def assert_detected(result: Any, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output


async def test_the_clean_export_verifies(story: Demo) -> None:
    result = await story.verify("clean.ndjson", story.raw_lines(), "--checkpoint", str(story.checkpoint_file))
    assert result.exit_code == 0, result.output


async def test_a_character_changed_in_an_events_data_is_found_at_its_version(story: Demo) -> None:
    version = correction_of_the_deadline(story.lines())["version"]
    assert version == 5
    lines = story.raw_lines()
    index = line_of(lines, version)
    lines[index] = lines[index].replace(b"before 17:00 local", b"before 18:00 local", 1)
    result = await story.verify("edited.ndjson", lines)
    assert_detected(result, "version 5: its content does not hash to its hash")


async def test_a_deleted_event_is_found_at_its_version(story: Demo) -> None:
    lines = story.raw_lines()
    del lines[line_of(lines, 10)]
    assert_detected(await story.verify("deleted.ndjson", lines), "version 10: missing or out of place")


async def test_a_deleted_event_with_the_rest_renumbered_is_found_at_its_version(story: Demo) -> None:
    lines = story.lines()
    kept = [line for line in lines if line.get("version") != 10 or "export" in line]
    for line in events_of(kept):
        line["version"] -= line["version"] > 10
    kept[0]["export"]["version"] -= 1
    result = await story.verify("renumbered.ndjson", kept)
    assert_detected(result, "version 10: its prev_hash is not the hash of the event before it")


async def test_two_swapped_events_are_found(story: Demo) -> None:
    lines = story.raw_lines()
    ten, eleven = line_of(lines, 10), line_of(lines, 11)
    lines[ten], lines[eleven] = lines[eleven], lines[ten]
    assert_detected(await story.verify("swapped.ndjson", lines), "version 10: missing or out of place")


FORGED_CHECKPOINTS: list[tuple[dict[str, Any], str]] = [
    ({"version": 25}, "version 25: the signature of the checkpoint on line 43 is not valid"),
    ({"head_hash": "ab" * 32}, "version 26: the signature of the checkpoint on line 43 is not valid"),
    ({"signature": "AAAA"}, "version 26: the signature of the checkpoint on line 43 is not valid"),
]


async def test_a_forged_checkpoint_is_found(story: Demo) -> None:
    for change, message in FORGED_CHECKPOINTS:
        lines = story.lines()
        assert lines[-1]["checkpoint"]["version"] == 26 and len(lines) == 43
        lines[-1]["checkpoint"].update(change)
        assert_detected(await story.verify("forged.ndjson", lines), message)


async def test_a_checkpoint_re_signed_with_another_key_is_found(story: Demo) -> None:
    """The forger rewrites the close and signs it with a key of their own, listed in the header."""
    lines = story.lines()
    forger = attacker()
    close = events_of(lines)[-1]
    close["data"]["at"] = close["recorded_at"] = "2023-06-04T21:00:00Z"
    forged = forge(lines, events_of(lines), forger, at=[26])
    honest_checkpoints = [
        line for line in lines if "checkpoint" in line and line["checkpoint"]["version"] < 26
    ]
    forged = [forged[0], *events_of(forged), *honest_checkpoints, forged[-1]]
    forged[0]["export"]["keys"] += lines[0]["export"]["keys"]

    result = await story.verify("re-signed.ndjson", forged)
    assert_detected(
        result,
        f"version 26: the checkpoint on line 43 is signed by key {forger.key_id}, which is not trusted",
    )

    # Without --key, nothing tells the forger's key from the server's: the verifier says so.
    path = story.write("re-signed.ndjson", forged)
    trusting = await story.cli("audit", "verify", str(path))
    assert trusting.exit_code == 0 and "keys the export itself lists" in trusting.stderr


def truncated(lines: list[dict[str, Any]], end: int, *, keep_checkpoints: bool) -> list[dict[str, Any]]:
    """``lines`` cut after version ``end``, with a header that claims the log ends there."""
    head = events_of(lines)[end - 1]
    header = {"export": {**lines[0]["export"], "version": end, "head_hash": head["hash"]}}
    checkpoints = [line for line in lines if "checkpoint" in line]
    if not keep_checkpoints:
        checkpoints = [line for line in checkpoints if line["checkpoint"]["version"] <= end]
    return [header, *events_of(lines)[:end], *checkpoints]


async def test_a_tail_cut_off_and_claimed_complete_is_found_by_the_checkpoints_beyond_it(story: Demo) -> None:
    result = await story.verify("truncated.ndjson", truncated(story.lines(), 23, keep_checkpoints=True))
    assert_detected(result, "version 24: missing: the checkpoint on line")
    assert "was signed when the log was at version 25" in result.output


async def test_a_tail_cut_off_with_its_checkpoints_is_found_by_a_kept_checkpoint(story: Demo) -> None:
    lines = truncated(story.lines(), 23, keep_checkpoints=False)
    unaided = await story.verify("truncated.ndjson", lines)
    assert unaided.exit_code == 0, unaided.output
    assert "versions 21 to 23 are covered by no signed checkpoint" in unaided.stderr
    kept = json.loads(story.checkpoint_file.read_text())
    assert kept["version"] == 26
    result = await story.verify("truncated.ndjson", lines, "--checkpoint", str(story.checkpoint_file))
    assert_detected(
        result,
        "version 24: missing: the kept checkpoint (--checkpoint) was signed when the log was at version 26",
    )


async def test_a_kept_checkpoint_that_the_log_no_longer_holds_is_found(story: Demo) -> None:
    """Everything rewritten from version 5 on and re-signed with a stolen key: the auditor's old
    checkpoint still shows that the log does not extend what was seen."""
    lines = story.lines()
    thief = attacker()
    correction = correction_of_the_deadline(lines)
    correction["data"]["note"] = "A quieter note."
    forged = forge(lines, events_of(lines), thief)
    key = public_key_file(thief, story.tmp_path / "stolen.json")
    assert (await story.verify("rewritten.ndjson", forged, "--key", str(key))).exit_code == 0
    result = await story.verify(
        "rewritten.ndjson", forged, "--key", str(key), "--checkpoint", str(story.checkpoint_file)
    )
    assert_detected(result, "version 26: the kept checkpoint (--checkpoint) is signed by key")

    # The stolen key signed the old checkpoint too: its head is then what gives the rewrite away.
    both = story.tmp_path / "both.json"
    both.write_text(
        json.dumps(
            {"items": [*json.loads(story.keys_file.read_text())["items"], json.loads(key.read_text())]}
        )
    )
    result = await story.verify(
        "rewritten.ndjson", forged, "--key", str(both), "--checkpoint", str(story.checkpoint_file)
    )
    assert_detected(
        result,
        "version 26: its hash is not the head_hash of the kept checkpoint (--checkpoint): the log changed",
    )


async def test_a_row_edited_behind_the_triggers_back_is_found_in_the_database(
    story: Demo, database: Database
) -> None:
    async with database.engine.begin() as connection:
        row = (
            await connection.execute(
                select(events.c.data).where(events.c.stream == SLUG, events.c.version == 5)
            )
        ).one()
        data = copy.deepcopy(row.data)
        data["changes"]["body"] = data["changes"]["body"].replace("17:00", "18:00")
        if database.is_sqlite:
            trigger = (
                await connection.execute(
                    text(
                        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'events_append_only_update'"
                    )
                )
            ).scalar_one()
            await connection.execute(text("DROP TRIGGER events_append_only_update"))
        else:
            await connection.execute(text("ALTER TABLE events DISABLE TRIGGER events_append_only_rows"))
        await connection.execute(
            update(events).where(events.c.stream == SLUG, events.c.version == 5).values(data=data)
        )
        if database.is_sqlite:
            await connection.execute(text(trigger))
        else:
            await connection.execute(text("ALTER TABLE events ENABLE TRIGGER events_append_only_rows"))

    for args in (("--db",), ("--db", "--story", SLUG), ("--db", "--key", str(story.keys_file))):
        result = await story.cli("audit", "verify", *args)
        assert_detected(result, f"{SLUG}: version 5: its content does not hash to its hash")
    # The triggers are back.
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.write() as connection:
            await connection.execute(update(events).where(events.c.version == 5).values(type="X"))


def post_after_close(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    evs = events_of(lines)
    late = copy.deepcopy(evs[-2])
    assert late["type"] == "UpdatePosted" and evs[-1]["type"] == "StoryClosed"
    late["data"].update(update_id="late-post", at="2023-06-04T20:45:00Z")
    late["recorded_at"] = "2023-06-04T20:45:00Z"
    return [*evs, late]


def correction_of_a_retracted_update(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    evs = events_of(lines)
    [retraction] = [e for e in evs if e["type"] == "UpdateRetracted"]
    correction = copy.deepcopy(correction_of_the_deadline(lines))
    correction["data"]["update_id"] = retraction["data"]["update_id"]
    correction["data"]["at"] = correction["recorded_at"] = evs[-1]["recorded_at"]
    return [*evs[:-1], correction, evs[-1]]


def correction_that_changes_nothing(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    evs = events_of(lines)
    correction = correction_of_the_deadline(lines)
    [posted] = [
        e
        for e in evs
        if e["data"].get("update_id") == correction["data"]["update_id"] and e["type"] == "UpdatePosted"
    ]
    correction["data"]["changes"]["body"] = posted["data"]["body"]
    return evs


def clock_running_backwards(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    evs = events_of(lines)
    earlier = datetime.fromisoformat(evs[8]["data"]["at"]).replace(hour=1).isoformat().replace("+00:00", "Z")
    evs[9]["data"]["at"] = evs[9]["recorded_at"] = earlier
    return evs


async def test_an_illegal_sequence_that_hashes_and_is_signed_correctly_is_found_by_the_rules(
    story: Demo,
) -> None:
    """The forger holds a signing key (passed with --key): only the rules can tell."""
    forger = attacker()
    key = public_key_file(forger, story.tmp_path / "forger.json")
    for illegal, message in [
        (post_after_close, "version 27: UpdatePosted refused by the rules"),
        (correction_of_a_retracted_update, "version 26: UpdateCorrected refused by the rules"),
        (correction_that_changes_nothing, "version 5: UpdateCorrected refused by the rules"),
        (clock_running_backwards, "version 10: UpdatePosted is not what the rules produce"),
    ]:
        lines = story.lines()
        sequence = illegal(lines)
        forged = forge(lines, sequence, forger, at=[len(sequence)])
        assert_detected(await story.verify("illegal.ndjson", forged, "--key", str(key)), message)


# --- Rewrites through the database's own statements (migration 0003) --------------------


async def _raw(database: Database, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """Run ``statements`` (SQL with ``?`` or ``$n`` parameters) on a plain driver
    connection of the attacker's own, in autocommit, in order; the first refused raises."""
    if database.is_sqlite:
        connection = sqlite3.connect(database.url.removeprefix("sqlite+aiosqlite:///"), isolation_level=None)
        try:
            for sql, parameters in statements:
                connection.execute(sql, parameters)
        finally:
            connection.close()
        return
    pg = await asyncpg.connect(database.url.replace("postgresql+asyncpg://", "postgresql://", 1), timeout=10)
    try:
        for sql, parameters in statements:
            await pg.execute(sql, *parameters)
    finally:
        await pg.close()


async def _rows(database: Database) -> list[Any]:
    async with database.read() as connection:
        return list((await connection.execute(select(events).order_by(events.c.position))).all())


def _rewrite(
    database: Database, stored: list[Any], forged: list[dict[str, Any]]
) -> list[tuple[str, tuple[Any, ...]]]:
    """The statements that put ``forged``'s events in place of the stored ones that differ,
    at their positions: INSERT OR REPLACE on SQLite, its PostgreSQL form (an UPSERT)."""
    statements: list[tuple[str, tuple[Any, ...]]] = []
    by_version = {row.version: row for row in stored}
    for event in events_of(forged):
        row = by_version[event["version"]]
        if row.hash == event["hash"]:
            continue
        values = (
            row.position,
            SLUG,
            event["version"],
            event["type"],
            event["schema"],
            json.dumps(event["data"]),
            json.dumps(row.meta),
            row.recorded_at if not database.is_sqlite else str(row.recorded_at.replace(tzinfo=None)),
            event["hash"],
            event["prev_hash"],
        )
        columns = "position, stream, version, type, schema, data, metadata, recorded_at, hash, prev_hash"
        if database.is_sqlite:
            statements.append(
                (f"INSERT OR REPLACE INTO events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            )
        else:
            upsert = (
                f"INSERT INTO events ({columns}) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10) "
                "ON CONFLICT (position) DO UPDATE SET data = excluded.data, hash = excluded.hash, "
                "prev_hash = excluded.prev_hash"
            )
            statements.append((upsert, values))
    return statements


async def test_the_insert_or_replace_rewrite_that_used_to_verify_is_refused(
    story: Demo, database: Database
) -> None:
    """Before 0003, on SQLite: the log rewritten from version 5 with INSERT OR REPLACE (each
    row kept at its position, the chain re-linked) and the checkpoints deleted verified "ok"."""
    lines = story.lines()
    correction_of_the_deadline(lines)["data"]["note"] = "A quieter note."
    forged = forge(lines, events_of(lines), attacker())
    before = await _rows(database)
    rewrite = _rewrite(database, before, forged)
    assert len(rewrite) == 22  # versions 5 to 26
    refused = sqlite3.IntegrityError if database.is_sqlite else asyncpg.RestrictViolationError
    with pytest.raises(refused, match="append-only"):
        await _raw(database, rewrite[0])
    with pytest.raises(refused, match="append-only"):
        await _raw(database, ("DELETE FROM checkpoints", ()))
    assert await _rows(database) == before
    result = await story.cli("audit", "verify", "--db", "--key", str(story.keys_file))
    assert result.exit_code == 0, result.output
    assert "covered by no signed checkpoint" not in result.output


async def _without_protection(database: Database, *statements: tuple[str, tuple[Any, ...]]) -> None:
    """``statements`` run with the events table's triggers out of the way, then put back."""
    if database.is_sqlite:
        async with database.engine.connect() as connection:
            saved = [
                sql
                for (sql,) in await connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")
                )
            ]
        drop = [(f"DROP TRIGGER events_append_only_{name}", ()) for name in ("update", "delete", "replace")]
        await _raw(database, *drop, *statements, *[(sql, ()) for sql in saved])
    else:
        await _raw(
            database,
            ("ALTER TABLE events DISABLE TRIGGER USER", ()),
            *statements,
            ("ALTER TABLE events ENABLE TRIGGER USER", ()),
        )


async def test_an_event_re_inserted_behind_the_triggers_back_is_found_in_the_database(
    story: Demo, database: Database
) -> None:
    """Version 10 deleted and inserted again unchanged: the export verifies, but the row now
    stands after its successors (and on SQLite its old position is a hole)."""
    [row] = [row for row in await _rows(database) if row.version == 10]
    columns = "stream, version, type, schema, data, metadata, recorded_at, hash, prev_hash, salts"
    recorded_at = str(row.recorded_at.replace(tzinfo=None)) if database.is_sqlite else row.recorded_at
    values = (
        SLUG,
        10,
        row.type,
        row.schema,
        json.dumps(row.data),
        json.dumps(row.meta),
        recorded_at,
        row.hash,
        row.prev_hash,
        json.dumps(row.salts),
    )
    if database.is_sqlite:
        await _without_protection(
            database, (f"REPLACE INTO events ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        )
    else:
        await _without_protection(
            database,
            ("DELETE FROM events WHERE stream = $1 AND version = 10", (SLUG,)),
            (
                f"INSERT INTO events ({columns}) VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8, $9, $10::jsonb)",
                values,
            ),
        )
    exported = await story.cli("audit", "export", SLUG)
    assert (
        await story.verify("same.ndjson", list(exported.stdout_bytes.splitlines(keepends=True)))
    ).exit_code == 0

    result = await story.cli("audit", "verify", "--db", "--key", str(story.keys_file))
    assert_detected(result, f"{SLUG}: version 10: stored at position")
    assert "the row was written again after the log moved on" in result.output
    if database.is_sqlite:
        assert "database: the log holds 26 events but its positions run to 27" in result.output


async def test_a_snapshot_that_disagrees_with_the_log_is_found_in_the_database(
    story: Demo, database: Database, application: Application
) -> None:
    """Snapshots may be inserted (never changed): a forged one is the state the server would
    decide on. A true one verifies; one with another hash or another state does not."""
    async with database.read() as connection:
        state = await application.load_at(connection, SLUG, 10)
        [row] = [row for row in await _rows(database) if row.version == 10]
    assert state is not None
    true_state = state.model_dump_json()
    forged_state = state.model_copy(update={"title": "A calmer title"}).model_dump_json()
    for version, head_hash, document, message in [
        (10, row.hash, true_state, None),
        (10, "ab" * 32, true_state, "version 10: the snapshot at this version holds another hash"),
        (
            10,
            row.hash,
            forged_state,
            "version 10: the snapshot at this version is not the state the log folds to",
        ),
    ]:
        await _without_protection_of_snapshots(database, version, head_hash, document)
        result = await story.cli("audit", "verify", "--db", "--key", str(story.keys_file))
        if message is None:
            assert result.exit_code == 0, result.output
        else:
            assert_detected(result, f"{SLUG}: {message}")


async def _without_protection_of_snapshots(
    database: Database, version: int, head_hash: str, state: str
) -> None:
    """The snapshot of ``version`` set to these values (deleting any, triggers set aside)."""
    async with database.engine.begin() as connection:
        if database.is_sqlite:
            saved = (
                await connection.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'snapshots_append_only_delete'")
                )
            ).scalar_one()
            await connection.execute(text("DROP TRIGGER snapshots_append_only_delete"))
            await connection.execute(text("DELETE FROM snapshots"))
            await connection.execute(text(saved))
        else:
            await connection.execute(text("ALTER TABLE snapshots DISABLE TRIGGER USER"))
            await connection.execute(text("DELETE FROM snapshots"))
            await connection.execute(text("ALTER TABLE snapshots ENABLE TRIGGER USER"))
        await connection.execute(
            insert(snapshots).values(stream=SLUG, version=version, head_hash=head_hash, state=state)
        )


async def test_a_dropped_protecting_trigger_fails_the_database_verification(
    story: Demo, database: Database
) -> None:
    if database.is_sqlite:
        await _raw(database, ("DROP TRIGGER checkpoints_append_only_delete", ()))
    else:
        await _raw(database, ("ALTER TABLE checkpoints DISABLE TRIGGER checkpoints_append_only_rows", ()))
    result = await story.cli("audit", "verify", "--db", "--key", str(story.keys_file))
    assert result.exit_code == 1, result.output
    assert (
        "database: the checkpoints table is not protected: trigger checkpoints_append_only_" in result.output
    )
    assert f"ok {SLUG}" in result.output  # the log itself still verifies
