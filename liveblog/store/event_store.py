"""The append-only log: append with an expected version, read one stream, read everything.

Every stream's ``version`` runs 1, 2, 3, ... without gaps: ``(stream, version)`` is unique
and an append states the version it expects the stream to be at. ``position`` is the global
order; rolled-back appends leave holes in it, so readers resume after the last position
they saw and never wait for a missing one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.errors import ConcurrencyError
from liveblog.store.batch import Batch
from liveblog.store.chain import GENESIS, event_hash, new_salts
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
    hash: str
    prev_hash: str
    salts: dict[str, str] | None = None
    """Format 2: one salt per member of ``data`` (``None``: a format-1 event)."""
    redaction: dict[str, Any] | None = None
    """Set when a redaction removed members: ``{"by": m, "commitments": {...}}``."""
    xid: int = 0
    """The writing transaction's id on PostgreSQL (0 on SQLite): with ``position``, the
    change feed's order (:mod:`liveblog.store.feed`)."""


_COLUMNS = (
    events.c.position,
    events.c.stream,
    events.c.version,
    events.c.type,
    events.c.schema,
    events.c.data,
    events.c.meta,
    events.c.recorded_at,
    events.c.hash,
    events.c.prev_hash,
    events.c.salts,
    events.c.redaction,
    events.c.xid,
)


# xid is left to the column's default: the transaction's id on PostgreSQL, 0 on SQLite.
_INSERT_EVENT = insert(events).returning(events.c.position, events.c.xid)
_READ_AFTER = (
    select(*_COLUMNS)
    .where(events.c.stream == bindparam("stream"), events.c.version > bindparam("after"))
    .order_by(events.c.version)
)
NOTIFY_CHANNEL = "liveblog_events"
_NOTIFY = text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', :payload)")


def _recorded(row: Any) -> RecordedEvent:
    return RecordedEvent(*row)


async def append(
    connection: AsyncConnection,
    stream: str,
    expected_version: int,
    new_events: Sequence[NewEvent],
    *,
    recorded_at: datetime,
    prev_hash: str | None = None,
    batch: Batch | None = None,
) -> list[RecordedEvent]:
    """Append ``new_events`` to ``stream``, which must be at ``expected_version`` (0: new).

    Each event is hash-chained to the one before it. ``prev_hash`` is the hash of the event
    at ``expected_version`` as the caller read it in this same transaction; without it, it is
    read here. The NOTIFY that wakes every server goes in ``batch`` when one is given (sent
    with the command's other rows, one round trip less). Runs inside the caller's write
    transaction. Raises :class:`ConcurrencyError`
    when the stream has moved on; the caller's transaction is then unusable and must roll back.
    """
    if prev_hash is None:
        prev_hash = await _head_hash(connection, stream, expected_version)
    recorded = []
    for offset, new in enumerate(new_events, start=1):
        salts = new_salts(new.data)  # format 2: a salt per member, so text can be redacted
        event = RecordedEvent(
            position=0,
            stream=stream,
            version=expected_version + offset,
            type=new.type,
            schema=new.schema,
            data=new.data,
            metadata=new.metadata,
            recorded_at=recorded_at,
            prev_hash=prev_hash,
            hash=event_hash(
                story=stream,
                version=expected_version + offset,
                type=new.type,
                schema=new.schema,
                data=new.data,
                actor=new.metadata.get("actor"),
                recorded_at=recorded_at,
                prev_hash=prev_hash,
                salts=salts,
            ),
            salts=salts,
        )
        values = {
            "stream": stream,
            "version": event.version,
            "type": event.type,
            "schema": event.schema,
            "data": event.data,
            "meta": event.metadata,
            "recorded_at": recorded_at,
            "hash": event.hash,
            "prev_hash": event.prev_hash,
            "salts": salts,
        }
        try:
            position, xid = (await connection.execute(_INSERT_EVENT, values)).one()
        except IntegrityError as exc:
            raise ConcurrencyError(stream, expected_version) from exc
        recorded.append(replace(event, position=position, xid=xid))
        prev_hash = event.hash
    if connection.dialect.name == "postgresql" and recorded:
        # Delivered when (and only if) this transaction commits: a wake-up for every server.
        payload = f"{stream} {recorded[-1].version}"
        if batch is not None:
            batch.notify(NOTIFY_CHANNEL, payload)
        else:
            await connection.execute(_NOTIFY, {"payload": payload})
    return recorded


async def _head_hash(connection: AsyncConnection, stream: str, version: int) -> str:
    """The hash of ``stream``'s event at ``version`` (the genesis hash for 0).

    Raises :class:`ConcurrencyError` if the stream has no such event: it is behind the
    version the caller expects, so the caller decided on a state that does not exist.
    """
    if version == 0:
        return GENESIS
    found = (
        await connection.execute(
            select(events.c.hash).where(events.c.stream == stream, events.c.version == version)
        )
    ).scalar_one_or_none()
    if found is None:
        raise ConcurrencyError(stream, version)
    return str(found)


async def read_stream(
    connection: AsyncConnection,
    stream: str,
    *,
    after: int = 0,
    until: int | None = None,
    limit: int | None = None,
    newest: int | None = None,
) -> list[RecordedEvent]:
    """Events of ``stream`` with ``after`` < version <= ``until``, in version order.

    With ``newest``, only that many of the latest such events (still in version order).
    """
    if until is None and limit is None and newest is None:
        # Every command reads this (the events after its cached head): built once.
        rows = await connection.execute(_READ_AFTER, {"stream": stream, "after": after})
        return [_recorded(row) for row in rows]
    query = select(*_COLUMNS).where(events.c.stream == stream, events.c.version > after)
    if until is not None:
        query = query.where(events.c.version <= until)
    if newest is not None:
        latest = query.order_by(events.c.version.desc()).limit(newest)
        return sorted((_recorded(row) for row in await connection.execute(latest)), key=lambda e: e.version)
    query = query.order_by(events.c.version)
    if limit is not None:
        query = query.limit(limit)
    return [_recorded(row) for row in await connection.execute(query)]


async def first_version_of(connection: AsyncConnection, stream: str, event_type: str) -> int | None:
    """The version of ``stream``'s first event of type ``event_type``, if it has one."""
    query = select(func.min(events.c.version)).where(events.c.stream == stream, events.c.type == event_type)
    found: int | None = (await connection.execute(query)).scalar_one()
    return found


async def version_at(connection: AsyncConnection, stream: str, moment: datetime) -> int:
    """The version ``stream`` had reached at ``moment`` (0: it did not exist yet)."""
    query = select(func.coalesce(func.max(events.c.version), 0)).where(
        events.c.stream == stream, events.c.recorded_at <= moment
    )
    return int((await connection.execute(query)).scalar_one())


async def read_all(connection: AsyncConnection, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
    """Up to ``limit`` events of all streams with position > ``after``, in position order.

    Not safe to tail while stories are written: on PostgreSQL writes to different stories
    commit in any order, so a position can become visible after a larger one. Tail with
    :func:`liveblog.store.feed.read_page`; this is for reading a log no one writes to.
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
