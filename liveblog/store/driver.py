"""Statements sent on the asyncpg driver directly, where SQLAlchemy's per-statement cost
would dominate the work (PostgreSQL only; the one module that reaches under SQLAlchemy).

:func:`flush` sends a :class:`~liveblog.store.batch.Batch` as one statement: one
data-modifying CTE per table, each reading its rows from a single JSON parameter with
``jsonb_populate_recordset`` (which converts every value to its column's type), then a
``SELECT`` of the state of the batch's token (revoked? expired?) and its NOTIFY, if any. One round trip, however many rows
and tables. The statements run in the caller's SQLAlchemy transaction, on its connection:
SQLAlchemy has already begun that transaction (the write lock is its first statement) and
commits or rolls it back as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.store.tokens import refusal

if TYPE_CHECKING:
    from liveblog.store.batch import Batch

STATEMENT_HOOKS: list[Callable[[str], None]] = []
"""Called with each statement's SQL before it is sent (tests count statements with it)."""


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} in a batch")


def _encode(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_value)


def _name(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _recordset(table: Table, parameter: int) -> str:
    return f"jsonb_populate_recordset(NULL::{_name(table.name)}, ${parameter}::text::jsonb)"


def _column(table: Table, key: str) -> str:
    """The SQL name of ``table``'s column with the Python ``key`` (``events.meta`` is
    ``metadata``)."""
    return _name(table.c[key].name)


def statement(batch: Batch) -> tuple[str, list[object]]:
    """The SQL and arguments that send ``batch`` (see the module docstring)."""
    parts: list[str] = []
    arguments: list[object] = []
    for table, rows in batch.inserts.items():
        arguments.append(_encode(rows))
        columns = ", ".join(_column(table, key) for key in rows[0])
        parts.append(
            f"i{len(parts)} AS (INSERT INTO {_name(table.name)} ({columns}) "
            f"SELECT {columns} FROM {_recordset(table, len(arguments))})"
        )
    for change in batch.changes:
        table = change.table
        arguments.append(_encode(change.rows))
        assignments = ", ".join(
            f"{_column(table, key)} = r.{_column(table, key)}"
            for key in change.rows[0]
            if key not in change.key
        )
        match = " AND ".join(f"t.{_column(table, key)} = r.{_column(table, key)}" for key in change.key)
        parts.append(
            f"c{len(parts)} AS (UPDATE {_name(table.name)} AS t SET {assignments} "
            f"FROM {_recordset(table, len(arguments))} AS r WHERE {match})"
        )
    notify = ""
    if batch.notification is not None:
        arguments.extend(batch.notification)
        notify = f", pg_notify(${len(arguments) - 1}::text, ${len(arguments)}::text)::text AS notified"
    if batch.token is None:
        final = (
            f"SELECT true AS found, NULL::timestamptz AS revoked_at, NULL::timestamptz AS expires_at{notify}"
        )
    else:
        arguments.append(batch.token[0])
        final = (
            f"SELECT t.id IS NOT NULL AS found, t.revoked_at, t.expires_at{notify} "
            f"FROM (SELECT 1) AS one LEFT JOIN tokens AS t ON t.id = ${len(arguments)}::text"
        )
    sql = ("WITH " + ", ".join(parts) + " " if parts else "") + final
    return sql, arguments


async def flush(connection: AsyncConnection, batch: Batch) -> str | None:
    """Send ``batch`` in ``connection``'s transaction; why its token is refused, if it is.

    The CTEs of one statement all see the rows as they were before it, so a change to a table
    the batch also inserts into would miss the new rows: then (a publication marking rows
    draft-only, at most) the inserts go first, in a statement of their own."""
    driver = await _driver(connection)
    changed = {change.table for change in batch.changes}
    if changed & batch.inserts.keys():
        await _send(driver, statement(replace(batch, changes=[], token=None, notification=None)))
        batch = replace(batch, inserts={})
    row = await _send(driver, statement(batch))
    if batch.token is None:
        return None
    return refusal(row["found"], row["revoked_at"], row["expires_at"], now=batch.token[1])


async def _send(driver: Any, prepared: tuple[str, list[object]]) -> Any:
    sql, arguments = prepared
    for hook in STATEMENT_HOOKS:
        hook(sql)
    return await driver.fetchrow(sql, *arguments)


async def _driver(connection: AsyncConnection) -> Any:
    """The asyncpg connection under ``connection``, inside its begun transaction."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if driver is None or not driver.is_in_transaction():
        raise AssertionError("driver statements run only inside a begun write transaction")
    return driver
