"""The event store's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from liveblog.errors import ConcurrencyError
from liveblog.store import event_store, feed
from liveblog.store.database import Database
from liveblog.store.event_store import NewEvent

NOW = datetime(2023, 6, 4, 10, 30, tzinfo=UTC)


def new(n: int = 1) -> list[NewEvent]:
    return [NewEvent(type="Noted", data={"n": i}, metadata={"actor": {"id": "t"}}) for i in range(n)]


async def append(database: Database, stream: str, expected: int, events: list[NewEvent]) -> list[int]:
    async with database.write(stream) as connection:
        recorded = await event_store.append(connection, stream, expected, events, recorded_at=NOW)
    return [r.position for r in recorded]


async def test_a_new_stream_starts_at_version_one_and_counts_up(database: Database) -> None:
    await append(database, "story-a", 0, new(2))
    await append(database, "story-a", 2, new(1))
    async with database.read() as connection:
        stream = await event_store.read_stream(connection, "story-a")
        version = await event_store.stream_version(connection, "story-a")
    assert [e.version for e in stream] == [1, 2, 3]
    assert [e.data for e in stream] == [{"n": 0}, {"n": 1}, {"n": 0}]
    assert version == 3
    assert stream[0].recorded_at == NOW
    assert stream[0].metadata == {"actor": {"id": "t"}}
    assert [e.position for e in stream] == sorted(e.position for e in stream)


async def test_an_append_at_a_stale_version_fails_and_records_nothing(database: Database) -> None:
    await append(database, "story-a", 0, new(2))
    with pytest.raises(ConcurrencyError) as caught:
        await append(database, "story-a", 1, new(3))
    assert caught.value.expected_version == 1
    async with database.read() as connection:
        assert await event_store.stream_version(connection, "story-a") == 2
        assert await event_store.count(connection) == 2


async def test_read_stream_after_a_version_and_with_a_limit(database: Database) -> None:
    await append(database, "story-a", 0, new(5))
    async with database.read() as connection:
        tail = await event_store.read_stream(connection, "story-a", after=2, limit=2)
    assert [e.version for e in tail] == [3, 4]


async def test_read_all_interleaves_streams_in_global_order(database: Database) -> None:
    first = await append(database, "story-a", 0, new(1))
    second = await append(database, "story-b", 0, new(1))
    third = await append(database, "story-a", 1, new(1))
    async with database.read() as connection:
        everything = await event_store.read_all(connection)
        after_first = await event_store.read_all(connection, after=first[0], limit=1)
    assert [e.position for e in everything] == first + second + third
    assert [e.stream for e in everything] == ["story-a", "story-b", "story-a"]
    assert [e.position for e in after_first] == second


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = '{\"n\": 99}' WHERE version = 1",
        "UPDATE events SET version = 7",
        "DELETE FROM events WHERE version = 1",
        "DELETE FROM events",
    ],
)
async def test_the_database_refuses_to_change_or_delete_events(database: Database, statement: str) -> None:
    await append(database, "story-a", 0, new(2))
    with pytest.raises(DBAPIError, match="append-only"):
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))
    async with database.read() as connection:
        stream = await event_store.read_stream(connection, "story-a")
    assert [(e.version, e.data) for e in stream] == [(1, {"n": 0}), (2, {"n": 1})]


@pytest.mark.postgres
async def test_postgresql_refuses_truncate(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        await append(database, "story-a", 0, new(1))
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.engine.begin() as connection:
                await connection.execute(text("TRUNCATE events"))
        async with database.read() as connection:
            assert await event_store.count(connection) == 1
    finally:
        await database.dispose()


async def test_a_tailing_reader_sees_every_event_exactly_once_under_16_writers(database: Database) -> None:
    """ARCHITECTURE rule 4: a reader resuming after the last position never skips a
    transaction that committed late. 16 writers, 25 single-event appends each."""
    writers, appends = 16, 25
    total = writers * appends
    seen: list[int] = []

    async def writer(number: int) -> None:
        for version in range(appends):
            async with database.write(f"story-{number}") as connection:
                await event_store.append(connection, f"story-{number}", version, new(1), recorded_at=NOW)
                # Work between taking a position and committing (projections do this): the
                # window in which a naive reader would skip a late committer.
                await asyncio.sleep(random.random() / 500)

    writers_done = asyncio.Event()

    async def reader() -> None:
        after = feed.START
        while True:
            finished = writers_done.is_set()  # read once more after the last commit
            async with database.read() as connection:
                batch, after = await feed.read_page(connection, after, 50)
            seen.extend(e.position for e in batch)
            if finished and not batch:
                return
            await asyncio.sleep(0)

    async def write_all() -> None:
        await asyncio.gather(*(writer(n) for n in range(writers)))
        writers_done.set()

    await asyncio.wait_for(asyncio.gather(reader(), write_all()), timeout=120)
    async with database.read() as connection:
        stored = [e.position for e in await event_store.read_all(connection, limit=total + 1)]
    assert sorted(seen) == stored
    assert len(set(seen)) == total
