"""The rows one command writes besides its events, collected and then sent together.

A command appends its events and then writes the read model, the revision history, the past
read model and, with an ``Idempotency-Key``, the response to replay. Sent one statement at a
time, each of those is a round trip; collected in a :class:`Batch` they go in one:

- on PostgreSQL, :func:`liveblog.store.driver.flush` sends them as a single statement of
  data-modifying CTEs, one multi-row ``INSERT`` (or ``UPDATE ... FROM``) per table;
- on SQLite (one process, no network), each table's rows are one ``executemany``.

A batch can also carry a token to confirm (:meth:`Batch.confirm_token`): a token taken from
the process's token cache is checked still valid in that same round trip, so a revocation
takes effect at once in every process and costs the write nothing extra. Rows are written in
the order they were added, per table; a batch never touches a row twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.errors import ConcurrencyError, Unauthenticated
from liveblog.store.tables import tokens
from liveblog.store.tokens import refusal


@dataclass(frozen=True, slots=True)
class Change:
    """Rows of one table to change: each row names its row by the ``key`` columns."""

    table: Table
    key: tuple[str, ...]
    rows: list[dict[str, Any]]


@dataclass
class Batch:
    """What a command writes after its events (see the module docstring)."""

    inserts: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)
    token: tuple[str, datetime] | None = None
    """``(token id, now)``: a cached token the write must confirm is still valid."""
    notification: tuple[str, str] | None = None
    """``(channel, payload)``: a PostgreSQL NOTIFY to send with the rows (on commit)."""

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert ``rows`` (all with the same columns) into ``table``."""
        if rows:
            self.inserts.setdefault(table, []).extend(rows)

    def change(self, table: Table, key: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        """Set, in each row of ``table`` that ``key``'s values name, the row's other columns."""
        if rows:
            self.changes.append(Change(table, key, rows))

    def confirm_token(self, token_id: str, now: datetime) -> None:
        """Fail the write with :class:`Unauthenticated` unless token ``token_id`` is still
        valid (not revoked, not expired at ``now``) as the write's transaction sees it."""
        self.token = (token_id, now)

    def notify(self, channel: str, payload: str) -> None:
        """``pg_notify(channel, payload)`` in the batch's statement (PostgreSQL only)."""
        self.notification = (channel, payload)

    def __bool__(self) -> bool:
        return bool(self.inserts or self.changes or self.token or self.notification)

    async def flush(self, connection: AsyncConnection) -> None:
        """Send everything collected in ``connection``'s transaction, and empty the batch."""
        if not self:
            return
        try:
            if connection.dialect.name == "postgresql":
                from liveblog.store import driver

                refused = await driver.flush(connection, self)
            else:
                refused = await _flush_each(connection, self)
        except (IntegrityError, UniqueViolationError) as exc:
            # Only a write to another story, running in parallel, can have added the same
            # unique row first (an Idempotency-Key sent to two stories at once): deciding
            # again then recalls its response, or finds the key reused for another request.
            raise ConcurrencyError("a row this write adds", 0) from exc
        self.inserts, self.changes, self.token, self.notification = {}, [], None, None
        if refused is not None:
            raise Unauthenticated(refused)

    async def check_token(self, connection: AsyncConnection) -> None:
        """Confirm the pending token alone (a command that fails before it writes)."""
        if self.token is None:
            return
        pending, self.token = self.token, None
        refused = await token_refusal(connection, *pending)
        if refused is not None:
            raise Unauthenticated(refused)


async def token_refusal(connection: AsyncConnection, token_id: str, now: datetime) -> str | None:
    """Why token ``token_id`` is refused at ``now`` (:func:`liveblog.store.tokens.refusal`)."""
    row = (await connection.execute(_TOKEN_STATE, {"token_id": token_id})).one_or_none()
    if row is None:
        return refusal(False, None, None, now=now)
    return refusal(True, row.revoked_at, row.expires_at, now=now)


_TOKEN_STATE = select(tokens.c.revoked_at, tokens.c.expires_at).where(tokens.c.id == bindparam("token_id"))


async def _flush_each(connection: AsyncConnection, batch: Batch) -> str | None:
    """The batch as one ``executemany`` per table (SQLite); why its token is refused, if it is."""
    if batch.token is not None:
        refused = await token_refusal(connection, *batch.token)
        if refused is not None:
            return refused
    for table, rows in batch.inserts.items():
        await connection.execute(insert(table), rows)
    for change in batch.changes:
        columns = [name for name in change.rows[0] if name not in change.key]
        statement = (
            update(change.table)
            .where(and_(*(change.table.c[name] == bindparam(f"key_{name}") for name in change.key)))
            .values({name: bindparam(f"new_{name}") for name in columns})
        )
        await connection.execute(
            statement,
            [
                {**{f"key_{k}": row[k] for k in change.key}, **{f"new_{c}": row[c] for c in columns}}
                for row in change.rows
            ],
        )
    return None
