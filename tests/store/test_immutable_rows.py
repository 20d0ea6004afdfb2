"""Every statement that could change or remove a row of a protected table is refused by the
database itself, on SQLite and PostgreSQL, through a plain driver connection (sqlite3,
asyncpg) that sets no pragma: the data is intact afterwards."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from liveblog.store import schema
from liveblog.store.database import Database
from liveblog.store.protection import PROTECTED_TABLES, missing_protection

TIME = "2026-12-01 09:00:00.000000"


@dataclass(frozen=True)
class Protected:
    """A protected table, two rows of it (as SQL literals), its key and a column to change."""

    table: str
    key: tuple[str, ...]
    rows: tuple[dict[str, str], dict[str, str]]
    column: str
    changed: str


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


EVENT = {
    "stream": _quoted("story-a"),
    "type": _quoted("StoryOpened"),
    "schema": "1",
    "metadata": _quoted("{}"),
    "recorded_at": _quoted(TIME),
    "prev_hash": _quoted("0" * 64),
}
TABLES = [
    Protected(
        "events",
        ("position",),
        (
            {
                "position": "1",
                **EVENT,
                "version": "1",
                "data": _quoted('{"n": 0}'),
                "hash": _quoted("a" * 64),
            },
            {
                "position": "2",
                **EVENT,
                "version": "2",
                "data": _quoted('{"n": 1}'),
                "hash": _quoted("b" * 64),
            },
        ),
        "data",
        _quoted('{"n": 99}'),
    ),
    Protected(
        "checkpoints",
        ("stream", "version"),
        tuple(  # type: ignore[arg-type]
            {
                "stream": _quoted("story-a"),
                "version": str(version),
                "head_hash": _quoted("a" * 64),
                "signed_at": _quoted(TIME),
                "key_id": _quoted("k1"),
                "signature": _quoted(f"sig-{version}"),
            }
            for version in (1, 2)
        ),
        "signature",
        _quoted("forged"),
    ),
    Protected(
        "signing_keys",
        ("id",),
        tuple(  # type: ignore[arg-type]
            {
                "id": _quoted(key_id),
                "algorithm": _quoted("Ed25519"),
                "public_key": _quoted(f"public-{key_id}"),
                "created_at": _quoted(TIME),
            }
            for key_id in ("k1", "k2")
        ),
        "public_key",
        _quoted("forger's key"),
    ),
    Protected(
        "idempotency_records",
        ("scope", "key"),
        tuple(  # type: ignore[arg-type]
            {
                "scope": _quoted("editor"),
                "key": _quoted(key),
                "fingerprint": _quoted("f" * 64),
                "status": "201",
                "headers": _quoted("{}"),
                "body": _quoted(f"first response to {key}"),
                "created_at": _quoted(TIME),
            }
            for key in ("k1", "k2")
        ),
        "body",
        _quoted("a response never given"),
    ),
    Protected(
        "snapshots",
        ("stream", "version"),
        tuple(  # type: ignore[arg-type]
            {
                "stream": _quoted("story-a"),
                "version": str(version),
                "head_hash": _quoted("a" * 64),
                "state": _quoted(f"state at {version}"),
            }
            for version in (100, 200)
        ),
        "state",
        _quoted("a forged state"),
    ),
]


def _insert(spec: Protected, row: dict[str, str], verb: str = "INSERT") -> str:
    return f"{verb} INTO {spec.table} ({', '.join(row)}) VALUES ({', '.join(row.values())})"


def _where(spec: Protected, row: dict[str, str]) -> str:
    return " AND ".join(f"{column} = {row[column]}" for column in spec.key)


def _changed(spec: Protected) -> dict[str, str]:
    return {**spec.rows[0], spec.column: spec.changed}


def common_statements(spec: Protected) -> list[str]:
    first, second = spec.rows
    key = ", ".join(spec.key)
    assignments = ", ".join(f"{column} = {second[column]}" for column in spec.key)
    statements = [
        f"UPDATE {spec.table} SET {spec.column} = {spec.changed} WHERE {_where(spec, first)}",
        f"UPDATE {spec.table} SET {spec.column} = {spec.changed}",
        f"UPDATE {spec.table} SET {assignments} WHERE {_where(spec, first)}",
        f"DELETE FROM {spec.table} WHERE {_where(spec, first)}",
        f"DELETE FROM {spec.table}",
        _insert(spec, _changed(spec))
        + f" ON CONFLICT ({key}) DO UPDATE SET {spec.column} = excluded.{spec.column}",
    ]
    if spec.table == "events":  # its other unique key
        statements.append(
            _insert(spec, {k: v for k, v in _changed(spec).items() if k != "position"})
            + f" ON CONFLICT (stream, version) DO UPDATE SET {spec.column} = excluded.{spec.column}"
        )
    return statements


def sqlite_statements(spec: Protected) -> list[str]:
    first, second = spec.rows
    assignments = ", ".join(f"{column} = {second[column]}" for column in spec.key)
    statements = [
        *common_statements(spec),
        _insert(spec, _changed(spec), "INSERT OR REPLACE"),
        _insert(spec, _changed(spec), "REPLACE"),
        f"UPDATE OR REPLACE {spec.table} SET {assignments} WHERE {_where(spec, first)}",
        f"INSERT OR REPLACE INTO {spec.table} SELECT * FROM {spec.table}",
    ]
    if spec.table == "events":  # REPLACE on (stream, version): the row would move to a new position
        without_position = {k: v for k, v in _changed(spec).items() if k != "position"}
        statements += [
            _insert(spec, without_position, "INSERT OR REPLACE"),
            _insert(spec, without_position, "REPLACE"),
            _insert(spec, {**without_position, "position": "3"}, "INSERT OR REPLACE"),
        ]
    return statements


def postgresql_statements(spec: Protected) -> list[str]:
    first = spec.rows[0]
    source = ", ".join(f"{first[column]} AS {column}" for column in spec.key)
    on = " AND ".join(f"t.{column} = s.{column}" for column in spec.key)
    return [
        *common_statements(spec),
        f"TRUNCATE {spec.table}",
        f"TRUNCATE {spec.table} RESTART IDENTITY CASCADE",
        (
            f"MERGE INTO {spec.table} t USING (SELECT {source}) s ON {on} "
            f"WHEN MATCHED THEN UPDATE SET {spec.column} = {spec.changed}"
        ),
        f"MERGE INTO {spec.table} t USING (SELECT {source}) s ON {on} WHEN MATCHED THEN DELETE",
        f"WITH gone AS (DELETE FROM {spec.table} RETURNING 1) SELECT count(*) FROM gone",
        f"UPDATE {spec.table} t SET {spec.column} = {spec.changed} FROM (SELECT 1) AS s",
    ]


CASES = [
    pytest.param(spec, statement, id=f"{spec.table}: {statement[:90]}")
    for spec in TABLES
    for statement in sqlite_statements(spec)
]


def test_every_protected_table_is_covered() -> None:
    assert sorted(spec.table for spec in TABLES) == sorted(PROTECTED_TABLES)


async def test_a_migrated_database_misses_no_protection(database: Database) -> None:
    assert await missing_protection(database) == []


@pytest.fixture
async def sqlite_file(sqlite_url: str) -> AsyncIterator[str]:
    database = Database(sqlite_url)
    await schema.upgrade(database)
    await database.dispose()
    yield sqlite_url.removeprefix("sqlite+aiosqlite:///")


def _dump_sqlite(connection: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    return connection.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


@pytest.mark.parametrize(("spec", "statement"), CASES)
def test_sqlite_refuses_to_change_a_protected_row(sqlite_file: str, spec: Protected, statement: str) -> None:
    # A connection of the attacker's own: autocommit, no recursive_triggers.
    connection = sqlite3.connect(sqlite_file, isolation_level=None)
    try:
        assert connection.execute("PRAGMA recursive_triggers").fetchone() == (0,)
        for row in spec.rows:
            connection.execute(_insert(spec, row))
        before = _dump_sqlite(connection, spec.table)
        assert len(before) == 2
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            connection.execute(statement)
        assert _dump_sqlite(connection, spec.table) == before
    finally:
        connection.close()


def test_sqlite_still_takes_new_rows_and_refuses_a_taken_key_as_a_constraint(sqlite_file: str) -> None:
    connection = sqlite3.connect(sqlite_file, isolation_level=None)
    try:
        for spec in TABLES:
            for row in spec.rows:
                connection.execute(_insert(spec, row))
            with pytest.raises(sqlite3.IntegrityError):
                connection.execute(_insert(spec, spec.rows[0]))
        # An event without a position gets the next one, as the store appends.
        event = {k: v for k, v in TABLES[0].rows[1].items() if k != "position"}
        connection.execute(_insert(TABLES[0], {**event, "version": "3"}))
        assert connection.execute("SELECT max(position) FROM events").fetchone() == (3,)
    finally:
        connection.close()


@pytest.fixture
async def postgres_dsn(postgres_url: str) -> str:
    return postgres_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _dump_postgres(connection: asyncpg.Connection, table: str) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await connection.fetch(f"SELECT * FROM {table} ORDER BY 1, 2")]


@pytest.mark.postgres
@pytest.mark.parametrize("spec", [pytest.param(spec, id=spec.table) for spec in TABLES])
async def test_postgresql_refuses_to_change_a_protected_row(postgres_dsn: str, spec: Protected) -> None:
    """Every statement of :func:`postgresql_statements` in turn (one database per table)."""
    connection = await asyncpg.connect(postgres_dsn, timeout=10)
    accepted: list[str] = []
    try:
        for row in spec.rows:
            await connection.execute(_insert(spec, row))
        before = await _dump_postgres(connection, spec.table)
        assert len(before) == 2
        for statement in postgresql_statements(spec):
            try:
                await connection.execute(statement)
            except asyncpg.RestrictViolationError as exc:
                assert "append-only" in str(exc)
            else:
                accepted.append(statement)
            assert await _dump_postgres(connection, spec.table) == before, statement
    finally:
        await connection.close()
    assert accepted == []
