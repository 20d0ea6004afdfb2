"""API tokens: 256-bit random secrets, shown once, stored only as a SHA-256 digest.

Looking a token up by the digest of the presented secret means no comparison ever runs
over the secret itself, so response times do not leak how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.errors import InvalidInput, Unauthenticated
from liveblog.store.tables import tokens

TOKEN_PREFIX = "lb_"


class Role(StrEnum):
    """What a token may do (docs/api.md, "Authentication")."""

    EDITOR = "editor"
    AUDITOR = "auditor"
    ADMIN = "admin"
    CONSUMER = "consumer"
    """A downstream system (CMS, search, archive): reads the global change feed
    (``GET /api/v1/events``, published stories only) and otherwise reads as a reader."""
    CONTRIBUTOR = "contributor"
    """A reporter in the field: submits updates to a story's queue, reads and withdraws its
    own submissions, and otherwise reads as a reader (issue 15; docs/api.md "Contributors")."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: recorded with every event they cause."""

    id: str
    name: str
    role: Role
    confirm: bool = field(default=False, compare=False)
    """Taken from a process's token cache: the write acting for it must confirm, in its own
    transaction, that the token is still valid (:meth:`liveblog.store.batch.Batch.confirm_token`)."""

    def as_metadata(self) -> dict[str, str]:
        return {"id": self.id, "name": self.name, "role": self.role.value}


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def create(
    connection: AsyncConnection,
    *,
    name: str,
    role: Role,
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[TokenInfo, str]:
    """Create a token; returns its record and the secret, which is not kept anywhere."""
    if not name.strip() or len(name) > 200:
        raise InvalidInput("a token needs a name of 1 to 200 characters")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    info = TokenInfo(
        id=secrets.token_hex(8),
        name=name.strip(),
        role=role,
        created_at=now,
        expires_at=expires_at,
        revoked_at=None,
    )
    await connection.execute(
        insert(tokens).values(
            id=info.id,
            name=info.name,
            role=info.role.value,
            secret_hash=_digest(secret),
            created_at=now,
            expires_at=expires_at,
        )
    )
    return info, secret


async def authenticate(connection: AsyncConnection, secret: str, *, now: datetime) -> Actor:
    """The actor a presented secret belongs to. Raises :class:`Unauthenticated` otherwise."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 100:
        raise Unauthenticated("the bearer token is malformed")
    row = (
        await connection.execute(
            select(tokens.c.id, tokens.c.name, tokens.c.role, tokens.c.expires_at, tokens.c.revoked_at).where(
                tokens.c.secret_hash == _digest(secret)
            )
        )
    ).one_or_none()
    refused = (
        refusal(False, None, None, now=now)
        if row is None
        else refusal(True, row.revoked_at, row.expires_at, now=now)
    )
    if refused is not None:
        raise Unauthenticated(refused)
    assert row is not None
    return Actor(id=row.id, name=row.name, role=Role(row.role))


def refusal(
    found: bool, revoked_at: datetime | None, expires_at: datetime | None, *, now: datetime
) -> str | None:
    """Why a token in this state is refused at ``now`` (``None``: it is valid)."""
    if not found:
        return "the bearer token is not known"
    if revoked_at is not None:
        return "the bearer token has been revoked"
    if expires_at is not None and expires_at <= now:
        return "the bearer token has expired"
    return None


class TokenCache:
    """The actors of recently presented secrets, by the secret's digest, for one process.

    Only what a database check accepted is kept, and a cached actor is marked ``confirm``:
    the write it acts for checks the token again in its own transaction (in the round trip
    that writes the command's rows), so revoking a token takes effect at once in every
    process, while a write spends no round trip of its own on authentication."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._actors: dict[str, Actor] = {}

    def get(self, secret: str) -> Actor | None:
        actor = self._actors.get(_digest(secret))
        return None if actor is None else replace(actor, confirm=True)

    def put(self, secret: str, actor: Actor) -> None:
        self._actors[_digest(secret)] = actor
        while len(self._actors) > self.size:
            del self._actors[next(iter(self._actors))]

    def forget(self, token_id: str) -> None:
        """Drop token ``token_id`` (a write found it revoked or expired)."""
        for digest in [d for d, actor in self._actors.items() if actor.id == token_id]:
            del self._actors[digest]


async def list_all(connection: AsyncConnection) -> list[TokenInfo]:
    rows = await connection.execute(
        select(
            tokens.c.id,
            tokens.c.name,
            tokens.c.role,
            tokens.c.created_at,
            tokens.c.expires_at,
            tokens.c.revoked_at,
            tokens.c.last_used_at,
        ).order_by(tokens.c.created_at, tokens.c.id)
    )
    return [
        TokenInfo(
            id=row.id,
            name=row.name,
            role=Role(row.role),
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
        )
        for row in rows
    ]


async def revoke(connection: AsyncConnection, token_id: str, *, now: datetime) -> bool:
    """Revoke a token by id; ``False`` if there is no such unrevoked token."""
    result = await connection.execute(
        update(tokens).where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)


async def touch(connection: AsyncConnection, token_id: str, *, now: datetime) -> None:
    """Record that the token was used at ``now``."""
    await connection.execute(update(tokens).where(tokens.c.id == token_id).values(last_used_at=now))


async def refusal_by_id(connection: AsyncConnection, token_id: str, *, now: datetime) -> str | None:
    """Why token ``token_id`` is refused at ``now`` (``None``: it is valid). For holders of a
    token's id alone (the GRIP tier's held streams), never of its secret."""
    row = (
        await connection.execute(
            select(tokens.c.expires_at, tokens.c.revoked_at).where(tokens.c.id == token_id)
        )
    ).one_or_none()
    if row is None:
        return refusal(False, None, None, now=now)
    return refusal(True, row.revoked_at, row.expires_at, now=now)


async def valid_actor(connection: AsyncConnection, token_id: str, *, now: datetime) -> Actor | None:
    """The actor of token ``token_id`` while it is valid at ``now`` (``None`` otherwise)."""
    row = (
        await connection.execute(
            select(tokens.c.name, tokens.c.role, tokens.c.expires_at, tokens.c.revoked_at).where(
                tokens.c.id == token_id
            )
        )
    ).one_or_none()
    if row is None or refusal(True, row.revoked_at, row.expires_at, now=now) is not None:
        return None
    return Actor(id=token_id, name=row.name, role=Role(row.role))
