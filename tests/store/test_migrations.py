"""One Alembic history for SQLite and PostgreSQL: it upgrades an empty database to exactly
the tables the code declares, and a server refuses an unmigrated PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection

import liveblog.projections.tables  # noqa: F401  (the read-model tables join the metadata)
from liveblog.errors import SchemaNotMigrated
from liveblog.store import schema
from liveblog.store.database import Database
from liveblog.store.tables import metadata


@pytest.fixture
def empty_url(backend: str, request: pytest.FixtureRequest) -> str:
    url: str = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "empty_postgres_url")
    return url


@pytest.fixture
async def empty_database(empty_url: str) -> AsyncIterator[Database]:
    database = Database(empty_url)
    yield database
    await database.dispose()


def _drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_upgrade_from_empty_reaches_head_with_no_drift_from_the_models(
    empty_database: Database,
) -> None:
    assert await schema.current_revision(empty_database) is None
    await schema.upgrade(empty_database)
    assert await schema.current_revision(empty_database) == schema.head_revision()
    async with empty_database.engine.connect() as connection:
        assert await connection.run_sync(_drift) == []


async def test_upgrade_is_safe_to_run_again(empty_database: Database) -> None:
    await schema.upgrade(empty_database)
    await schema.upgrade(empty_database)
    assert await schema.current_revision(empty_database) == schema.head_revision()


async def test_a_fresh_sqlite_file_is_migrated_when_the_server_starts(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        await schema.ensure_migrated(database)
        assert await schema.current_revision(database) == schema.head_revision()
    finally:
        await database.dispose()


@pytest.mark.postgres
async def test_an_unmigrated_postgresql_is_refused_with_a_clear_message(empty_postgres_url: str) -> None:
    database = Database(empty_postgres_url)
    try:
        with pytest.raises(SchemaNotMigrated, match="liveblog migrate"):
            await schema.ensure_migrated(database)
        assert await schema.current_revision(database) is None
    finally:
        await database.dispose()
