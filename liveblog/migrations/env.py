"""Alembic environment for liveblog: one history for SQLite and PostgreSQL.

Run either with a connection handed over in ``config.attributes["connection"]`` (what
``liveblog migrate`` and ``serve`` do) or from the ``alembic`` command line, which connects
to ``LIVEBLOG_DATABASE_URL``.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import liveblog.projections.tables  # noqa: F401  (registers the read-model tables)
from liveblog.config import Settings
from liveblog.store.tables import metadata

config = context.config
target_metadata = metadata


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_url() -> None:
    url = config.get_main_option("sqlalchemy.url") or Settings().database_url
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("liveblog's migrations run online only")

handed_over = config.attributes.get("connection")
if handed_over is not None:
    run_on(handed_over)
else:
    asyncio.run(run_from_url())
