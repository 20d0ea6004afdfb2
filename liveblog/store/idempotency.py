"""Idempotency records: the first response to a keyed request, kept to answer its retries.

A record is written in the same transaction as the events the request appended, so either
both exist or neither does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.errors import IdempotencyKeyReused
from liveblog.store.batch import Batch
from liveblog.store.tables import idempotency_records


@dataclass(frozen=True, slots=True)
class IdempotencyKey:
    """Who sent the key (``scope``), the key, and a digest of the request it came with."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status: int
    headers: dict[str, str]
    body: str


_RECALL = select(
    idempotency_records.c.fingerprint,
    idempotency_records.c.status,
    idempotency_records.c.headers,
    idempotency_records.c.body,
).where(idempotency_records.c.scope == bindparam("scope"), idempotency_records.c.key == bindparam("key"))
"""Built once: every keyed command runs it."""


async def recall(connection: AsyncConnection, key: IdempotencyKey) -> StoredResponse | None:
    """The response first given for ``key``, or ``None`` if the key is new.

    Raises :class:`IdempotencyKeyReused` if the key was used for a different request.
    """
    row = (await connection.execute(_RECALL, {"scope": key.scope, "key": key.key})).one_or_none()
    if row is None:
        return None
    if row.fingerprint != key.fingerprint:
        raise IdempotencyKeyReused(f"Idempotency-Key {key.key!r} was first used with a different request")
    return StoredResponse(status=row.status, headers=dict(row.headers), body=row.body)


def remember(batch: Batch, key: IdempotencyKey, response: StoredResponse, *, at: datetime) -> None:
    """Add to ``batch`` (sent in the transaction of the request's events) the record that
    answers ``key``'s retries with ``response``, whose body is stored as it was sent."""
    batch.insert(
        idempotency_records,
        [
            {
                "scope": key.scope,
                "key": key.key,
                "fingerprint": key.fingerprint,
                "status": response.status,
                "headers": response.headers,
                "body": response.body,
                "created_at": at,
            }
        ],
    )


async def remember_now(
    connection: AsyncConnection, key: IdempotencyKey, response: StoredResponse, *, at: datetime
) -> None:
    """:func:`remember` sent at once, for a write that appends no event (and so has no
    command batch): a checkpoint signed on demand, a webhook endpoint's change."""
    batch = Batch()
    remember(batch, key, response, at=at)
    await batch.flush(connection)
