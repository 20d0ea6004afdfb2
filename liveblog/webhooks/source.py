"""What deliveries follow: the global change feed, read from a cursor, one entry at a time.

:class:`FeedSource` is the small interface the worker needs: the feed's current end (where
a new endpoint starts) and the entries after a cursor, each carrying the cursor just after
it, so that an endpoint's cursor can move one delivery at a time.

:class:`LogSource` reads the log in ``position`` order, which never skips an event because
appends are serialised (:mod:`liveblog.store.database`); its cursor is the position, as a
string. A feed that reads below the transaction horizon with an ``(xid, position)`` cursor
plugs in the same way: the cursor is opaque to everything but the source.

Each entry says whether its story was published at that version: deliveries carry only
published stories' events (a draft, and a published story's draft past, stay with the
newsroom, as for readers; a story published straight after its opening had no draft
period, and its opening is delivered too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import func, select

from liveblog.audit.export import event_document
from liveblog.errors import InvalidInput
from liveblog.live.session import NO_DRAFT_PERIOD
from liveblog.store import event_store
from liveblog.store.database import Database
from liveblog.store.tables import events


@dataclass(frozen=True, slots=True)
class FeedEntry:
    story: str
    version: int
    type: str
    item: dict[str, Any]
    """The change feed's item: the Event of the audit API plus its ``story``."""
    cursor: str
    """The feed's cursor just after this entry."""
    published: bool
    """Whether the story was published at this version (only then is it delivered)."""


class FeedSource(Protocol):
    async def head(self) -> str | None:
        """The cursor of the feed's current end (``None``: the feed is empty)."""

    async def read(self, cursor: str | None, limit: int) -> Sequence[FeedEntry]:
        """Up to ``limit`` entries after ``cursor`` (``None``: from the start), in feed order.

        Raises :class:`InvalidInput` for a cursor this source never issued."""


class LogSource:
    """The log in position order (see the module's documentation)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self._published: dict[str, int] = {}  # story -> the version of its publication

    async def head(self) -> str | None:
        async with self.database.read() as connection:
            newest = (await connection.execute(select(func.max(events.c.position)))).scalar_one()
        return str(newest) if newest else None

    async def read(self, cursor: str | None, limit: int) -> list[FeedEntry]:
        after = _position(cursor)
        async with self.database.read() as connection:
            batch = await event_store.read_all(connection, after=after, limit=limit)
            entries = []
            for event in batch:
                since = await self._publication(connection, event.stream)
                item = {**event_document(event), "story": event.stream}
                entries.append(
                    FeedEntry(
                        story=event.stream,
                        version=event.version,
                        type=event.type,
                        item=item,
                        cursor=str(event.position),
                        published=since is not None and event.version >= since,
                    )
                )
        return entries

    async def _publication(self, connection: Any, story: str) -> int | None:
        """The first version of ``story`` that is delivered: its publication, or its opening
        when nothing came between (:data:`NO_DRAFT_PERIOD`, as for live readers)."""
        # Kept once known: a story is published once, and the version never changes.
        if story in self._published:
            return self._published[story]
        found = await event_store.first_version_of(connection, story, "StoryPublished")
        if found is not None:
            found = 1 if found == NO_DRAFT_PERIOD else found
            self._published[story] = found
        return found


def _position(cursor: str | None) -> int:
    if cursor is None:
        return 0
    if not cursor.isdigit() or len(cursor) > 19:
        raise InvalidInput("not a cursor of this feed")
    return int(cursor)
