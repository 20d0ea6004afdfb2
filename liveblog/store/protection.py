"""Which tables keep their rows as written, and whether the database still enforces it.

Migration 0003 (with 0001 for ``events``) installs triggers that refuse UPDATE, DELETE,
REPLACE and UPSERT on these tables, and TRUNCATE on PostgreSQL; migration 0005 lets exactly
one change through on ``events``, ``snapshots`` and ``idempotency_records``, the one a
recorded redaction justifies (docs/architecture.md, "Redaction"). Whoever owns the schema can
drop them; :func:`missing_protection` tells ``liveblog audit verify --db`` when they did.
"""

from __future__ import annotations

from sqlalchemy import text

from liveblog.store.database import Database

PROTECTED_TABLES = ("events", "checkpoints", "signing_keys", "idempotency_records", "snapshots")


def expected_triggers(dialect: str) -> dict[str, str]:
    """The protecting triggers, by name, with the table each is on."""
    suffixes = ("update", "delete", "replace") if dialect == "sqlite" else ("rows", "truncate")
    return {f"{table}_append_only_{suffix}": table for table in PROTECTED_TABLES for suffix in suffixes}


async def missing_protection(database: Database) -> list[str]:
    """One line per protecting trigger that is missing (or disabled, on PostgreSQL)."""
    expected = expected_triggers(database.dialect)
    async with database.read() as connection:
        if database.is_sqlite:
            rows = await connection.execute(
                text("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
            )
            present = {(row[0], row[1]) for row in rows}
        else:
            rows = await connection.execute(
                text(
                    "SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND c.relnamespace = "
                    "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())"
                )
            )
            present = {(row[0], row[1]) for row in rows}
    return [
        f"the {table} table is not protected: trigger {name} is missing"
        + ("" if database.is_sqlite else " or disabled")
        + " (run `liveblog migrate` if the database predates it)"
        for name, table in expected.items()
        if (name, table) not in present
    ]
