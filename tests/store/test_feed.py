"""The change feed's store module: cursors, order, what readers may see, and the horizon."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from liveblog.errors import InvalidCursor
from liveblog.store import event_store, feed
from liveblog.store.database import Database
from liveblog.store.event_store import NewEvent
from liveblog.store.feed import FeedCursor

NOW = datetime(2023, 6, 4, 10, 30, tzinfo=UTC)


def noted(kind: str = "Noted") -> list[NewEvent]:
    return [NewEvent(type=kind, data={}, metadata={"actor": {"id": "t"}})]


async def append(database: Database, stream: str, expected: int, kind: str = "Noted") -> None:
    async with database.write(stream) as connection:
        await event_store.append(connection, stream, expected, noted(kind), recorded_at=NOW)


async def everything(
    database: Database, *, published_only: bool = False, limit: int = 2
) -> list[tuple[str, int]]:
    """The whole feed, read ``limit`` at a time, as (story, version)."""
    seen: list[tuple[str, int]] = []
    cursor: FeedCursor | None = None
    async with database.read() as connection:
        while True:
            batch, after = await feed.read_page(connection, cursor, limit, published_only=published_only)
            seen += [(e.stream, e.version) for e in batch]
            if after == cursor and not await feed.held_back(connection, cursor):
                return seen
            # Held back: another transaction of the cluster (other tests') is still open.
            cursor = after
            await asyncio.sleep(0.01 if after == cursor else 0)


def test_a_cursor_survives_its_string_form() -> None:
    for cursor in (feed.START, FeedCursor(749, 1042), FeedCursor(2**63 - 1, 2**63 - 1)):
        encoded = cursor.encode()
        assert len(encoded) <= feed.MAX_CURSOR_LENGTH
        assert FeedCursor.decode(encoded) == cursor
    assert FeedCursor(1, 9) < FeedCursor(2, 1) < FeedCursor(2, 3)


def _b64(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "hostile",
    [
        "",
        "x" * 65,
        "!!!",
        "ZjEuNzQ5LjEwNDI=",  # padded: not the one spelling
        "ZjEuNzQ5LjEwNDI.",
        "\u00e9t\u00e9",
        "A",
        _b64("f1.-1.2"),
        _b64("f1.01.2"),
        _b64("f1.1.2.3"),
        _b64("f2.1.2"),
        _b64("f1.9223372036854775808.1"),
        _b64("f1.1.99999999999999999999"),
        _b64("f1.1 .2"),
        _b64("f1.\u0661.2"),
        _b64("' OR 1=1 --"),
        "ZjEuMS4y\n",
    ],
)
def test_anything_but_an_issued_cursor_is_refused(hostile: str) -> None:
    with pytest.raises(InvalidCursor):
        FeedCursor.decode(hostile)


async def test_the_feed_interleaves_stories_in_commit_order_and_resumes_exactly(database: Database) -> None:
    await append(database, "story-a", 0)
    await append(database, "story-b", 0)
    await append(database, "story-a", 1)
    assert await everything(database, limit=1) == [("story-a", 1), ("story-b", 1), ("story-a", 2)]
    async with database.read() as connection:  # everything is below the horizon now
        first, cursor = await feed.read_page(connection, None, 1)
        rest, end = await feed.read_page(connection, cursor, 10)
        again, same = await feed.read_page(connection, end, 10)
        assert await feed.head(connection) == end
    assert [e.stream for e in first + rest] == ["story-a", "story-b", "story-a"]
    assert cursor == feed.cursor_of(first[0])
    assert (again, same) == ([], end)
    if database.is_sqlite:
        assert {e.xid for e in first + rest} == {0}


async def test_a_reader_of_published_stories_sees_them_from_their_publication(database: Database) -> None:
    """docs/live-drafts.md's rule, in the feed: a story with a draft period from its
    publication on, one published at once from its opening, a draft never."""
    await append(database, "drafted", 0, "StoryOpened")
    await append(database, "at-once", 0, "StoryOpened")
    await append(database, "drafted", 1, "UpdatePosted")
    await append(database, "at-once", 1, "StoryPublished")
    await append(database, "secret", 0, "StoryOpened")
    await append(database, "drafted", 2, "StoryPublished")
    await append(database, "drafted", 3, "UpdatePosted")
    await append(database, "secret", 1, "UpdatePosted")
    await append(database, "at-once", 2, "UpdatePosted")
    staff = await everything(database)
    assert len(staff) == 9
    for limit in (1, 2, 50):
        assert await everything(database, published_only=True, limit=limit) == [
            ("at-once", 1),
            ("at-once", 2),
            ("drafted", 3),
            ("drafted", 4),
            ("at-once", 3),
        ]


async def test_hidden_events_move_the_cursor_on(database: Database) -> None:
    """A run of drafts longer than a read: the page comes back empty but the cursor moves,
    so the next read does not look at them again; caught up means the cursor stays."""
    for version in range(feed.SCAN_ROUNDS * 2 + 1):
        await append(database, "secret", version)
    assert len(await everything(database)) == feed.SCAN_ROUNDS * 2 + 1  # all below the horizon
    async with database.read() as connection:
        batch, cursor = await feed.read_page(connection, None, 1, published_only=True)
        assert batch == [] and cursor == FeedCursor(cursor.xid, cursor.position) != feed.START
        while True:
            batch, after = await feed.read_page(connection, cursor, 1, published_only=True)
            assert batch == []
            if after == cursor:
                break
            cursor = after
        assert (
            cursor
            == await feed.head(connection)
            == feed.cursor_of((await event_store.read_all(connection))[-1])
        )


@pytest.mark.postgres
async def test_stories_do_not_wait_for_each_other_and_a_late_commit_is_never_skipped(
    postgres_url: str,
) -> None:
    """A transaction on story A stays open with its event appended. Meanwhile a write to B
    commits (it does not wait for A's lock), a second writer of A waits for the lock, and
    the feed holds B's event back (A's older transaction might still commit before it).
    When A commits, the feed gives A's event, then B's, then A's second: none skipped."""
    database = Database(postgres_url)
    holding, release = asyncio.Event(), asyncio.Event()

    async def first_writer_of_a() -> None:
        async with database.write("story-a") as connection:
            await event_store.append(connection, "story-a", 0, noted(), recorded_at=NOW)
            holding.set()
            await release.wait()

    async def second_writer_of_a() -> None:
        async with database.write("story-a") as connection:
            version = await event_store.stream_version(connection, "story-a")
            await event_store.append(connection, "story-a", version, noted(), recorded_at=NOW)

    try:
        first = asyncio.create_task(first_writer_of_a())
        await holding.wait()
        await asyncio.wait_for(append(database, "story-b", 0), timeout=60)  # not blocked by A
        second = asyncio.create_task(second_writer_of_a())
        async with database.read() as connection:
            while not await _waiting_for_an_advisory_lock(connection):
                await asyncio.sleep(0.01)
            assert not second.done()
            assert await feed.read_page(connection, None, 10) == ([], feed.START)
            assert await feed.held_back(connection, None)
        release.set()
        await asyncio.wait_for(asyncio.gather(first, second), timeout=60)
        assert await everything(database) == [("story-a", 1), ("story-b", 1), ("story-a", 2)]
        async with database.read() as connection:
            stored = await event_store.read_all(connection)
        # B took its position after A's first event, but before A's second.
        assert [(e.stream, e.version) for e in stored] == [("story-a", 1), ("story-b", 1), ("story-a", 2)]
        assert len({e.xid for e in stored}) == 3
    finally:
        release.set()
        await database.dispose()


async def _waiting_for_an_advisory_lock(connection: object) -> bool:
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    return bool((await connection.execute(query)).scalar_one())  # type: ignore[attr-defined]


@pytest.mark.postgres
async def test_an_exclusive_write_waits_for_story_writes(postgres_url: str) -> None:
    """A projection rebuild's transaction keeps every story's writes out, and waits for them."""
    database = Database(postgres_url)
    holding, release = asyncio.Event(), asyncio.Event()

    async def story_writer() -> None:
        async with database.write("story-a") as connection:
            await event_store.append(connection, "story-a", 0, noted(), recorded_at=NOW)
            holding.set()
            await release.wait()

    async def exclusive() -> int:
        async with database.write(exclusive=True) as connection:
            return await event_store.count(connection)

    try:
        writer = asyncio.create_task(story_writer())
        await holding.wait()
        rebuild = asyncio.create_task(exclusive())
        async with database.read() as connection:
            while not await _waiting_for_an_advisory_lock(connection):
                await asyncio.sleep(0.01)
        assert not rebuild.done()
        release.set()
        await writer
        assert await rebuild == 1
    finally:
        release.set()
        await database.dispose()


@pytest.mark.postgres
async def test_liveblog_sessions_end_transactions_left_idle(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        async with database.read() as connection:
            setting = (
                await connection.execute(text("SHOW idle_in_transaction_session_timeout"))
            ).scalar_one()
        assert setting == "1min"
        async with database.write("story-a") as connection:
            setting = (
                await connection.execute(text("SHOW idle_in_transaction_session_timeout"))
            ).scalar_one()
        assert setting == "10s"
    finally:
        await database.dispose()
