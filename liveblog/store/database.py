"""The database handle: engine creation, the write transaction and its locks, error translation.

Writes to one story are serialised, writes to different stories run in parallel. On
PostgreSQL a write transaction about a story first takes a transaction-scoped advisory lock
of its own for that story (two-key form: liveblog's namespace and ``hashtext(slug)``), and
a shared lock on liveblog's database-wide key, which only :meth:`Database.write` with
``exclusive=True`` (a projection rebuild) takes exclusively. Two slugs whose hashes collide
share a lock: they wait for each other, which is correct, only slower. Within a story the
unique ``(stream, version)`` keeps versions gapless whatever the locks do; the lock spares
writers the retry.

Since events of different stories commit in any order, ``position`` is no longer safe to
tail: the global change feed reads by ``(xid, position)`` below the transaction horizon
(:mod:`liveblog.store.feed`). Every liveblog connection ends a transaction left idle for
``IDLE_IN_TRANSACTION`` (a write transaction for ``IDLE_IN_WRITE``), because an open write
transaction holds the horizon back and stalls every tail of the feed.

On SQLite a write transaction opens with ``BEGIN IMMEDIATE`` (the database's own single
writer lock, taken up front so it cannot fail half-way) behind an in-process lock, so
waiting happens in asyncio rather than in SQLite's busy loop: SQLite stays one writer.
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

# An arbitrary constant naming liveblog's database-wide lock among the server's advisory
# locks (story writes hold it shared, a rebuild exclusively).
APPEND_LOCK_KEY = 0x6C697665626C6F67  # "liveblog"
# The first key of every story's lock (two int4 keys, a space apart from one-bigint keys).
STORY_LOCK_NAMESPACE = 0x6C627374  # "lbst"
# How long a session may sit idle inside a transaction before the server ends it. Reads
# too (an export whose client stopped reading for a minute is cut); writes get less.
IDLE_IN_TRANSACTION = "60s"
IDLE_IN_WRITE = "10s"
_STORY_LOCK = text(
    "SELECT pg_advisory_xact_lock_shared(:key), pg_advisory_xact_lock(:namespace, hashtext(:story)),"
    " set_config('idle_in_transaction_session_timeout', :idle, true)"
)
_EXCLUSIVE_LOCK = text(
    "SELECT pg_advisory_xact_lock(:key), set_config('idle_in_transaction_session_timeout', :idle, true)"
)
_WRITE_TIMEOUT = text("SELECT set_config('idle_in_transaction_session_timeout', :idle, true)")
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
    async def write(
        self, story: str | None = None, *, exclusive: bool = False
    ) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed if the block succeeds, else rolled back.

        ``story``: the slug of the one story the transaction appends to, whose writes are
        serialised (every append must name its story). Without it (tokens, keys) no lock is
        taken on PostgreSQL: such writes rely on their own keys and constraints.
        ``exclusive``: wait for every story's write to end and keep them all out (a
        projection rebuild). On SQLite every write transaction is the only one anyway.
        """
        async with translate_errors():
            if self.is_sqlite:
                async with self._local_write_lock, self._write_transaction() as connection:
                    yield connection
            else:
                async with self._write_transaction() as connection:
                    if exclusive:
                        await connection.execute(
                            _EXCLUSIVE_LOCK, {"key": APPEND_LOCK_KEY, "idle": IDLE_IN_WRITE}
                        )
                    elif story is not None:
                        await connection.execute(
                            _STORY_LOCK,
                            {
                                "key": APPEND_LOCK_KEY,
                                "namespace": STORY_LOCK_NAMESPACE,
                                "story": story,
                                "idle": IDLE_IN_WRITE,
                            },
                        )
                    else:
                        await connection.execute(_WRITE_TIMEOUT, {"idle": IDLE_IN_WRITE})
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
    # An idle open transaction on a write connection holds the change feed's horizon back
    # (liveblog.store.feed): the server ends any liveblog session left idle in one.
    settings = {"idle_in_transaction_session_timeout": IDLE_IN_TRANSACTION}
    return {
        "pool_size": 20,
        "max_overflow": 10,
        "pool_pre_ping": True,
        "connect_args": {"server_settings": settings},
    }


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
