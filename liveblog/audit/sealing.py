"""Sealing: no story's newest events stay without a signed checkpoint for long.

Checkpoints are signed on publish and close, and on a write when none was signed for
``checkpoint_every`` (:mod:`liveblog.application`). That leaves the tail of a story that
stops changing unsigned until its next write, and a tail covered by no signature can be
rewritten (its hashes recomputed) without a trace. Two things close it:

* :func:`seal_head` signs a story's head now if no checkpoint covers it yet (the on-demand
  ``POST …/checkpoint`` and every export use it);
* :class:`Sealer`, a task of the server, sweeps every few seconds for stories whose head is
  above their latest checkpoint and signs those heads: once the story has been quiet for a
  third of the bound ``within`` (so a burst of edits gets one checkpoint, not one per edit),
  and in any case before an unsigned event is ``within`` seconds old (so a story edited
  without pause is still sealed in time).

Drafts are sealed too: an export of a draft must verify, and a draft can be rewritten as
well as a live story. Readers never see a draft's checkpoints (``GET …/checkpoint`` is 404
for a draft they cannot read, and from publication on the latest checkpoint is at least the
one publication seals).

Several server processes may sweep the same database. On PostgreSQL a sweep that signs runs
under a transaction-scoped advisory lock it only *tries* to take (another process sweeping
at that moment has the work in hand), and re-reads the latest checkpoint under it; every
insert also tolerates a concurrent one at the same (story, version)
(:func:`~liveblog.audit.checkpoints.save_once`), so no head is ever signed twice. On SQLite
the database's single write lock serialises signers, processes included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.audit import checkpoints
from liveblog.audit.signing import Checkpoint, Signer
from liveblog.projections.tables import story_headers
from liveblog.store.database import Database, translate_errors
from liveblog.store.tables import checkpoints as checkpoint_rows
from liveblog.store.tables import events

# An arbitrary constant naming the sealing sweep among the server's advisory locks.
SWEEP_LOCK_KEY = 0x6C62_7365_616C  # "lbseal"
MAX_SWEEP_SECONDS = 5.0
MIN_SWEEP_SECONDS = 0.05

logger = logging.getLogger("liveblog.audit.sealing")


@dataclass(frozen=True, slots=True)
class Sealed:
    """The checkpoint that covers a story's head, and whether it was signed just now."""

    checkpoint: Checkpoint
    created: bool


@dataclass(frozen=True, slots=True)
class _Head:
    story: str
    version: int
    hash: str


@asynccontextmanager
async def _signing(database: Database) -> AsyncIterator[AsyncConnection]:
    """A transaction that may store checkpoints. On PostgreSQL it does not take the append
    lock (a checkpoint has no place in the log's order, and writers need not wait for it);
    on SQLite it is the database's write transaction, the only way to write there."""
    if database.is_sqlite:
        async with database.write() as connection:
            yield connection
    else:
        async with translate_errors(), database.engine.begin() as connection:
            yield connection


async def _seal(connection: AsyncConnection, signer: Signer, head: _Head, now: datetime) -> Sealed:
    existing = await checkpoints.at_version(connection, head.story, head.version)
    if existing is not None:
        return Sealed(existing, created=False)
    await checkpoints.register_key(connection, signer, now=now)
    checkpoint = signer.sign(head.story, head.version, head.hash, now)
    if await checkpoints.save_once(connection, checkpoint):
        return Sealed(checkpoint, created=True)
    stored = await checkpoints.at_version(connection, head.story, head.version)
    assert stored is not None  # save_once stored nothing because this one was there
    return Sealed(stored, created=False)


async def seal_head(database: Database, signer: Signer, story: str, *, now: datetime) -> Sealed | None:
    """The checkpoint of ``story``'s head as the log holds it now: the one stored, or one
    signed at ``now`` (with ``signer``, whose key is registered if it is new). ``None`` if
    the story has no events."""
    async with _signing(database) as connection:
        return await seal_head_in(connection, signer, story, now=now)


async def seal_head_in(
    connection: AsyncConnection, signer: Signer, story: str, *, now: datetime
) -> Sealed | None:
    """:func:`seal_head` in the caller's write transaction (a database's ``write()``)."""
    newest = (
        await connection.execute(
            select(events.c.version, events.c.hash)
            .where(events.c.stream == story)
            .order_by(events.c.version.desc())
            .limit(1)
        )
    ).one_or_none()
    if newest is None:
        return None
    return await _seal(connection, signer, _Head(story, newest.version, newest.hash), now)


class Sealer:
    """The sweep that signs every story's head within ``within`` seconds of its change.

    It runs every ``within / 10`` seconds (between 0.05 and 5), signs the head of a story
    quiet for ``within / 3``, and of any story whose oldest unsigned event would otherwise
    be older than ``within`` by the next sweep.
    """

    def __init__(
        self, database: Database, signer: Signer, *, within: float, clock: Callable[[], datetime]
    ) -> None:
        self.database = database
        self.signer = signer
        self.clock = clock
        self.within = within
        self.every = min(max(within / 10, MIN_SWEEP_SECONDS), MAX_SWEEP_SECONDS)
        self.quiet = timedelta(seconds=within / 3)
        # One sweep may just have missed the deadline, the next must meet it.
        self.deadline = timedelta(seconds=max(within - 2 * self.every, 0.0))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.sweep()
            except Exception:  # the database may be away for a while; the next sweep retries
                logger.exception("the sealing sweep failed; retrying in %s s", self.every)

    async def sweep(self) -> list[Checkpoint]:
        """One pass: sign the head of every story that is due (see the class); the
        checkpoints this pass signed (none if another process is sweeping)."""
        async with self.database.read() as connection:
            due = await self._due(connection, self.clock())
        if not due:
            return []
        signed = []
        async with _signing(self.database) as connection:
            if not self.database.is_sqlite:
                taken = await connection.execute(
                    text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SWEEP_LOCK_KEY}
                )
                if not taken.scalar_one():
                    return []
            for head in due:
                latest = await checkpoints.latest(connection, head.story)
                if latest is not None and latest.version >= head.version:
                    continue  # sealed since we looked, by another process or an export
                sealed = await _seal(connection, self.signer, head, self.clock())
                if sealed.created:
                    signed.append(sealed.checkpoint)
        return signed

    async def _due(self, connection: AsyncConnection, now: datetime) -> list[_Head]:
        """The heads to sign now: of the stories whose head is above their latest checkpoint,
        those quiet for ``quiet``, or whose first unsigned event is ``deadline`` old."""
        signed = (
            select(func.coalesce(func.max(checkpoint_rows.c.version), 0))
            .where(checkpoint_rows.c.stream == story_headers.c.slug)
            .scalar_subquery()
        )
        unsigned = (
            await connection.execute(
                select(story_headers.c.slug, story_headers.c.version, signed.label("signed"))
                .where(story_headers.c.version > signed)
                .order_by(story_headers.c.slug)
            )
        ).all()
        due = []
        for story, version, covered in unsigned:
            rows = (
                await connection.execute(
                    select(events.c.version, events.c.recorded_at, events.c.hash).where(
                        events.c.stream == story, events.c.version.in_((covered + 1, version))
                    )
                )
            ).all()
            found = {row.version: row for row in rows}
            head, first = found.get(version), found.get(covered + 1)
            if head is None or first is None:
                continue  # the read model is ahead of what this transaction sees of the log
            if now - head.recorded_at >= self.quiet or now - first.recorded_at >= self.deadline:
                due.append(_Head(story, version, head.hash))
        return due
