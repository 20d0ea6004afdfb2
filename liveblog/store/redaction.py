"""The redaction path in the store: removing an update's text from the log's own rows.

Called by the command handler (:mod:`liveblog.application`) in the write transaction that
appends the ``UpdateRedacted`` event at version ``by``, and by ``liveblog redact --dry-run``
(:func:`surfaces`) to list what it would touch. It changes three protected tables, in the
one way migration 0005's triggers let through, and only because event ``by`` exists:

* ``events``: every earlier event of the update loses the members
  :data:`~liveblog.domain.redaction.REMOVED_MEMBERS` names, and their salts; ``redaction``
  becomes ``{"by": by, "commitments": {member: commitment}}`` (the commitments of what was
  removed, so the hash still verifies), or ``{"by": by}`` for a format-1 event (no salts:
  its hash can no longer be recomputed, the chain vouches for it);
* ``snapshots``: those that may hold the text (from the update's posting to before ``by``)
  are deleted; the state is re-derived from the log, and later snapshots hold the tombstone;
* ``idempotency_records``: a stored response that holds the update is rewritten to what
  ``rewrite`` makes of it (the caller's tombstone), so a retry with the same key gets the
  tombstone and still does not run the command again.

The read models are the projections' business (:mod:`liveblog.projections.redaction`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain.redaction import redacted_data
from liveblog.store.chain import commitment
from liveblog.store.tables import events, idempotency_records, snapshots

Rewrite = Callable[[str], str | None]
"""A stored response body as it must be kept, or ``None`` if it does not hold the update."""


@dataclass
class Surfaces:
    """What a redaction touches (or, in a dry run, would)."""

    events: list[int] = field(default_factory=list)
    """The versions of the event rows of the update that lose their text."""
    snapshots: list[int] = field(default_factory=list)
    """The versions of the snapshots deleted."""
    records: list[tuple[str, str]] = field(default_factory=list)
    """The ``(scope, key)`` of the idempotency records rewritten."""
    read_models: dict[str, int] = field(default_factory=dict)
    """Rows of each read model rewritten (filled in by the caller)."""


async def _event_rows(connection: AsyncConnection, story: str, update_id: str, by: int) -> list[Any]:
    rows = await connection.execute(
        select(
            events.c.position,
            events.c.version,
            events.c.type,
            events.c.data,
            events.c.salts,
            events.c.redaction,
        )
        .where(events.c.stream == story, events.c.version < by)
        .order_by(events.c.version)
    )
    return [
        row
        for row in rows.all()
        if row.data.get("update_id") == update_id and row.type != "UpdateRedacted" and row.redaction is None
    ]


async def _snapshot_versions(connection: AsyncConnection, story: str, since: int, by: int) -> list[int]:
    rows = await connection.execute(
        select(snapshots.c.version)
        .where(snapshots.c.stream == story, snapshots.c.version >= since, snapshots.c.version < by)
        .order_by(snapshots.c.version)
    )
    return [int(version) for version in rows.scalars()]


async def _records(
    connection: AsyncConnection, update_id: str, since: datetime, rewrite: Rewrite
) -> list[tuple[Any, str]]:
    """The records that hold the update (posted at ``since``), with their new body."""
    rows = await connection.execute(
        select(
            idempotency_records.c.scope,
            idempotency_records.c.key,
            idempotency_records.c.body,
            idempotency_records.c.redaction,
        ).where(
            idempotency_records.c.created_at >= since,
            idempotency_records.c.body.contains(f'"{update_id}"', autoescape=True),
        )
    )
    found = []
    for row in rows.all():
        body = rewrite(row.body)
        if body is not None and body != row.body:
            found.append((row, body))
    return found


async def surfaces(
    connection: AsyncConnection,
    story: str,
    update_id: str,
    *,
    by: int,
    since: int,
    posted_at: datetime,
    rewrite: Rewrite,
) -> Surfaces:
    """What :func:`redact` would touch, changing nothing (a dry run)."""
    return Surfaces(
        events=[row.version for row in await _event_rows(connection, story, update_id, by)],
        snapshots=await _snapshot_versions(connection, story, since, by),
        records=[
            (row.scope, row.key) for row, _ in await _records(connection, update_id, posted_at, rewrite)
        ],
    )


def _redacted_row(row: Any, by: int) -> dict[str, Any]:
    """The new ``data``, ``salts`` and ``redaction`` of an event row of the update."""
    data = redacted_data(row.type, row.data)
    marker: dict[str, Any] = {"by": by}
    salts = row.salts
    if salts is not None:
        removed = [member for member in row.data if member not in data]
        marker["commitments"] = {member: commitment(salts[member], row.data[member]) for member in removed}
        salts = {member: salt for member, salt in salts.items() if member in data}
    return {"data": data, "salts": salts, "redaction": marker}


async def redact(
    connection: AsyncConnection,
    story: str,
    update_id: str,
    *,
    by: int,
    since: int,
    posted_at: datetime,
    rewrite: Rewrite,
) -> Surfaces:
    """Remove the text of ``update_id`` (posted at version ``since``, time ``posted_at``)
    from the log's rows, event ``by`` being its redaction; see the module docstring."""
    touched = Surfaces()
    for row in await _event_rows(connection, story, update_id, by):
        await connection.execute(
            update(events).where(events.c.position == row.position).values(**_redacted_row(row, by))
        )
        touched.events.append(row.version)
    touched.snapshots = await _snapshot_versions(connection, story, since, by)
    if touched.snapshots:
        await connection.execute(
            delete(snapshots).where(snapshots.c.stream == story, snapshots.c.version.in_(touched.snapshots))
        )
    for row, body in await _records(connection, update_id, posted_at, rewrite):
        await connection.execute(
            update(idempotency_records)
            .where(idempotency_records.c.scope == row.scope, idempotency_records.c.key == row.key)
            .values(body=body, redaction={"stream": story, "by": by})
        )
        touched.records.append((row.scope, row.key))
    return touched
