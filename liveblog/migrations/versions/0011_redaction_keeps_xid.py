"""A redaction's rewrite of an event row must keep its ``xid`` too.

0005 lets exactly one UPDATE of ``events`` through (a recorded redaction removing members of
``data``) and checks that every other column is unchanged; ``xid`` came later (0006, the
change feed's order) and was not among them, so such a rewrite could have moved an event in
the global feed. The guard now compares it as well. The installed definitions are patched
in place (SQLite: the trigger's SQL from ``sqlite_master``; PostgreSQL: the function's from
``pg_get_functiondef``), so the condition stays written once, in 0005.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TRIGGER = "events_append_only_update"
FUNCTION = "events_append_only"
GUARDS = {
    # dialect: (the first comparison of 0005's condition, the one put before it)
    "sqlite": ("NEW.position IS OLD.position", "NEW.xid IS OLD.xid AND "),
    "postgresql": ('NEW."position" = OLD."position"', "NEW.xid = OLD.xid AND "),
}


def _rewrite(old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the installed guard of ``events`` UPDATEs."""
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        query = text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :name")
        definition = str(bind.execute(query, {"name": TRIGGER}).scalar_one())
    else:
        query = text(f"SELECT pg_get_functiondef('{FUNCTION}'::regproc)")
        definition = str(bind.execute(query).scalar_one())
    if old not in definition:
        raise RuntimeError(f"the guard of events UPDATEs is not the one this migration expects: {old!r}")
    if bind.dialect.name == "sqlite":
        op.execute(f"DROP TRIGGER {TRIGGER}")
    op.execute(definition.replace(old, new, 1))  # PostgreSQL's is a CREATE OR REPLACE


def upgrade() -> None:
    anchor, guard = GUARDS[op.get_bind().dialect.name]
    _rewrite(anchor, guard + anchor)


def downgrade() -> None:
    anchor, guard = GUARDS[op.get_bind().dialect.name]
    _rewrite(guard + anchor, anchor)
