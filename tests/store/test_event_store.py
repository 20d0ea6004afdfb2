"""The event store's contract, run against SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from liveblog.errors import ConcurrencyError
from liveblog.store import event_store, feed
from liveblog.store.database import Database
from liveblog.store.event_store import NewEvent, RecordedEvent
from tests.process_guard import spawn, stop

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


async def tail(database: Database, until: Callable[[], bool]) -> list[RecordedEvent]:
    """Follow the change feed from the start until ``until()`` held before a read that
    found the reader caught up (nothing new, nothing held back by a transaction still open
    anywhere on the cluster); every event received, in the order received."""
    seen: list[RecordedEvent] = []
    cursor = feed.START
    while True:
        finished = until()  # read once more after the last commit
        async with database.read() as connection:
            batch, after = await feed.read_page(connection, cursor, 50)
            caught_up = after == cursor and not await feed.held_back(connection, cursor)
        seen += batch
        if finished and caught_up:
            return seen
        cursor = after
        await asyncio.sleep(0)


async def feed_order(database: Database) -> list[RecordedEvent]:
    async with database.read() as connection:
        stored = await event_store.read_all(connection, limit=100_000)
    return sorted(stored, key=feed.cursor_of)


def assert_exactly_once(seen: list[RecordedEvent], stored: list[RecordedEvent], total: int) -> None:
    assert len(stored) == total
    assert [feed.cursor_of(e) for e in seen] == [feed.cursor_of(e) for e in stored]  # once, in feed order
    for stream in {e.stream for e in stored}:
        assert [e.version for e in seen if e.stream == stream] == list(
            range(1, 1 + sum(e.stream == stream for e in stored))
        )


async def test_a_tailing_reader_sees_every_event_exactly_once_under_16_writers(database: Database) -> None:
    """ARCHITECTURE rule 4: 16 writers, each on its own story (so on PostgreSQL they commit
    in parallel and out of ``position`` order), 25 single-event appends each, and a reader
    following the change feed: it gets every event once, in the feed's order."""
    writers, appends = 16, 25
    writers_done = asyncio.Event()

    async def writer(number: int) -> None:
        for version in range(appends):
            async with database.write(f"story-{number}") as connection:
                await event_store.append(connection, f"story-{number}", version, new(1), recorded_at=NOW)
                # Work between taking a position and committing (projections do this): the
                # window in which a naive reader would skip a late committer.
                await asyncio.sleep(random.random() / 500)

    async def write_all() -> None:
        await asyncio.gather(*(writer(n) for n in range(writers)))
        writers_done.set()

    seen, _ = await asyncio.wait_for(
        asyncio.gather(tail(database, writers_done.is_set), write_all()), timeout=120
    )
    assert_exactly_once(seen, await feed_order(database), writers * appends)


@pytest.mark.postgres
async def test_a_tailing_reader_sees_every_event_once_from_writers_in_two_processes(
    postgres_url: str,
) -> None:
    """The same across processes: two writer processes with 8 writers each (16 stories) on
    one PostgreSQL database, and a reader here following the feed."""
    writers, appends = 8, 25
    database = Database(postgres_url)
    processes = [
        spawn(
            [
                sys.executable,
                "-m",
                "tests.store.feed_writer",
                postgres_url,
                prefix,
                str(writers),
                str(appends),
            ]
        )
        for prefix in ("a", "b")
    ]
    try:
        seen = await asyncio.wait_for(
            tail(database, lambda: all(p.poll() is not None for p in processes)), timeout=180
        )
        assert [p.returncode for p in processes] == [0, 0]
        stored = await feed_order(database)
        assert_exactly_once(seen, stored, 2 * writers * appends)
    finally:
        for process in processes:
            stop(process)
        await database.dispose()
