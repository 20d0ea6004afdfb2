"""The database handle: engine creation, the serialised write transaction, error translation.

Appends are serialised. On PostgreSQL every write transaction first takes one
transaction-scoped advisory lock, so events commit in ``position`` order and a reader
tailing ``position > last`` can never skip one that commits late (ARCHITECTURE rule 4;
FIELD-NOTES measured 0 missed events with this, hundreds without). On SQLite a write
transaction opens with ``BEGIN IMMEDIATE`` (the database's own single writer lock, taken up
front so it cannot fail half-way) behind an in-process lock, so waiting happens in asyncio
rather than in SQLite's busy loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from liveblog.errors import SchemaNotMigrated, StoreError

# An arbitrary constant naming liveblog's append lock among the server's advisory locks.
APPEND_LOCK_KEY = 0x6C697665626C6F67  # "liveblog"
_WRITE = "liveblog_write"


class Database:
    """One database: an async engine plus the write discipline described above."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(url, echo=echo, **_engine_options(url))
        self.dialect = self.engine.dialect.name
        self._local_write_lock = asyncio.Lock()
        if self.dialect == "sqlite":
            _configure_sqlite(self.engine)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read-only transaction, rolled back at the end."""
        async with translate_errors(), self.engine.connect() as connection:
            yield connection

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A serialised write transaction: committed if the block succeeds, else rolled back."""
        async with translate_errors():
            if self.is_sqlite:
                async with self._local_write_lock, self._write_transaction() as connection:
                    yield connection
            else:
                async with self._write_transaction() as connection:
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY}
                    )
                    yield connection

    @asynccontextmanager
    async def _write_transaction(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as connection:
            await connection.execution_options(**{_WRITE: True})
            async with connection.begin():
                yield connection

    @asynccontextmanager
    async def outside_transaction(self) -> AsyncIterator[Any]:
        """The driver's own connection (aiosqlite's or asyncpg's), in no transaction, for the
        statements that cannot run in one (``VACUUM``; :mod:`liveblog.store.redaction_cleanup`).
        On SQLite it is held behind the process's write lock, so no write of this process
        comes between. The driver is used directly because SQLAlchemy's ``AUTOCOMMIT`` would
        change the SQLite connection's transaction handling for later users of the pool."""
        async with translate_errors():
            if self.is_sqlite:
                async with self._local_write_lock, self.engine.connect() as connection:
                    yield (await connection.get_raw_connection()).driver_connection
            else:
                async with self.engine.connect() as connection:
                    yield (await connection.get_raw_connection()).driver_connection

    async def dispose(self) -> None:
        await self.engine.dispose()


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_size": 20, "max_overflow": 10, "pool_pre_ping": True}


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # REPLACE's implicit delete then fires DELETE triggers too; the append-only tables do
        # not rely on it (migration 0003 refuses REPLACE on any connection), it is belt and braces.
        cursor.execute("PRAGMA recursive_triggers=ON")
        # Freed space is zeroed as it is freed, so a redacted text leaves no bytes behind in
        # the file even before the VACUUM that follows a redaction (docs/redaction.md).
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        write = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@asynccontextmanager
async def translate_errors() -> AsyncIterator[None]:
    """Turn driver errors that mean "no usable database" into :class:`StoreError`."""
    try:
        yield
    except (OperationalError, ProgrammingError) as exc:
        message = str(exc.orig) if exc.orig is not None else str(exc)
        if "no such table" in message or ("does not exist" in message and "relation" in message):
            raise SchemaNotMigrated("the database has no liveblog schema; run `liveblog migrate`") from exc
        raise StoreError(f"database error: {message.splitlines()[0]}") from exc
    except (OSError, ConnectionError) as exc:
        raise StoreError(f"cannot reach the database: {exc}") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreError("lost the connection to the database") from exc
        raise
