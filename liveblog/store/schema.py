"""Bringing a database's schema to the current migration, and checking that it is there.

The Alembic history is package data, ``liveblog/migrations`` (see :mod:`liveblog.resources`):
the configuration is built here, so neither the server nor ``liveblog migrate`` needs an
``alembic.ini`` (the one at the top of the repository is for developers' ``alembic``
commands and points at the same folder).
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from liveblog import resources
from liveblog.errors import SchemaNotMigrated, StoreError
from liveblog.store.database import Database, translate_errors


def alembic_config() -> Config:
    """An Alembic configuration for the package's migrations, with no ``alembic.ini``.

    Raises :class:`StoreError` if the installed package lacks them (a broken build)."""
    try:
        migrations = resources.folder(resources.MIGRATIONS)
    except FileNotFoundError as missing:
        raise StoreError(f"the migrations are missing: {missing}") from missing
    if not (migrations / "env.py").is_file():
        raise StoreError(f"the migrations folder has no env.py: {migrations}")
    config = Config()
    # Alembic's option values go through configparser's interpolation: escape any '%'.
    config.set_main_option("script_location", str(migrations).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(database: Database) -> str | None:
    async with translate_errors(), database.engine.connect() as connection:
        return await connection.run_sync(_current)


async def upgrade(database: Database) -> None:
    """Apply every migration the database lacks (a no-op when it is current)."""
    config = alembic_config()

    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")

    async with translate_errors(), database.engine.begin() as connection:
        await connection.run_sync(run)


async def ensure_migrated(database: Database) -> None:
    """Make sure the schema is current: SQLite is migrated in place, PostgreSQL must be
    migrated by an operator (``liveblog migrate``), so a server never changes a shared
    production database by surprise."""
    current, head = await current_revision(database), head_revision()
    if current == head:
        return
    if database.is_sqlite:
        await upgrade(database)
        return
    raise SchemaNotMigrated(
        f"the PostgreSQL database is at migration {current or 'none'}, this server needs {head}; "
        "run `liveblog migrate` with the same LIVEBLOG_DATABASE_URL first"
    )
