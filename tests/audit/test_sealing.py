"""No unsigned tail: the sealing sweep, ``POST …/checkpoint``, and exports that end signed.

The sweep's rule is tested on a clock of the test's own (so nothing depends on timing); a
running server with a short bound then shows the head of a story signed after a burst of
writes and no further write, and two sweepers (two database pools, then two server
processes on PostgreSQL) never sign one head twice.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from liveblog.api.app import create_app
from liveblog.api.services import Services, running_services
from liveblog.application import Application
from liveblog.audit import checkpoints
from liveblog.audit import verify as verifier
from liveblog.audit.export import export_lines
from liveblog.audit.sealing import Sealer, seal_head
from liveblog.audit.signing import Checkpoint, Signer
from liveblog.cli import main
from liveblog.config import Settings
from liveblog.domain import StoryState
from liveblog.domain import commands as c
from liveblog.store import event_store, tokens
from liveblog.store.chain import event_hash
from liveblog.store.database import Database
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor, Role
from tests.api.helpers import assert_problem, open_story, post_update
from tests.audit import events_of, run_cli
from tests.live.processes import ServerGroup

DESK = Actor(id="desk", name="Desk", role=Role.EDITOR)
START = datetime(2023, 6, 4, 11, 0, tzinfo=UTC)
SLUG = "border-raid"
WITHIN = 30.0  # the default bound
WAIT = 60.0  # the longest a test waits for a server's sweep (the machine is shared)


class Clock:
    """A clock that moves only when told."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def ok(state: StoryState) -> StoredResponse:
    return StoredResponse(status=200, headers={}, body=str(state.version))


def opening(*, publish: bool = True) -> c.OpenStory:
    return c.OpenStory(story=SLUG, title="Raid", publish=publish, at=START)


def posting(number: int) -> c.PostUpdate:
    return c.PostUpdate(story=SLUG, update_id=f"u{number}", body=f"Update {number}", author="Desk", at=START)


async def signed_versions(database: Database, story: str = SLUG) -> list[int]:
    async with database.read() as connection:
        return [checkpoint.version for checkpoint in await checkpoints.for_story(connection, story)]


@dataclass
class Desk:
    database: Database
    application: Application
    sealer: Sealer
    clock: Clock


@pytest.fixture
def desk(database: Database) -> Desk:
    clock = Clock()
    signer = Signer(Ed25519PrivateKey.generate())
    application = Application(database, signer=signer, clock=clock)
    return Desk(database, application, Sealer(database, signer, within=WITHIN, clock=clock), clock)


# ---------------------------------------------------------------- the sweep's rule


async def test_a_burst_is_signed_once_the_story_has_been_quiet(desk: Desk) -> None:
    await desk.application.handle(opening(), DESK, ok)  # versions 1, 2: publishing seals 2
    for number in range(1, 6):
        desk.clock.advance(1)
        await desk.application.handle(posting(number), DESK, ok)
    assert await signed_versions(desk.database) == [2]
    assert desk.sealer.quiet == timedelta(seconds=10) and desk.sealer.every == 3.0

    desk.clock.advance(9)  # quiet for 9 s: not yet
    assert await desk.sealer.sweep() == []
    desk.clock.advance(1)
    [signed] = await desk.sealer.sweep()
    assert (signed.version, signed.signed_at) == (7, desk.clock.now)
    assert await signed_versions(desk.database) == [2, 7]
    desk.clock.advance(60)
    assert await desk.sealer.sweep() == [], "a signed head is not signed again"


async def test_a_story_edited_without_pause_is_signed_before_the_bound(desk: Desk) -> None:
    await desk.application.handle(opening(), DESK, ok)
    first_unsigned = desk.clock.now + timedelta(seconds=4)
    signed: list[Checkpoint] = []
    for number in range(1, 20):
        desk.clock.advance(4)  # never quiet for 10 s
        await desk.application.handle(posting(number), DESK, ok)
        signed += await desk.sealer.sweep()
        if signed:
            break
    [checkpoint] = signed
    # The deadline is the bound less two sweeps: a sweep may just miss it, the next is in time.
    assert desk.sealer.deadline == timedelta(seconds=WITHIN - 2 * desk.sealer.every)
    assert checkpoint.signed_at - first_unsigned == timedelta(seconds=24)
    assert checkpoint.version == 2 + number


@asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def test_drafts_are_sealed_and_stay_hidden_from_readers(
    database: Database, services: Services, client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    assert services.sealer is not None
    await services.sealer.stop()  # this test sweeps on its own clock
    clock = Clock()
    services.application.clock = clock
    sealer = Sealer(database, services.sealer.signer, within=WITHIN, clock=clock)
    await open_story(client, editor, publish=False)
    clock.advance(11)
    [signed] = await sealer.sweep()
    assert signed.version == 1
    assert_problem(await client.get(f"/api/v1/stories/{SLUG}/checkpoint"), 404)
    staff = await client.get(f"/api/v1/stories/{SLUG}/checkpoint", headers=editor)
    assert staff.status_code == 200 and staff.json() == signed.document()
    # The export of a draft verifies: its tail is signed.
    lines = [json.loads(line) async for line in export_lines(database, SLUG, now=clock())]
    assert verifier.verify(lines).ok


# ------------------------------------------------- a running server, a short bound


async def test_after_a_burst_and_no_more_writes_the_server_signs_the_head(
    settings: Settings, database: Database, editor: dict[str, str]
) -> None:
    short = settings.model_copy(update={"checkpoint_within_seconds": 1.0})
    async with (
        running_services(short, database) as services,
        _client(create_app(services=services)) as client,
    ):
        await open_story(client, editor)
        for number in range(20):
            await post_update(client, editor, body=f"Update {number} of the burst.")
        async with database.read() as connection:
            head = await event_store.read_stream(connection, SLUG, newest=1)
        latest = await _wait_for_checkpoint(database, head[0].version)
    assert latest.head_hash == head[0].hash
    # What the bound bought: the time from the last write to the signature covering it.
    print(f"\nlast write to signed head: {(latest.signed_at - head[0].recorded_at).total_seconds():.3f} s")


async def _wait_for_checkpoint(database: Database, version: int) -> Checkpoint:
    deadline = time.monotonic() + WAIT
    while True:
        async with database.read() as connection:
            latest = await checkpoints.latest(connection, SLUG)
        if latest is not None and latest.version >= version:
            return latest
        assert time.monotonic() < deadline, f"no checkpoint of version {version} after {WAIT} s"
        await asyncio.sleep(0.05)


# ------------------------------------------------------ never one head signed twice


@pytest.mark.postgres
async def test_two_sweepers_and_two_on_demand_signers_sign_a_head_once(postgres_url: str) -> None:
    clock = Clock()
    signer = Signer(Ed25519PrivateKey.generate())
    first, second = Database(postgres_url), Database(postgres_url)  # as two processes' pools
    try:
        application = Application(first, signer=signer, clock=clock)
        await application.handle(opening(), DESK, ok)
        for round_ in range(5):
            for number in range(3):
                clock.advance(1)
                await application.handle(posting(10 * round_ + number), DESK, ok)
            clock.advance(11)
            sweepers = [
                Sealer(db, signer, within=WITHIN, clock=clock) for db in (first, second, first, second)
            ]
            signed = await asyncio.gather(*(sweeper.sweep() for sweeper in sweepers))
            assert sum(len(batch) for batch in signed) == 1, signed
        clock.advance(1)
        await application.handle(posting(99), DESK, ok)
        sealed = await asyncio.gather(
            *(seal_head(db, signer, SLUG, now=clock()) for db in (first, second) * 3)
        )
        assert [s is not None and s.created for s in sealed].count(True) == 1
        assert len({json.dumps(s.checkpoint.document()) for s in sealed if s is not None}) == 1
        assert await signed_versions(first) == [2, 5, 8, 11, 14, 17, 18]
    finally:
        await first.dispose()
        await second.dispose()


@pytest.mark.postgres
async def test_two_server_processes_sign_each_head_once(postgres_url: str, tmp_path: Path) -> None:
    group = ServerGroup(postgres_url, tmp_path)
    database = Database(postgres_url)
    try:
        async with database.write() as connection:
            _, secret = await tokens.create(connection, name="Desk", role=Role.EDITOR, now=datetime.now(UTC))
        headers = {"Authorization": f"Bearer {secret}"}
        servers = await group.start(2, settings={"LIVEBLOG_CHECKPOINT_WITHIN_SECONDS": "1"})
        async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
            opened = await http.post(
                f"{servers[0].url}/api/v1/stories",
                json={"title": "Raid", "slug": SLUG, "publish": True},
                headers=headers,
            )
            assert opened.status_code == 201, opened.text
            for number in range(20):
                server = servers[number % 2]
                posted = await http.post(
                    f"{server.url}/api/v1/stories/{SLUG}/updates",
                    json={"body": f"Update {number}."},
                    headers=headers,
                )
                assert posted.status_code == 201, posted.text
        latest = await _wait_for_checkpoint(database, 22)
        signed = await signed_versions(database)
        # Both processes go on sweeping (every 0.1 s): neither signs the signed head again.
        await asyncio.sleep(1.0)
        assert await signed_versions(database) == signed
        assert signed[-1] == latest.version == 22 and len(signed) == len(set(signed))
        async with database.read() as connection:
            [head] = await event_store.read_stream(connection, SLUG, newest=1)
        lag = (latest.signed_at - head.recorded_at).total_seconds()
        print(f"\ncheckpoints: {signed}; last write to signed head: {lag:.3f} s")
    finally:
        await asyncio.to_thread(group.stop_all)
        await database.dispose()
    logs = group.logs()
    assert "sealing sweep failed" not in logs and "Traceback" not in logs, logs


# ------------------------------------------------------------ POST …/checkpoint


async def test_an_auditor_signs_the_head_on_demand(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    auditor: dict[str, str],
    admin: dict[str, str],
    database: Database,
) -> None:
    url = f"/api/v1/stories/{SLUG}/checkpoint"
    await open_story(client, editor)
    await post_update(client, editor)
    created = await client.post(url, headers=auditor)
    assert created.status_code == 201, created.text
    assert created.json()["version"] == 3 and created.json() == (await client.get(url)).json()
    again = await client.post(url, headers=admin)
    assert again.status_code == 200 and again.json() == created.json()
    assert await signed_versions(database) == [2, 3]

    # An Idempotency-Key replays the first answer, even once the head has moved on.
    await post_update(client, editor)
    keyed = {**auditor, "Idempotency-Key": "seal-1"}
    first = await client.post(url, headers=keyed)
    assert first.status_code == 201 and first.json()["version"] == 4
    await post_update(client, editor)
    replayed = await client.post(url, headers=keyed)
    assert (replayed.status_code, replayed.json()) == (201, first.json())
    assert await signed_versions(database) == [2, 3, 4]

    assert_problem(await client.post(url, headers=editor), 403)
    assert_problem(await client.post(url), 401)
    assert_problem(await client.post("/api/v1/stories/no-such-story/checkpoint", headers=auditor), 404)
    assert await signed_versions(database) == [2, 3, 4]


# ------------------------------------------------- exports end with a checkpoint


def rehashed(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``lines`` with every event's hash recomputed and relinked, the header moved to the
    new head: what a forger who changed an event's data does to the events after it."""
    story, previous = lines[0]["export"]["story"], "0" * 64
    for event in events_of(lines):
        event["prev_hash"] = previous
        event["hash"] = previous = event_hash(
            story=story,
            version=event["version"],
            type=event["type"],
            schema=event["schema"],
            data=event["data"],
            actor=event["actor"],
            recorded_at=datetime.fromisoformat(event["recorded_at"]),
            prev_hash=event["prev_hash"],
            salts=event.get("salts"),
        )
    lines[0]["export"]["head_hash"] = previous
    return lines


async def _ndjson(client: httpx.AsyncClient, auditor: dict[str, str]) -> list[dict[str, Any]]:
    response = await client.get(
        f"/api/v1/stories/{SLUG}/events", headers={**auditor, "Accept": "application/x-ndjson"}
    )
    assert response.status_code == 200, response.text
    return [json.loads(line) for line in response.text.splitlines()]


async def test_the_tail_rewrite_that_used_to_verify_now_fails(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], database: Database
) -> None:
    """A burst after publication (checkpoint at 2) left versions 3 to 7 unsigned; an event in
    that tail edited and the later hashes recomputed verified with a warning only."""
    await open_story(client, editor)
    for number in range(5):
        await post_update(client, editor, body=f"Update {number}: fighters seen at the border.")
    keys = {key["id"]: key for key in (await client.get("/api/v1/keys")).json()["items"]}
    trusted = {key_id: base64.b64decode(key["public_key"]) for key_id, key in keys.items()}

    # The export ends with a checkpoint of its head, signed when it was taken.
    lines = await _ndjson(client, auditor)
    assert (
        "checkpoint" in lines[-1] and lines[-1]["checkpoint"]["version"] == 7 == lines[0]["export"]["version"]
    )
    assert verifier.verify(lines, trusted_keys=trusted).ok

    def forged(keep_head_checkpoint: bool) -> list[dict[str, Any]]:
        copy = json.loads(json.dumps(lines))
        events_of(copy)[4]["data"]["body"] = "Update 2: nobody was seen at the border."
        kept = [line for line in copy[1:] if "checkpoint" in line and line["checkpoint"]["version"] < 7]
        head = [copy[-1]] if keep_head_checkpoint else []
        return rehashed([copy[0], *events_of(copy), *kept, *head])

    # With the head's checkpoint, the rewrite contradicts it (check 5)...
    result = verifier.verify(forged(True), trusted_keys=trusted)
    assert not result.ok and "the log changed" in result.message
    # ...and without it, the tail is unsigned (check 8): it fails, where it used to pass.
    result = verifier.verify(forged(False), trusted_keys=trusted)
    assert not result.ok and result.first_bad_version == 3
    assert "unsigned tail: versions 3..7 are covered by no signed checkpoint" in result.message
    lenient = verifier.verify(forged(False), trusted_keys=trusted, allow_unsigned_tail=True)
    assert lenient.ok and any("unsigned tail: versions 3..7" in w for w in lenient.warnings)


async def test_verify_of_the_database_fails_on_a_tail_the_server_has_not_signed_yet(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    await post_update(client, editor)
    unsigned = await verifier.verify_database(database, SLUG)
    assert not unsigned.ok and "unsigned tail: versions 3..3" in unsigned.message
    assert (await verifier.verify_database(database, SLUG, allow_unsigned_tail=True)).ok
    assert await signed_versions(database) == [2], "verifying signs nothing"
    assert (await client.post(f"/api/v1/stories/{SLUG}/checkpoint", headers=auditor)).status_code == 201
    assert (await verifier.verify_database(database, SLUG)).ok


async def test_the_cli_export_ends_signed_with_the_servers_key(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database, settings: Settings, tmp_path: Path
) -> None:
    await open_story(client, editor)
    await post_update(client, editor)
    await post_update(client, editor)

    # Without the key file, nothing is signed (no key is made up) and it says so.
    unkeyed = await asyncio.to_thread(run_cli, database.url, tmp_path, "audit", "export", SLUG)
    assert unkeyed.exit_code == 0, unkeyed.output
    assert "versions 3..4 are covered by no signed checkpoint" in unkeyed.stderr
    assert not (tmp_path / "cli-signing.key").exists()
    path = tmp_path / "unsigned.ndjson"
    path.write_bytes(unkeyed.stdout_bytes)
    failed = await asyncio.to_thread(run_cli, database.url, tmp_path, "audit", "verify", str(path))
    assert failed.exit_code == 1 and "unsigned tail: versions 3..4" in failed.stderr
    allowed = await asyncio.to_thread(
        run_cli, database.url, tmp_path, "audit", "verify", str(path), "--allow-unsigned-tail"
    )
    assert allowed.exit_code == 0 and "warning: unsigned tail" in allowed.stderr

    env = {"LIVEBLOG_DATABASE_URL": database.url, "LIVEBLOG_SIGNING_KEY_PATH": str(settings.signing_key_path)}
    keyed = await asyncio.to_thread(
        CliRunner().invoke, main, ["audit", "export", SLUG], env=env, catch_exceptions=False
    )
    assert keyed.exit_code == 0 and "warning" not in keyed.stderr, keyed.output
    lines = [json.loads(line) for line in keyed.stdout_bytes.splitlines()]
    assert lines[-1]["checkpoint"]["version"] == lines[0]["export"]["version"] == 4
    assert verifier.verify(lines).ok
