"""Stored checkpoints and the public keys that signed them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.audit.signing import ALGORITHM, Checkpoint, Signer
from liveblog.domain.values import rfc3339
from liveblog.store.tables import checkpoints, signing_keys


async def save(connection: AsyncConnection, checkpoint: Checkpoint) -> None:
    await connection.execute(
        insert(checkpoints).values(
            stream=checkpoint.story,
            version=checkpoint.version,
            head_hash=checkpoint.head_hash,
            signed_at=checkpoint.signed_at,
            key_id=checkpoint.key_id,
            signature=checkpoint.signature,
        )
    )


async def save_once(connection: AsyncConnection, checkpoint: Checkpoint) -> bool:
    """Store ``checkpoint`` unless one is stored at its (story, version) already, which a
    concurrent signer may have done; whether it was stored.

    On PostgreSQL the insert tolerates a concurrent duplicate (``ON CONFLICT DO NOTHING``:
    the checkpoints' triggers refuse updates, not that). On SQLite the caller holds the
    database's one write lock, so looking first is enough (an upsert would be refused there
    by the table's append-only trigger).
    """
    values = {
        "stream": checkpoint.story,
        "version": checkpoint.version,
        "head_hash": checkpoint.head_hash,
        "signed_at": checkpoint.signed_at,
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
    }
    if connection.dialect.name == "postgresql":
        statement = postgresql.insert(checkpoints).values(**values).on_conflict_do_nothing()
        return bool((await connection.execute(statement)).rowcount)
    if await at_version(connection, checkpoint.story, checkpoint.version) is not None:
        return False
    await connection.execute(insert(checkpoints).values(**values))
    return True


async def at_version(connection: AsyncConnection, story: str, version: int) -> Checkpoint | None:
    """The checkpoint of ``story`` at ``version``, if one was signed."""
    row = (
        await connection.execute(
            select(checkpoints).where(checkpoints.c.stream == story, checkpoints.c.version == version)
        )
    ).one_or_none()
    return None if row is None else _checkpoint(row)


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(
        story=row.stream,
        version=row.version,
        head_hash=row.head_hash,
        signed_at=row.signed_at,
        key_id=row.key_id,
        signature=row.signature,
    )


async def for_story(connection: AsyncConnection, story: str) -> list[Checkpoint]:
    """Every checkpoint of ``story``, oldest first."""
    rows = await connection.execute(
        select(checkpoints).where(checkpoints.c.stream == story).order_by(checkpoints.c.version)
    )
    return [_checkpoint(row) for row in rows]


async def latest(connection: AsyncConnection, story: str) -> Checkpoint | None:
    row = (
        await connection.execute(
            select(checkpoints)
            .where(checkpoints.c.stream == story)
            .order_by(checkpoints.c.version.desc())
            .limit(1)
        )
    ).one_or_none()
    return None if row is None else _checkpoint(row)


async def last_signed_at(connection: AsyncConnection, story: str) -> datetime | None:
    query = select(func.max(checkpoints.c.signed_at)).where(checkpoints.c.stream == story)
    value: datetime | None = (await connection.execute(query)).scalar_one()
    return value


async def register_key(connection: AsyncConnection, signer: Signer, *, now: datetime) -> None:
    """Record the signer's public key (once), so it stays listed after the key is replaced."""
    known = (
        await connection.execute(select(signing_keys.c.id).where(signing_keys.c.id == signer.key_id))
    ).scalar_one_or_none()
    if known is None:
        document = signer.public_document()
        await connection.execute(
            insert(signing_keys).values(
                id=document["id"], algorithm=ALGORITHM, public_key=document["public_key"], created_at=now
            )
        )


async def public_keys(connection: AsyncConnection) -> list[dict[str, Any]]:
    """Every key that has signed for this database, oldest first."""
    rows = await connection.execute(
        select(signing_keys).order_by(signing_keys.c.created_at, signing_keys.c.id)
    )
    return [
        {
            "id": row.id,
            "algorithm": row.algorithm,
            "public_key": row.public_key,
            "created_at": rfc3339(row.created_at),
        }
        for row in rows
    ]
