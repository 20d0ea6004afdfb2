"""Rows that are written once stay as written, on both databases and whatever the statement.

0001 guarded only ``events``, and on SQLite only against UPDATE and DELETE: ``INSERT OR
REPLACE`` (and ``REPLACE INTO``) deletes the conflicting row without firing DELETE triggers
unless ``PRAGMA recursive_triggers`` is on, which a connection of one's own need not set.

Protected now, against UPDATE, DELETE, REPLACE and UPSERT (and TRUNCATE on PostgreSQL):

* ``events``: the log itself.
* ``checkpoints``: signed evidence of the log's head; deleting the newest ones would leave a
  rewritten tail covered by no signature.
* ``signing_keys``: the public keys ``audit verify --db`` and ``/api/v1/keys`` trust; a key
  replaced by a forger's would make forged checkpoints verify.
* ``idempotency_records``: the first response to a keyed request; a rewritten one would be
  replayed to the client as if the server had said it, a deleted one would let a retry run
  the command again.
* ``snapshots``: the state the server decides commands on instead of replaying the log;
  a rewritten one would change what the server believes without touching the log.

Not protected: ``tokens`` (revocation and last use update them) and the read models
(``story_headers``, ``update_views``, ``revisions``, ``header_versions``,
``update_versions``), which ``liveblog projections rebuild`` deletes and re-derives from the
log, and ``projections rebuild --check`` compares with it.

On SQLite a BEFORE INSERT trigger refuses an insert whose key (any unique key) is already
taken, so REPLACE never reaches its implicit delete, and an UPSERT is refused before its
DO UPDATE (whose UPDATE trigger would refuse it too). A plain INSERT on a taken key fails as
before, with an IntegrityError. On PostgreSQL, row triggers refuse UPDATE and DELETE
(including ``ON CONFLICT DO UPDATE`` and ``MERGE``), a statement trigger TRUNCATE.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Each protected table and its unique keys (the first is the primary key).
PROTECTED: dict[str, list[tuple[str, ...]]] = {
    "events": [("position",), ("stream", "version")],
    "checkpoints": [("stream", "version")],
    "signing_keys": [("id",)],
    "idempotency_records": [("scope", "key")],
    "snapshots": [("stream", "version")],
}
# The triggers 0001 created on events (kept as they are).
EVENTS_0001 = {"update", "delete"}


def sqlite_triggers(table: str) -> dict[str, str]:
    """The SQLite triggers that keep ``table``'s rows as written, by name."""
    taken = " OR ".join(
        "(" + " AND ".join(f'"{column}" = NEW."{column}"' for column in key) + ")" for key in PROTECTED[table]
    )
    statements = {
        f"{table}_append_only_replace": f"""CREATE TRIGGER {table}_append_only_replace BEFORE INSERT ON {table}
           WHEN EXISTS (SELECT 1 FROM {table} WHERE {taken})
           BEGIN SELECT RAISE(ABORT, '{table} are append-only: a row with this key exists, REPLACE and UPSERT are not allowed'); END""",
    }
    for operation in ("update", "delete"):
        if table == "events" and operation in EVENTS_0001:
            continue
        statements[f"{table}_append_only_{operation}"] = (
            f"CREATE TRIGGER {table}_append_only_{operation} BEFORE {operation.upper()} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} are append-only: {operation.upper()} is not allowed'); END"
        )
    return statements


POSTGRESQL_FUNCTION = """CREATE FUNCTION liveblog_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
   BEGIN
     RAISE EXCEPTION '% are append-only: % is not allowed', TG_TABLE_NAME, TG_OP
       USING ERRCODE = 'restrict_violation';
   END $$"""


def postgresql_triggers(table: str) -> dict[str, str]:
    """The PostgreSQL triggers that keep ``table``'s rows as written (events has them from 0001)."""
    if table == "events":
        return {}
    return {
        f"{table}_append_only_rows": f"""CREATE TRIGGER {table}_append_only_rows BEFORE UPDATE OR DELETE ON {table}
           FOR EACH ROW EXECUTE FUNCTION liveblog_append_only()""",
        f"{table}_append_only_truncate": f"""CREATE TRIGGER {table}_append_only_truncate BEFORE TRUNCATE ON {table}
           FOR EACH STATEMENT EXECUTE FUNCTION liveblog_append_only()""",
    }


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in PROTECTED:
            for statement in sqlite_triggers(table).values():
                op.execute(statement)
        return
    op.execute(POSTGRESQL_FUNCTION)
    for table in PROTECTED:
        for statement in postgresql_triggers(table).values():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in PROTECTED:
            for name in sqlite_triggers(table):
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
        return
    for table in PROTECTED:
        for name in postgresql_triggers(table):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS liveblog_append_only()")
