"""Webhook endpoints: where to deliver the change feed, with what secret, and how far it got.

An endpoint's ``secret`` is the Standard Webhooks signing key (``whsec_`` + base64 of 32
random bytes). Unlike an API token it cannot be kept as a digest: every delivery is signed
with it (HMAC), so the server needs the key itself. The API shows it only when it is made
(registration, rotation); listings and reads never include it.

``cursor`` is the change feed's cursor after the last event the endpoint was sent (or that
its filters skipped); the delivery worker resumes from it, so a restart loses nothing.
``failures`` counts consecutive failed attempts; at the configured limit the endpoint is
paused with the reason, and resuming it starts again from the cursor.

Writes here take no append lock: they never wait for, or hold up, a story's write (on
PostgreSQL a plain transaction; SQLite has one writer anyway, and takes it through
:meth:`Database.write` so that waiting happens in asyncio).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.store.database import Database, translate_errors
from liveblog.store.tables import webhook_endpoints as table

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
ID_PREFIX = "wh_"


class Status(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    url: str
    stories: list[str] | None
    types: list[str] | None
    secret: str
    status: Status
    paused_reason: str | None
    failures: int
    cursor: str | None
    delivered: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime

    def wants(self, story: str, event_type: str) -> bool:
        """Whether this endpoint's filters let an event of ``event_type`` in ``story`` through."""
        return (self.stories is None or story in self.stories) and (
            self.types is None or event_type in self.types
        )


def new_secret() -> str:
    """A fresh signing secret in the Standard Webhooks form."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def new_id(now: datetime) -> str:
    """An id that sorts by creation time (milliseconds), then by 40 random bits."""
    return f"{ID_PREFIX}{int(now.timestamp() * 1000):011x}{secrets.token_hex(5)}"


@asynccontextmanager
async def transaction(database: Database) -> AsyncIterator[AsyncConnection]:
    """A write transaction for webhook rows, outside the story append lock (see above)."""
    if database.is_sqlite:
        async with database.write() as connection:
            yield connection
        return
    async with translate_errors(), database.engine.begin() as connection:
        yield connection


def _endpoint(row: Any) -> Endpoint:
    return Endpoint(
        id=row.id,
        url=row.url,
        stories=list(row.stories) if row.stories is not None else None,
        types=list(row.types) if row.types is not None else None,
        secret=row.secret,
        status=Status(row.status),
        paused_reason=row.paused_reason,
        failures=row.failures,
        cursor=row.cursor,
        delivered=row.delivered,
        last_attempt_at=row.last_attempt_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create(
    connection: AsyncConnection,
    *,
    url: str,
    stories: list[str] | None,
    types: list[str] | None,
    cursor: str | None,
    now: datetime,
) -> Endpoint:
    """Register an endpoint (active, starting at ``cursor``); its record holds the new secret."""
    endpoint_id = new_id(now)
    await connection.execute(
        insert(table).values(
            id=endpoint_id,
            url=url,
            stories=stories,
            types=types,
            secret=new_secret(),
            status=Status.ACTIVE.value,
            paused_reason=None,
            failures=0,
            cursor=cursor,
            delivered=0,
            created_at=now,
            updated_at=now,
        )
    )
    found = await get(connection, endpoint_id)
    assert found is not None
    return found


async def get(connection: AsyncConnection, endpoint_id: str) -> Endpoint | None:
    row = (await connection.execute(select(table).where(table.c.id == endpoint_id))).one_or_none()
    return _endpoint(row) if row is not None else None


async def list_page(
    connection: AsyncConnection, *, after: str | None, limit: int
) -> tuple[list[Endpoint], str | None]:
    """Endpoints oldest first after the id ``after``; the cursor of the next page, if any."""
    query = select(table).order_by(table.c.id).limit(limit + 1)
    if after is not None:
        query = query.where(table.c.id > after)
    rows = [_endpoint(row) for row in await connection.execute(query)]
    page = rows[:limit]
    return page, (page[-1].id if len(rows) > limit else None)


async def active_ids(connection: AsyncConnection) -> list[str]:
    query = select(table.c.id).where(table.c.status == Status.ACTIVE.value).order_by(table.c.id)
    return [str(row.id) for row in await connection.execute(query)]


async def set_status(
    connection: AsyncConnection, endpoint_id: str, status: Status, *, reason: str | None, now: datetime
) -> Endpoint | None:
    """Pause (with ``reason``) or resume an endpoint. Resuming clears the failure count and
    the reason; the cursor is kept, so delivery resumes where it stopped."""
    values: dict[str, Any] = {"status": status.value, "updated_at": now}
    if status is Status.ACTIVE:
        values |= {"paused_reason": None, "failures": 0}
    else:
        values["paused_reason"] = reason
    await connection.execute(update(table).where(table.c.id == endpoint_id).values(**values))
    return await get(connection, endpoint_id)


async def rotate_secret(connection: AsyncConnection, endpoint_id: str, *, now: datetime) -> Endpoint | None:
    """Give the endpoint a new secret (the old one stops signing at once)."""
    await connection.execute(
        update(table).where(table.c.id == endpoint_id).values(secret=new_secret(), updated_at=now)
    )
    return await get(connection, endpoint_id)


async def remove(connection: AsyncConnection, endpoint_id: str) -> bool:
    result = await connection.execute(delete(table).where(table.c.id == endpoint_id))
    return bool(result.rowcount)


async def advance(connection: AsyncConnection, endpoint_id: str, cursor: str) -> None:
    """Move the cursor past events the endpoint's filters skip (nothing was sent)."""
    await connection.execute(update(table).where(table.c.id == endpoint_id).values(cursor=cursor))


async def record_success(
    connection: AsyncConnection, endpoint_id: str, cursor: str, *, now: datetime
) -> None:
    """A delivery was accepted: the cursor moves past it and the failure count starts again."""
    await connection.execute(
        update(table)
        .where(table.c.id == endpoint_id)
        .values(
            cursor=cursor,
            failures=0,
            delivered=table.c.delivered + 1,
            last_attempt_at=now,
            last_success_at=now,
            last_error=None,
        )
    )


async def record_failure(
    connection: AsyncConnection, endpoint_id: str, error: str, *, pause_after: int, now: datetime
) -> Endpoint | None:
    """A delivery attempt failed: one more consecutive failure, and at ``pause_after`` the
    endpoint is paused with the error as the reason. The cursor stays before the event."""
    current = await get(connection, endpoint_id)
    if current is None:
        return None
    failures = current.failures + 1
    values: dict[str, Any] = {"failures": failures, "last_attempt_at": now, "last_error": error}
    if failures >= pause_after and current.status is Status.ACTIVE:
        values |= {
            "status": Status.PAUSED.value,
            "paused_reason": f"paused after {failures} consecutive failed attempts; the last: {error}",
            "updated_at": now,
        }
    await connection.execute(update(table).where(table.c.id == endpoint_id).values(**values))
    return await get(connection, endpoint_id)
