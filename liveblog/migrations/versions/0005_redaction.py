"""Redaction: per-member salts (hash format 2), and the one change immutable rows allow.

``events`` gets two nullable JSON columns: ``salts`` (format 2: one random salt per member of
``data``; NULL for a format-1 event) and ``redaction`` (set once, when a redaction removed
members: ``{"by": m, "commitments": {...}}``). ``idempotency_records`` gets ``redaction``
(``{"stream": s, "by": m}``) for a stored response rewritten to the tombstone.

The triggers of 0001/0003 still refuse every ordinary UPDATE and DELETE. They now let
exactly one kind of change through, which only a recorded redaction can justify
(``docs/architecture.md``, "Redaction"):

* ``events``: an UPDATE that keeps every column the hash is computed over apart from the
  data (position, stream, version, type, schema, metadata, recorded_at, hash, prev_hash),
  that only *removes* members of ``data`` and ``salts`` (what stays is unchanged, and
  ``update_id`` and ``at`` stay), sets ``redaction`` where it was NULL, on an event that is not
  itself an ``UpdateRedacted``, when the stream holds an ``UpdateRedacted`` event at version
  ``redaction.by``, later than this one, naming the same ``update_id``. A second rewrite of
  a row is refused (``OLD.redaction`` is set).
* ``snapshots``: a DELETE when the stream holds an ``UpdateRedacted`` event later than the
  snapshot (the snapshot may hold the text; the server re-derives state from the log).
* ``idempotency_records``: an UPDATE of ``body`` alone (scope, key, fingerprint, status,
  headers, created_at kept), setting ``redaction`` (where it was NULL, or to a later
  redaction of the same story: a story's response holds several updates), when the stream it
  names holds an ``UpdateRedacted`` event at ``redaction.by`` whose update id the old body
  mentions, recorded after the response was.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON_DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")

REFUSED_EVENTS = "events are append-only: UPDATE is not allowed (only a recorded redaction removes text)"
REFUSED_SNAPSHOTS = "snapshots are append-only: DELETE is not allowed (only after a recorded redaction)"
REFUSED_RECORDS = "idempotency_records are append-only: UPDATE is not allowed (only a recorded redaction)"

# ----------------------------------------------------------------------------- SQLite

SQLITE_EVENTS_REDACTION = """
    NEW.position IS OLD.position AND NEW.stream IS OLD.stream AND NEW.version IS OLD.version
    AND NEW.type IS OLD.type AND NEW.schema IS OLD.schema AND NEW.metadata IS OLD.metadata
    AND NEW.recorded_at IS OLD.recorded_at AND NEW.hash IS OLD.hash AND NEW.prev_hash IS OLD.prev_hash
    AND OLD.redaction IS NULL AND NEW.redaction IS NOT NULL AND OLD.type <> 'UpdateRedacted'
    AND (OLD.salts IS NULL) = (NEW.salts IS NULL)
    AND json_extract(NEW.data, '$.update_id') IS json_extract(OLD.data, '$.update_id')
    AND json_extract(NEW.data, '$.at') IS json_extract(OLD.data, '$.at')
    AND NOT EXISTS (SELECT 1 FROM json_each(NEW.data) AS kept
                    WHERE json_extract(OLD.data, '$."' || kept.key || '"') IS NOT kept.value)
    AND NOT EXISTS (SELECT 1 FROM json_each(NEW.salts) AS kept
                    WHERE json_extract(OLD.salts, '$."' || kept.key || '"') IS NOT kept.value)
    AND json_extract(NEW.redaction, '$.by') > OLD.version
    AND EXISTS (SELECT 1 FROM events AS redaction
                WHERE redaction.stream = OLD.stream
                  AND redaction.version = json_extract(NEW.redaction, '$.by')
                  AND redaction.type = 'UpdateRedacted'
                  AND json_extract(redaction.data, '$.update_id') = json_extract(OLD.data, '$.update_id'))
"""

SQLITE_SNAPSHOTS_REDACTION = """
    EXISTS (SELECT 1 FROM events AS redaction
            WHERE redaction.stream = OLD.stream AND redaction.type = 'UpdateRedacted'
              AND redaction.version > OLD.version)
"""

SQLITE_RECORDS_REDACTION = """
    NEW.scope IS OLD.scope AND NEW.key IS OLD.key AND NEW.fingerprint IS OLD.fingerprint
    AND NEW.status IS OLD.status AND NEW.headers IS OLD.headers AND NEW.created_at IS OLD.created_at
    AND NEW.redaction IS NOT NULL
    AND (OLD.redaction IS NULL
         OR (json_extract(OLD.redaction, '$.stream') IS json_extract(NEW.redaction, '$.stream')
             AND json_extract(NEW.redaction, '$.by') > json_extract(OLD.redaction, '$.by')))
    AND EXISTS (SELECT 1 FROM events AS redaction
                WHERE redaction.stream = json_extract(NEW.redaction, '$.stream')
                  AND redaction.version = json_extract(NEW.redaction, '$.by')
                  AND redaction.type = 'UpdateRedacted'
                  AND redaction.recorded_at >= OLD.created_at
                  AND instr(OLD.body, '"' || json_extract(redaction.data, '$.update_id') || '"') > 0)
"""


def sqlite_triggers() -> dict[str, str]:
    """The SQLite triggers 0005 puts in place of 0001/0003's, by name."""
    return {
        "events_append_only_update": f"""CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
           WHEN NOT ({SQLITE_EVENTS_REDACTION})
           BEGIN SELECT RAISE(ABORT, '{REFUSED_EVENTS}'); END""",
        "snapshots_append_only_delete": f"""CREATE TRIGGER snapshots_append_only_delete BEFORE DELETE ON snapshots
           WHEN NOT ({SQLITE_SNAPSHOTS_REDACTION})
           BEGIN SELECT RAISE(ABORT, '{REFUSED_SNAPSHOTS}'); END""",
        "idempotency_records_append_only_update": f"""CREATE TRIGGER idempotency_records_append_only_update
           BEFORE UPDATE ON idempotency_records
           WHEN NOT ({SQLITE_RECORDS_REDACTION})
           BEGIN SELECT RAISE(ABORT, '{REFUSED_RECORDS}'); END""",
    }


SQLITE_BEFORE = {
    "events_append_only_update": """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END""",
    "snapshots_append_only_delete": """CREATE TRIGGER snapshots_append_only_delete BEFORE DELETE ON snapshots
       BEGIN SELECT RAISE(ABORT, 'snapshots are append-only: DELETE is not allowed'); END""",
    "idempotency_records_append_only_update": """CREATE TRIGGER idempotency_records_append_only_update
       BEFORE UPDATE ON idempotency_records
       BEGIN SELECT RAISE(ABORT, 'idempotency_records are append-only: UPDATE is not allowed'); END""",
}

# ------------------------------------------------------------------------- PostgreSQL

POSTGRESQL_EVENTS = """CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'UPDATE'
        AND NEW."position" = OLD."position" AND NEW.stream = OLD.stream AND NEW.version = OLD.version
        AND NEW.type = OLD.type AND NEW.schema = OLD.schema AND NEW.metadata = OLD.metadata
        AND NEW.recorded_at = OLD.recorded_at AND NEW.hash = OLD.hash AND NEW.prev_hash = OLD.prev_hash
        AND OLD.redaction IS NULL AND NEW.redaction IS NOT NULL AND OLD.type <> 'UpdateRedacted'
        AND (OLD.salts IS NULL) = (NEW.salts IS NULL)
        AND NEW.data -> 'update_id' = OLD.data -> 'update_id' AND NEW.data -> 'at' = OLD.data -> 'at'
        AND NOT EXISTS (SELECT 1 FROM jsonb_each(NEW.data) AS kept
                        WHERE OLD.data -> kept.key IS DISTINCT FROM kept.value)
        AND NOT EXISTS (SELECT 1 FROM jsonb_each(COALESCE(NEW.salts, '{}'::jsonb)) AS kept
                        WHERE OLD.salts -> kept.key IS DISTINCT FROM kept.value)
        AND jsonb_typeof(NEW.redaction -> 'by') = 'number'
        AND (NEW.redaction ->> 'by')::numeric > OLD.version
        AND EXISTS (SELECT 1 FROM events AS redaction
                    WHERE redaction.stream = OLD.stream
                      AND redaction.version = (NEW.redaction ->> 'by')::numeric
                      AND redaction.type = 'UpdateRedacted'
                      AND redaction.data -> 'update_id' = OLD.data -> 'update_id')
     THEN
       RETURN NEW;
     END IF;
     RAISE EXCEPTION 'events are append-only: % is not allowed (only a recorded redaction removes text)', TG_OP
       USING ERRCODE = 'restrict_violation';
   END $$"""

POSTGRESQL_EVENTS_BEFORE = """CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP
       USING ERRCODE = 'restrict_violation';
   END $$"""

POSTGRESQL_SNAPSHOTS = """CREATE FUNCTION snapshots_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'DELETE' AND EXISTS (
          SELECT 1 FROM events AS redaction
          WHERE redaction.stream = OLD.stream AND redaction.type = 'UpdateRedacted'
            AND redaction.version > OLD.version)
     THEN
       RETURN OLD;
     END IF;
     RAISE EXCEPTION 'snapshots are append-only: % is not allowed (only after a recorded redaction)', TG_OP
       USING ERRCODE = 'restrict_violation';
   END $$"""

POSTGRESQL_RECORDS = """CREATE FUNCTION idempotency_records_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     IF TG_OP = 'UPDATE'
        AND NEW.scope = OLD.scope AND NEW.key = OLD.key AND NEW.fingerprint = OLD.fingerprint
        AND NEW.status = OLD.status AND NEW.headers = OLD.headers AND NEW.created_at = OLD.created_at
        AND NEW.redaction IS NOT NULL AND jsonb_typeof(NEW.redaction -> 'by') = 'number'
        AND (OLD.redaction IS NULL
             OR (OLD.redaction -> 'stream' = NEW.redaction -> 'stream'
                 AND (NEW.redaction ->> 'by')::numeric > (OLD.redaction ->> 'by')::numeric))
        AND EXISTS (SELECT 1 FROM events AS redaction
                    WHERE redaction.stream = NEW.redaction ->> 'stream'
                      AND redaction.version = (NEW.redaction ->> 'by')::numeric
                      AND redaction.type = 'UpdateRedacted'
                      AND redaction.recorded_at >= OLD.created_at
                      AND strpos(OLD.body, '"' || (redaction.data ->> 'update_id') || '"') > 0)
     THEN
       RETURN NEW;
     END IF;
     RAISE EXCEPTION 'idempotency_records are append-only: % is not allowed (only a recorded redaction)', TG_OP
       USING ERRCODE = 'restrict_violation';
   END $$"""

POSTGRESQL_TRIGGERS = {
    "snapshots": """CREATE TRIGGER snapshots_append_only_rows BEFORE UPDATE OR DELETE ON snapshots
       FOR EACH ROW EXECUTE FUNCTION snapshots_append_only()""",
    "idempotency_records": """CREATE TRIGGER idempotency_records_append_only_rows
       BEFORE UPDATE OR DELETE ON idempotency_records
       FOR EACH ROW EXECUTE FUNCTION idempotency_records_append_only()""",
}

POSTGRESQL_TRIGGERS_BEFORE = {
    table: f"""CREATE TRIGGER {table}_append_only_rows BEFORE UPDATE OR DELETE ON {table}
       FOR EACH ROW EXECUTE FUNCTION liveblog_append_only()"""
    for table in POSTGRESQL_TRIGGERS
}


def upgrade() -> None:
    # Plain ALTER TABLE ADD/DROP COLUMN (SQLite has both): a batch copy of these tables
    # would run into their own append-only triggers.
    op.add_column("events", sa.Column("salts", JSON_DOCUMENT, nullable=True))
    op.add_column("events", sa.Column("redaction", JSON_DOCUMENT, nullable=True))
    op.add_column("idempotency_records", sa.Column("redaction", JSON_DOCUMENT, nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for name, statement in sqlite_triggers().items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)
        return
    op.execute(POSTGRESQL_EVENTS)
    op.execute(POSTGRESQL_SNAPSHOTS)
    op.execute(POSTGRESQL_RECORDS)
    for table, statement in POSTGRESQL_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_rows ON {table}")
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, statement in SQLITE_BEFORE.items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)
    else:
        for table, statement in POSTGRESQL_TRIGGERS_BEFORE.items():
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_rows ON {table}")
            op.execute(statement)
        op.execute("DROP FUNCTION IF EXISTS snapshots_append_only()")
        op.execute("DROP FUNCTION IF EXISTS idempotency_records_append_only()")
        op.execute(POSTGRESQL_EVENTS_BEFORE)
    op.drop_column("idempotency_records", "redaction")
    op.drop_column("events", "redaction")
    op.drop_column("events", "salts")
