"""The global change feed: every event of every story in commit order, resumable by cursor.

Writes to different stories commit in parallel (:mod:`liveblog.store.database`), and
PostgreSQL hands out ``position`` before commit, so a reader tailing ``position > last``
would skip an event whose transaction took its position early and committed late. The feed
uses the *transaction horizon* instead (ARCHITECTURE rule 4):

* each event stores the id of the transaction that wrote it (``events.xid``, 64-bit,
  from ``pg_current_xact_id()``);
* a read returns only events whose ``xid`` is below the horizon, the ``xmin`` of the
  reading statement's snapshot: every transaction with a smaller id has ended, so no event
  with a smaller ``xid`` can ever appear again, and every event below it is visible;
* events are read in ``(xid, position)`` order and a reader resumes after the
  ``(xid, position)`` pair of the last event it was given (a :class:`FeedCursor`). A
  transaction still running has an id at or above the horizon, so whatever it commits
  sorts after every cursor handed out so far: nothing is skipped, nothing repeated.

The price is delay, never loss: an event is held back while any transaction that started
before it commits is still open, on any database of the same PostgreSQL cluster (ids are
cluster-wide). liveblog ends its own sessions left idle in a transaction (see
``IDLE_IN_TRANSACTION`` in :mod:`liveblog.store.database`); other long transactions on the
cluster delay the feed until they end.

The order is the same for every reader and across restarts: it is stored, not computed.
Within a story it is version order (one story's writes are serialised). A cursor is tied
to the cluster's transaction ids: a log restored into another cluster must be followed
afresh (or the new cluster's ids advanced past the restored ones).

On SQLite (one writer, so events commit in ``position`` order) ``xid`` is 0 and the order
is ``position``; there is no horizon to wait for.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import BigInteger, ColumnElement, exists, func, literal_column, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.errors import InvalidCursor
from liveblog.store.event_store import _COLUMNS, RecordedEvent, _recorded
from liveblog.store.tables import events

MAX_PAGE = 1000
"""The most events :func:`read_page` returns at once."""
SCAN_ROUNDS = 10
"""How many pages of hidden events (drafts, for a reader without drafts) one call skips
before it returns, possibly empty, with a cursor that moved on."""
MAX_CURSOR_LENGTH = 64
"""No cursor this module issues is longer (two 19-digit numbers, base64)."""

_BIGINT_MAX = 2**63 - 1
_PREFIX = "f1"
_DECODED = re.compile(r"f1\.(0|[1-9][0-9]{0,18})\.(0|[1-9][0-9]{0,18})")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# Events below this transaction id are final: the oldest running transaction's id.
_HORIZON: ColumnElement[int] = literal_column(
    "pg_snapshot_xmin(pg_current_snapshot())::text::bigint", BigInteger
)


@dataclass(frozen=True, order=True, slots=True)
class FeedCursor:
    """A place in the feed: after the event written by transaction ``xid`` at ``position``.

    ``FeedCursor(0, 0)`` (:data:`START`) is before every event. Its string form
    (:meth:`encode`) is opaque to clients, URL-safe and at most 64 characters.
    """

    xid: int
    position: int

    def encode(self) -> str:
        raw = f"{_PREFIX}.{self.xid}.{self.position}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> FeedCursor:
        """The cursor ``text`` encodes; :class:`InvalidCursor` for anything this module
        would not have issued (so a cursor has one spelling, and nothing reaches SQL)."""
        if not 0 < len(text) <= MAX_CURSOR_LENGTH or not _BASE64URL.fullmatch(text):
            raise InvalidCursor("`after` is not a feed cursor this server issued")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii")
        except (binascii.Error, ValueError):
            raise InvalidCursor("`after` is not a feed cursor this server issued") from None
        match = _DECODED.fullmatch(raw)
        if match is None:
            raise InvalidCursor("`after` is not a feed cursor this server issued")
        xid, position = int(match[1]), int(match[2])
        cursor = cls(xid, position)
        if xid > _BIGINT_MAX or position > _BIGINT_MAX or cursor.encode() != text:
            raise InvalidCursor("`after` is not a feed cursor this server issued")
        return cursor


START = FeedCursor(0, 0)


def cursor_of(event: RecordedEvent) -> FeedCursor:
    """The cursor right after ``event``: resuming from it continues with the next one."""
    return FeedCursor(event.xid, event.position)


def _after(cursor: FeedCursor) -> ColumnElement[bool]:
    return tuple_(events.c.xid, events.c.position) > tuple_(cursor.xid, cursor.position)


async def read_page(
    connection: AsyncConnection,
    cursor: FeedCursor | None,
    limit: int,
    *,
    published_only: bool = False,
) -> tuple[list[RecordedEvent], FeedCursor]:
    """Up to ``limit`` (1..:data:`MAX_PAGE`) events after ``cursor`` (``None``: from the
    start) in feed order, and the cursor to resume from.

    ``published_only``: only what a reader of published stories may see (no drafts): the
    events of published stories from their publication (``StoryPublished``) on, and all of
    a story published with no draft period (published at version 2), never the submission
    queue's events (:data:`INTERNAL_TYPES`). The rule depends only
    on the log, so every read gives the same answer and resuming stays exactly once.

    The returned cursor is past every event looked at, shown or hidden. It equals ``cursor``
    exactly when the caller is caught up (nothing more below the horizon); an empty list
    with a cursor that moved means hidden events were skipped: ask again. Runs in any
    connection (a read transaction is enough).
    """
    if not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"limit must be 1..{MAX_PAGE}, not {limit}")
    position = cursor or START
    shown: list[RecordedEvent] = []
    for _ in range(SCAN_ROUNDS):
        batch = await _scan(connection, position, limit)
        published = (
            await publication_versions(connection, [e.stream for e in batch]) if published_only else {}
        )
        for event in batch:
            if len(shown) == limit:
                break
            position = cursor_of(event)
            if not published_only or visible_to_readers(event, published.get(event.stream)):
                shown.append(event)
        if len(batch) < limit or len(shown) == limit:
            break
    return shown, position


async def _scan(connection: AsyncConnection, cursor: FeedCursor, limit: int) -> list[RecordedEvent]:
    query = select(*_COLUMNS).where(_after(cursor))
    if connection.dialect.name == "postgresql":
        query = query.where(events.c.xid < _HORIZON)
    query = query.order_by(events.c.xid, events.c.position).limit(limit)
    return [_recorded(row) for row in await connection.execute(query)]


async def publication_versions(connection: AsyncConnection, streams: Sequence[str]) -> dict[str, int]:
    """The version of each of ``streams``' ``StoryPublished`` event (unpublished: absent)."""
    if not streams:
        return {}
    # The literal (not a bound parameter) lets the database use the partial index
    # ix_events_published, whose predicate it must match.
    query = (
        select(events.c.stream, func.min(events.c.version))
        .where(literal_column("type = 'StoryPublished'"), events.c.stream.in_(sorted(set(streams))))
        .group_by(events.c.stream)
    )
    return {stream: int(version) for stream, version in await connection.execute(query)}


INTERNAL_TYPES = frozenset(
    {"UpdateSubmitted", "SubmissionWithdrawn", "SubmissionRejected", "SubmissionApproved"}
)
"""The submission queue's events (:func:`liveblog.domain.events.is_internal`): the
newsroom's, never a consumer's, whatever the story's status."""


def visible_to_readers(event: RecordedEvent, published_at: int | None) -> bool:
    """Whether a reader of published stories may see ``event`` of a story published at
    ``published_at`` (``None``: not published): docs/live-drafts.md's rule; never a
    submission's event (an approved one reaches readers as its ``UpdatePosted``)."""
    if event.type in INTERNAL_TYPES:
        return False
    return published_at is not None and (event.version >= published_at or published_at <= 2)


async def held_back(connection: AsyncConnection, cursor: FeedCursor | None) -> bool:
    """Whether committed events lie after ``cursor``, whatever the horizon. Asked after a
    read from ``cursor`` that came back caught up, it means events the horizon held back
    (an older transaction is still open) or that committed since: a tail then polls soon
    rather than waits for the next wake-up, and "caught up and not held back" means the
    reader has everything committed so far. (Not "at or above the horizon": the horizon
    may pass an event between the read and this question.)"""
    query = select(exists().where(_after(cursor or START)))
    return bool((await connection.execute(query)).scalar_one())


async def head(connection: AsyncConnection) -> FeedCursor:
    """The cursor after the last event below the horizon now (``START`` for an empty log):
    following from it gives only what is written from now on."""
    query = select(events.c.xid, events.c.position)
    if connection.dialect.name == "postgresql":
        query = query.where(events.c.xid < _HORIZON)
    row = (
        await connection.execute(query.order_by(events.c.xid.desc(), events.c.position.desc()).limit(1))
    ).first()
    return START if row is None else FeedCursor(int(row[0]), int(row[1]))
