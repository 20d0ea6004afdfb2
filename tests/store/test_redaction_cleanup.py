"""liveblog/store/redaction_cleanup.py: after rows are rewritten, the database gives up the old
bytes (SQLite: WAL checkpoint, VACUUM, secure_delete; PostgreSQL: VACUUM, best effort).

These tests use a scratch table, so they hold whatever the redaction path does; the whole path
(redact through the API, then search the files and every table) is tests/api/test_redaction_surfaces.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from liveblog.store import redaction_cleanup
from liveblog.store.database import Database

SECRET = "Zyxwvu-the-name-a-court-ordered-removed-7f3a"


def sqlite_files(database: Database) -> list[Path]:
    main = Path(database.url.split("///", 1)[1])
    return [path for path in (main, Path(f"{main}-wal"), Path(f"{main}-shm")) if path.exists()]


def holding(files: list[Path], needle: str) -> list[str]:
    return [path.name for path in files if needle.encode() in path.read_bytes()]


async def write_and_delete(database: Database) -> None:
    async with database.write() as connection:
        await connection.execute(text("CREATE TABLE scratch (body TEXT NOT NULL)"))
    async with database.write() as connection:
        for n in range(200):  # many pages' worth, some rows overflowing a page
            await connection.execute(
                text("INSERT INTO scratch (body) VALUES (:body)"), {"body": f"{SECRET} {n} " + "x" * (n * 40)}
            )
    async with database.write() as connection:
        await connection.execute(text("DELETE FROM scratch"))


async def test_sqlite_files_hold_no_trace_after_the_cleanup(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        await write_and_delete(database)
        # Without the cleanup the bytes are still there (the log holds the pages as written),
        # so the search below can find what it looks for.
        assert holding(sqlite_files(database), SECRET)
        report = await redaction_cleanup.scrub(database)
        assert report.complete, report.problems
        assert report.done == ["PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"]
        assert sqlite_files(database)
        assert holding(sqlite_files(database), SECRET) == []
        assert holding(sqlite_files(database), SECRET[:12]) == []
    finally:
        await database.dispose()


async def test_secure_delete_is_on_for_every_connection(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        async with database.read() as connection:
            assert (await connection.execute(text("PRAGMA secure_delete"))).scalar_one() == 1
    finally:
        await database.dispose()


async def test_the_pool_keeps_its_transactions_after_the_cleanup(database: Database) -> None:
    """The cleanup runs on the driver's connection outside any transaction; the pooled
    connection it borrowed must still roll back and commit as before."""
    async with database.write() as connection:
        await connection.execute(text("CREATE TABLE scratch (body TEXT NOT NULL)"))
    assert (await redaction_cleanup.scrub(database)).complete
    with pytest.raises(RuntimeError):
        async with database.write() as connection:
            await connection.execute(text("INSERT INTO scratch (body) VALUES ('rolled back')"))
            raise RuntimeError("abort")
    async with database.write() as connection:
        await connection.execute(text("INSERT INTO scratch (body) VALUES ('kept')"))
    async with database.read() as connection:
        rows = (await connection.execute(text("SELECT body FROM scratch"))).scalars().all()
    assert rows == ["kept"]


@pytest.mark.postgres
async def test_postgres_vacuums_every_table_of_the_schema(postgres_url: str) -> None:
    database = Database(postgres_url)
    try:
        await write_and_delete(database)
        report = await redaction_cleanup.scrub(database)
        assert report.complete, report.problems
        assert "VACUUM public.scratch" in report.done
        assert "VACUUM public.events" in report.done
        only = await redaction_cleanup.scrub(database, tables=["scratch"], full=True)
        assert only.done == ["VACUUM (FULL) scratch"] and only.complete
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_postgres_cleanup_is_best_effort(postgres_url: str) -> None:
    """A table that cannot be vacuumed is reported and logged, never raised: the redaction
    has committed by then."""
    database = Database(postgres_url)
    try:
        report = await redaction_cleanup.scrub(database, tables=["no_such_table"])
        assert not report.complete and "no_such_table" in report.problems[0]
    finally:
        await database.dispose()
