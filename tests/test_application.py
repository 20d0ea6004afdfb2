"""The command handler: retries on conflict, one transaction for everything, snapshots, caches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from liveblog.application import Application, Head, build_application
from liveblog.audit import checkpoints
from liveblog.config import Settings
from liveblog.domain import StoryState
from liveblog.domain import commands as c
from liveblog.errors import ConcurrencyError
from liveblog.store import event_store, snapshots
from liveblog.store.database import Database
from liveblog.store.idempotency import IdempotencyKey, StoredResponse
from liveblog.store.tables import idempotency_records
from liveblog.store.tokens import Actor, Role

DESK = Actor(id="desk", name="Desk", role=Role.EDITOR)
AT = datetime(2023, 6, 4, 11, 0, tzinfo=UTC)


def ok(state: StoryState) -> StoredResponse:
    return StoredResponse(status=200, headers={}, body=str(state.version))


def opening(slug: str = "raid") -> c.OpenStory:
    return c.OpenStory(story=slug, title="Raid", publish=True, at=AT)


def posting(number: int, slug: str = "raid") -> c.PostUpdate:
    return c.PostUpdate(story=slug, update_id=f"u{number}", body=f"Update {number}", author="Desk", at=AT)


async def versions(database: Database, stream: str = "raid") -> list[int]:
    async with database.read() as connection:
        return [e.version for e in await event_store.read_stream(connection, stream)]


async def test_a_conflict_is_retried_by_deciding_again_on_fresh_state(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = Application(database)
    await application.handle(opening(), DESK, ok)
    stale = await _head(application)
    await application.handle(posting(1), DESK, ok)
    real_load = application._load_head
    calls: list[int] = []

    async def load_stale_once(connection: Any, slug: str) -> Head:
        calls.append(1)
        return stale if len(calls) == 1 else await real_load(connection, slug)

    monkeypatch.setattr(application, "_load_head", load_stale_once)
    outcome = await application.handle(posting(2), DESK, ok)
    assert len(calls) == 2, "decided twice: once on the stale state, once on the fresh one"
    assert outcome.response.body == "4"
    assert await versions(database) == [1, 2, 3, 4]


async def test_a_conflict_that_never_clears_surfaces_after_the_retries(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = Application(database)
    await application.handle(opening(), DESK, ok)
    stale = await _head(application)
    await application.handle(posting(1), DESK, ok)

    async def always_stale(connection: Any, slug: str) -> Head:
        return stale

    monkeypatch.setattr(application, "_load_head", always_stale)
    with pytest.raises(ConcurrencyError):
        await application.handle(posting(2), DESK, ok)
    assert await versions(database) == [1, 2, 3]


async def test_events_and_the_idempotency_record_commit_together_or_not_at_all(database: Database) -> None:
    application = Application(database)
    await application.handle(opening(), DESK, ok)

    def broken(state: StoryState) -> StoredResponse:
        raise RuntimeError("rendering failed after the append")

    key = IdempotencyKey(scope="desk", key="k1", fingerprint="f")
    with pytest.raises(RuntimeError):
        await application.handle(posting(1), DESK, broken, idempotency_key=key)
    assert await versions(database) == [1, 2]
    async with database.read() as connection:
        records = (
            await connection.execute(select(func.count()).select_from(idempotency_records))
        ).scalar_one()
    assert records == 0
    outcome = await application.handle(posting(1), DESK, ok, idempotency_key=key)
    assert outcome.response.body == "3"


async def test_a_replayed_key_returns_the_first_response_and_appends_nothing(database: Database) -> None:
    application = Application(database)
    await application.handle(opening(), DESK, ok)
    key = IdempotencyKey(scope="desk", key="k1", fingerprint="f")
    first = await application.handle(posting(1), DESK, ok, idempotency_key=key)
    again = await application.handle(posting(1), DESK, ok, idempotency_key=key)
    assert again.replayed and again.response == first.response
    assert await versions(database) == [1, 2, 3]


async def test_every_hundredth_version_is_snapshotted_and_loading_from_it_matches_the_log(
    database: Database,
) -> None:
    writer = Application(database)
    await writer.handle(opening(), DESK, ok)
    for number in range(1, 120):
        await writer.handle(posting(number), DESK, ok)
    async with database.read() as connection:
        snapshot = await snapshots.latest(connection, "raid")
    assert snapshot is not None and snapshot.version == 100
    cold = Application(database)  # an empty cache: snapshot plus the 21 events after it
    assert await _state(cold) == await _state(writer)
    assert (await _state(cold)).version == 121


async def test_a_second_process_sees_what_the_first_appended(database: Database) -> None:
    """Each process caches states; the cache is only a starting point, never the truth."""
    first, second = Application(database), Application(database)
    await first.handle(opening(), DESK, ok)
    await second.handle(posting(1), DESK, ok)
    await first.handle(posting(2), DESK, ok)
    outcome = await second.handle(posting(3), DESK, ok)
    assert outcome.response.body == "5"
    assert await versions(database) == [1, 2, 3, 4, 5]


async def _state(application: Application, slug: str = "raid") -> StoryState:
    async with application.database.read() as connection:
        state = await application.load(connection, slug)
    assert state is not None
    return state


async def _head(application: Application, slug: str = "raid") -> Head:
    """The story's head as the write path loads it (to replay it later, stale)."""
    async with application.database.read() as connection:
        return await application._load_head(connection, slug)


@pytest.mark.postgres
async def test_servers_starting_together_register_their_signing_key_once(
    postgres_url: str, tmp_path: Path
) -> None:
    """Story writes no longer serialise every write: the key's registration takes the
    exclusive lock, so servers that start at once do not both insert it."""
    settings = Settings(database_url=postgres_url, signing_key_path=tmp_path / "signing.key")
    databases = [Database(postgres_url) for _ in range(6)]
    try:
        await asyncio.gather(*(build_application(settings, database) for database in databases))
        async with databases[0].read() as connection:
            assert len(await checkpoints.public_keys(connection)) == 1
    finally:
        for database in databases:
            await database.dispose()
