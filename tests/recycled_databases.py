"""Migrated PostgreSQL databases that tests use one after another, reset in between.

Creating a database from the migrated template and dropping it afterwards costs 0.5 to 5
seconds a test on a busy machine (both write and sync the whole database). Instead, when a
test is done with its database, :func:`reset` brings it back to the template's exact state
and the next test gets it:

* every other connection to it is ended (as ``DROP DATABASE ... WITH (FORCE)`` would);
* every row of every table is deleted (the template's rows, only Alembic's version, are
  compared below), the append-only triggers and the foreign keys bypassed for that
  (``session_replication_role = replica``); every sequence restarts;
* then its :data:`FINGERPRINT` (the definitions of every table, column, constraint,
  index, trigger, function, type, view, policy and schema; the database's own settings,
  such as ``ALLOW_CONNECTIONS``; the tables' row counts and Alembic's version) must equal
  the template's. A test that changed anything of that (a migration run down, a trigger
  disabled, a setting left behind) gets its database dropped, as before, and the next test a
  new copy of the template. So does any error during the reset.

A reused database has the name it had; no test relies on a name being new (each test's
databases are its own while it runs).
"""

from __future__ import annotations

import asyncpg

# One text per definition, sorted, hashed: equal fingerprints mean equal schemas and settings.
FINGERPRINT = r"""
WITH user_namespaces AS (
    SELECT oid, nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema') AND nspname NOT LIKE 'pg\_toast%'
      AND nspname NOT LIKE 'pg\_temp\_%'
), user_classes AS (
    SELECT c.* FROM pg_class c JOIN user_namespaces n ON n.oid = c.relnamespace
), lines AS (
    SELECT 'namespace ' || nspname || ' ' || coalesce(array_to_string(nspacl, ','), '') AS line
    FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM user_namespaces)
    UNION ALL
    SELECT concat_ws(' ', 'class', c.relnamespace::regnamespace, c.relname, c.relkind, c.relpersistence,
                     c.relrowsecurity, c.relforcerowsecurity, c.relreplident,
                     array_to_string(c.reloptions, ','), array_to_string(c.relacl, ','))
    FROM user_classes c
    UNION ALL
    SELECT concat_ws(' ', 'column', a.attrelid::regclass, a.attnum, a.attname,
                     format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity, a.attgenerated,
                     pg_get_expr(d.adbin, d.adrelid), a.attcollation)
    FROM pg_attribute a JOIN user_classes c ON c.oid = a.attrelid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT concat_ws(' ', 'constraint', co.conrelid::regclass, co.conname, pg_get_constraintdef(co.oid),
                     co.condeferrable, co.condeferred, co.convalidated)
    FROM pg_constraint co WHERE co.connamespace IN (SELECT oid FROM user_namespaces)
    UNION ALL
    SELECT concat_ws(' ', 'index', pg_get_indexdef(i.indexrelid), i.indisvalid, i.indisready)
    FROM pg_index i JOIN user_classes c ON c.oid = i.indrelid
    UNION ALL
    SELECT concat_ws(' ', 'trigger', pg_get_triggerdef(t.oid), t.tgenabled)
    FROM pg_trigger t JOIN user_classes c ON c.oid = t.tgrelid
    UNION ALL
    SELECT concat_ws(' ', 'rule', r.rulename, pg_get_ruledef(r.oid), r.ev_enabled)
    FROM pg_rewrite r JOIN user_classes c ON c.oid = r.ev_class
    UNION ALL
    SELECT concat_ws(' ', 'policy', p.polrelid::regclass, p.polname, p.polcmd, p.polpermissive,
                     pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
    FROM pg_policy p
    UNION ALL
    SELECT concat_ws(' ', 'function', p.oid::regprocedure, p.prokind, p.provolatile, p.prosecdef,
                     md5(pg_get_functiondef(p.oid)), array_to_string(p.proacl, ','))
    FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM user_namespaces) AND p.prokind <> 'a'
    UNION ALL
    SELECT concat_ws(' ', 'type', t.typnamespace::regnamespace, t.typname, t.typtype,
                     (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
                      FROM pg_enum e WHERE e.enumtypid = t.oid))
    FROM pg_type t WHERE t.typnamespace IN (SELECT oid FROM user_namespaces) AND t.typtype IN ('e', 'd', 'r', 'm')
    UNION ALL
    SELECT concat_ws(' ', 'sequence', s.schemaname, s.sequencename, s.start_value, s.increment_by,
                     s.last_value)
    FROM pg_sequences s
    UNION ALL
    SELECT 'extension ' || extname || ' ' || extversion FROM pg_extension
    UNION ALL
    SELECT concat_ws(' ', 'database', datallowconn, datconnlimit, datistemplate,
                     array_to_string(datacl, ','))
    FROM pg_database WHERE datname = current_database()
    UNION ALL
    SELECT concat_ws(' ', 'setting', setrole, array_to_string(setconfig, ','))
    FROM pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
    UNION ALL
    SELECT 'publication ' || pubname FROM pg_publication
    UNION ALL
    SELECT 'event trigger ' || evtname FROM pg_event_trigger
    UNION ALL
    SELECT 'large objects ' || count(*) FROM pg_largeobject_metadata
)
SELECT md5(string_agg(line, E'\n' ORDER BY line)) FROM lines
"""

# The ordinary and partitioned tables of the user's schemas, to empty and to count.
TABLES = r"""
SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\_%'
ORDER BY 1
"""

KEPT = "public.alembic_version"  # its rows (the schema's version) stay; every other table is emptied


async def state(connection: asyncpg.Connection) -> str:
    """The fingerprint of the database, with its tables' row counts and Alembic's version."""
    fingerprint = await connection.fetchval(FINGERPRINT)
    tables = [row[0] for row in await connection.fetch(TABLES)]
    counts = [f"{table}={await connection.fetchval(f'SELECT count(*) FROM {table}')}" for table in tables]
    version = ""
    if KEPT in tables:
        version = ",".join(sorted(str(row[0]) for row in await connection.fetch(f"SELECT * FROM {KEPT}")))
    return f"{fingerprint} {' '.join(counts)} version={version}"


async def template_state(dsn: str) -> str | None:
    """The state every reset must reach, or None if the template cannot be reproduced by
    emptying tables (a table besides Alembic's has rows)."""
    connection = await asyncpg.connect(dsn, timeout=30)
    try:
        tables = [row[0] for row in await connection.fetch(TABLES)]
        for table in tables:
            if table != KEPT and await connection.fetchval(f"SELECT count(*) FROM {table}"):
                return None
        return await state(connection)
    finally:
        await connection.close()


async def reset(admin_dsn: str, name: str, dsn: str, expected: str) -> bool:
    """Bring database ``name`` (at ``dsn``) back to the template's state ``expected``; False
    if it is not (then the caller drops it). ``admin_dsn`` is another database of the server."""
    admin = await asyncpg.connect(admin_dsn, timeout=30)
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    connection = await asyncpg.connect(dsn, timeout=30)
    try:
        await connection.execute("SET lock_timeout = '10s'")
        async with connection.transaction():
            await connection.execute("SET LOCAL session_replication_role = replica")
            for (table,) in await connection.fetch(TABLES):
                if table != KEPT:
                    await connection.execute(f"DELETE FROM {table}")
            sequences = await connection.fetch(
                "SELECT format('%I.%I', schemaname, sequencename) FROM pg_sequences"
            )
            for (sequence,) in sequences:
                await connection.execute(f"ALTER SEQUENCE {sequence} RESTART")
        return bool(await state(connection) == expected)
    finally:
        await connection.close()
