"""After a redaction commits: make the database give up the bytes of the redacted text.

A committed redaction has removed the text from every row (docs/redaction.md), but a
database keeps old bytes about for a while after rows change:

- **SQLite** writes changed pages to the write-ahead log (``-wal``) first, and leaves freed
  cells and pages in the main file until they are reused. :func:`scrub` checkpoints the log
  into the main file and truncates it (``PRAGMA wal_checkpoint(TRUNCATE)``), rebuilds the
  file (``VACUUM``, which leaves no freed page), and checkpoints and truncates again (the
  rebuild itself went through the log). Every connection also runs with
  ``PRAGMA secure_delete=ON`` (:mod:`liveblog.store.database`), so freed space is zeroed
  as it is freed, between the commit and the ``VACUUM`` too. This runs outside any
  transaction (``VACUUM`` cannot run in one) but behind the process's write lock, so no
  write of this process comes between; it waits for other readers as SQLite's busy timeout
  allows and says so if they kept it from truncating the log.
- **PostgreSQL** keeps the old row versions (dead tuples) in the table files until
  ``VACUUM`` prunes them, and in its write-ahead log, replicas and backups until they are
  recycled or rotated. :func:`scrub` runs ``VACUUM`` on the schema's tables (outside a
  transaction, best effort: a failure is logged and reported, never raised, since the
  redaction itself has committed). Plain ``VACUUM`` takes no lock that blocks readers or
  writers; the space it frees may still hold old bytes until PostgreSQL reuses it, which
  ``VACUUM FULL`` (``full=True``, an exclusive lock while each table is rewritten) does not
  leave behind. What an operator must do beyond this (WAL, replicas, backups) is in
  docs/redaction.md.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from liveblog.errors import StoreError
from liveblog.store.database import Database

CLEANUP_ERRORS = (sqlite3.Error, asyncpg.PostgresError, StoreError, OSError)
"""What a cleanup may meet (a busy or vanished database); anything else is a bug, raised."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Scrubbed:
    """What :func:`scrub` did: the statements that ran, and what went wrong (nothing raised)."""

    done: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.problems


async def scrub(database: Database, *, tables: Sequence[str] | None = None, full: bool = False) -> Scrubbed:
    """Make ``database`` drop the bytes that rows changed by a just-committed redaction left
    behind (see the module docstring). ``tables`` (PostgreSQL): the tables to vacuum, by
    default every table of the current schema; ``full``: ``VACUUM FULL`` rather than
    ``VACUUM``. Call it after the redaction's transaction has committed, never inside one."""
    report = Scrubbed()
    try:
        if database.is_sqlite:
            await _scrub_sqlite(database, report)
        else:
            await _scrub_postgres(database, report, tables, full)
    except CLEANUP_ERRORS as exc:  # best effort: the redaction has committed whatever happens here
        report.problems.append(f"{type(exc).__name__}: {exc}")
    for problem in report.problems:
        log.warning("redaction cleanup: %s", problem)
    return report


async def _scrub_sqlite(database: Database, report: Scrubbed) -> None:
    async with database.outside_transaction() as driver:
        for statement in ("PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)"):
            cursor = await driver.execute(statement)
            row = await cursor.fetchone()
            await cursor.close()
            report.done.append(statement)
            # wal_checkpoint answers (busy, log frames, checkpointed frames); busy = 1 means a
            # reader kept it from completing, so the log may still hold old pages.
            if row is not None and row[0]:
                report.problems.append(f"{statement}: a reader kept the log from being truncated")


async def _scrub_postgres(
    database: Database, report: Scrubbed, tables: Sequence[str] | None, full: bool
) -> None:
    async with database.outside_transaction() as driver:
        if tables is None:
            rows: Any = await driver.fetch(
                "SELECT format('%I.%I', schemaname, tablename) AS name FROM pg_tables "
                "WHERE schemaname = current_schema() ORDER BY tablename"
            )
            names = [str(row["name"]) for row in rows]
        else:
            names = [str(await driver.fetchval("SELECT quote_ident($1)", table)) for table in tables]
        verb = "VACUUM (FULL)" if full else "VACUUM"
        for name in names:
            statement = f"{verb} {name}"
            try:
                await driver.execute(statement)
            except asyncpg.PostgresError as exc:  # one table's failure does not stop the others
                report.problems.append(f"{statement}: {exc}")
            else:
                report.done.append(statement)
