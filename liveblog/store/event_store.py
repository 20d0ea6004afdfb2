"""The append-only log: append with an expected version, read one stream, read everything.

Every stream's ``version`` runs 1, 2, 3, ... without gaps: ``(stream, version)`` is unique
and an append states the version it expects the stream to be at. ``position`` is the global
order; rolled-back appends leave holes in it, so readers resume after the last position
they saw and never wait for a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.errors import ConcurrencyError
from liveblog.store.tables import events


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended."""

    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)
    schema: int = 1


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as the log holds it."""

    position: int
    stream: str
    version: int
    type: str
    schema: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime


_COLUMNS = (
    events.c.position,
    events.c.stream,
    events.c.version,
    events.c.type,
    events.c.schema,
    events.c.data,
    events.c.meta,
    events.c.recorded_at,
)


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(*row)


async def append(
    connection: AsyncConnection,
    stream: str,
    expected_version: int,
    new_events: Sequence[NewEvent],
    *,
    recorded_at: datetime,
) -> list[RecordedEvent]:
    """Append ``new_events`` to ``stream``, which must be at ``expected_version`` (0: new).

    Runs inside the caller's write transaction. Raises :class:`ConcurrencyError` when the
    stream has moved on; the caller's transaction is then unusable and must roll back.
    """
    recorded = []
    for offset, new in enumerate(new_events, start=1):
        version = expected_version + offset
        values = {
            "stream": stream,
            "version": version,
            "type": new.type,
            "schema": new.schema,
            "data": new.data,
            "meta": new.metadata,
            "recorded_at": recorded_at,
        }
        try:
            position = (
                await connection.execute(insert(events).values(values).returning(events.c.position))
            ).scalar_one()
        except IntegrityError as exc:
            raise ConcurrencyError(stream, expected_version) from exc
        recorded.append(
            RecordedEvent(
                position=position,
                stream=stream,
                version=version,
                type=new.type,
                schema=new.schema,
                data=new.data,
                metadata=new.metadata,
                recorded_at=recorded_at,
            )
        )
    return recorded


async def read_stream(
    connection: AsyncConnection, stream: str, *, after: int = 0, limit: int | None = None
) -> list[RecordedEvent]:
    """Events of ``stream`` with version > ``after``, in version order."""
    query = (
        select(*_COLUMNS)
        .where(events.c.stream == stream, events.c.version > after)
        .order_by(events.c.version)
    )
    if limit is not None:
        query = query.limit(limit)
    return [_recorded(row) for row in await connection.execute(query)]


async def read_all(connection: AsyncConnection, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
    """Up to ``limit`` events of all streams with position > ``after``, in position order.

    Appends are serialised (see :mod:`liveblog.store.database`), so a position becomes
    visible only after every smaller one: resuming from the last position seen never skips.
    """
    query = select(*_COLUMNS).where(events.c.position > after).order_by(events.c.position).limit(limit)
    return [_recorded(row) for row in await connection.execute(query)]


async def stream_version(connection: AsyncConnection, stream: str) -> int:
    """The current version of ``stream`` (0 if it has no events)."""
    query = select(func.coalesce(func.max(events.c.version), 0)).where(events.c.stream == stream)
    return int((await connection.execute(query)).scalar_one())


async def count(connection: AsyncConnection) -> int:
    """How many events the log holds."""
    return int((await connection.execute(select(func.count()).select_from(events))).scalar_one())
