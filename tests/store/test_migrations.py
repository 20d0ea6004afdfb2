"""One Alembic history for SQLite and PostgreSQL: it upgrades an empty database to exactly
the tables the code declares, fills new read models from an existing log, and a server
refuses an unmigrated PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

import liveblog.projections.tables  # noqa: F401  (the read-model tables join the metadata)
from liveblog import demo
from liveblog.errors import SchemaNotMigrated
from liveblog.projections import past_views, rebuild, story_view
from liveblog.store import schema
from liveblog.store.database import Database
from liveblog.store.tables import metadata
from tests.api.helpers import open_story, post_update


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


async def _downgrade(database: Database, revision: str) -> None:
    config = schema.alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with database.engine.begin() as connection:
        await connection.run_sync(run)


async def test_upgrading_to_0002_fills_the_past_read_model_from_the_log(
    empty_database: Database, capfd: pytest.CaptureFixture[str]
) -> None:
    await schema.upgrade(empty_database)
    await demo.play(empty_database)
    async with empty_database.read() as connection:
        kept_inline = await past_views.stored_rows(connection)
    await _downgrade(empty_database, "0001")
    capfd.readouterr()

    await schema.upgrade(empty_database)

    assert "past read model: 26 of 26 events" in capfd.readouterr().err
    async with empty_database.read() as connection:
        assert await past_views.stored_rows(connection) == kept_inline
    assert await rebuild.check(empty_database) == []


async def test_upgrading_to_0004_marks_the_updates_retracted_in_a_draft_from_the_log(
    database: Database,
    client: httpx.AsyncClient,
    editor: dict[str, str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Two stories: one with an update retracted while a draft, then published (marked), one
    retracted after publication (not marked); the rows after 0004 are those kept inline."""
    withdrawn: dict[str, str] = {}
    for slug, publish_first in (("drafted", False), ("public", True)):
        await open_story(client, editor, slug=slug, publish=publish_first)
        update = await post_update(client, editor, slug=slug)
        kept = await post_update(client, editor, slug=slug, body="Kept.")
        response = await client.post(
            f"/api/v1/stories/{slug}/updates/{update['id']}/retraction",
            json={"reason": "wrong", "note": "Withdrawn."},
            headers=editor,
        )
        assert response.status_code == 200, response.text
        if not publish_first:
            assert (await client.post(f"/api/v1/stories/{slug}/publish", headers=editor)).status_code == 200
        withdrawn[slug] = update["id"]
        assert kept["id"] != update["id"]
    async with database.read() as connection:
        kept_inline = (await story_view.stored_rows(connection), await past_views.stored_rows(connection))
    marked = {key for key, row in kept_inline[0][1].items() if row["draft_only"]}
    assert marked == {("drafted", withdrawn["drafted"])}
    assert {(row["story"], row["id"]) for row in kept_inline[1][1].values() if row["draft_only"]} == marked
    await _downgrade(database, "0003")
    async with database.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("update_views")}
        )
    assert "draft_only" not in columns
    capfd.readouterr()

    await schema.upgrade(database)

    assert "draft-only updates: 1 marked" in capfd.readouterr().err
    async with database.read() as connection:
        assert (
            await story_view.stored_rows(connection),
            await past_views.stored_rows(connection),
        ) == kept_inline
    assert await rebuild.check(database) == []
    await rebuild.rebuild(database)
    async with database.read() as connection:
        assert (
            await story_view.stored_rows(connection),
            await past_views.stored_rows(connection),
        ) == kept_inline
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_drift) == []


@pytest.mark.postgres
async def test_an_unmigrated_postgresql_is_refused_with_a_clear_message(empty_postgres_url: str) -> None:
    database = Database(empty_postgres_url)
    try:
        with pytest.raises(SchemaNotMigrated, match="liveblog migrate"):
            await schema.ensure_migrated(database)
        assert await schema.current_revision(database) is None
    finally:
        await database.dispose()
