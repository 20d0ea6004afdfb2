"""Snapshots of a story's folded state, so loading a long story does not replay it all.

A snapshot is a cache of ``fold(events[:version])``: it could be rebuilt from the log, but once
written it is never changed (migration 0003: the server decides on it; ``audit verify --db``
checks it against the log).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.store.tables import snapshots

SNAPSHOT_EVERY = 100


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The JSON of a story's state at ``version``, and the hash of its event at that version."""

    version: int
    head_hash: str
    state: str


async def save(connection: AsyncConnection, stream: str, version: int, head_hash: str, state: str) -> None:
    await connection.execute(
        insert(snapshots).values(stream=stream, version=version, head_hash=head_hash, state=state)
    )


async def latest(connection: AsyncConnection, stream: str, *, at_most: int | None = None) -> Snapshot | None:
    """The newest snapshot of ``stream`` (at version ``at_most`` or before), if any."""
    query = select(snapshots.c.version, snapshots.c.head_hash, snapshots.c.state).where(
        snapshots.c.stream == stream
    )
    if at_most is not None:
        query = query.where(snapshots.c.version <= at_most)
    row = (await connection.execute(query.order_by(snapshots.c.version.desc()).limit(1))).one_or_none()
    return None if row is None else Snapshot(version=row.version, head_hash=row.head_hash, state=row.state)
