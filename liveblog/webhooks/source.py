"""What deliveries follow: the global change feed (:mod:`liveblog.store.feed`) as readers
of published stories see it, read from a cursor.

:class:`FeedSource` is the small interface the worker needs: the feed's current end (where
a new endpoint starts) and a page after a cursor, each entry carrying the cursor just after
it (so an endpoint's cursor moves one delivery at a time) and the page the cursor past
everything it looked at (so events the feed hides move the cursor too).

Only published stories' events are delivered, from their publication on (a story
published straight after its opening had no draft period: all of it): a draft, and a
published story's draft past, stay with the newsroom, as for readers and the feed's
``consumer`` role. A receiver is outside the newsroom; an endpoint that must see drafts
could be a later option.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from liveblog.audit.export import event_document
from liveblog.store import feed
from liveblog.store.database import Database
from liveblog.store.event_store import RecordedEvent
from liveblog.store.feed import FeedCursor


@dataclass(frozen=True, slots=True)
class FeedEntry:
    story: str
    version: int
    type: str
    item: dict[str, Any]
    """The change feed's item (``GET /api/v1/events``): the story's Event, ``story``, ``cursor``."""
    cursor: str
    """The feed's cursor just after this entry."""


@dataclass(frozen=True, slots=True)
class FeedPage:
    entries: list[FeedEntry]
    cursor: str
    """Past every event this read looked at (delivered or hidden from readers)."""
    held_back: bool
    """More events exist that the transaction horizon still holds back: look again soon."""


class FeedSource(Protocol):
    async def head(self) -> str:
        """The cursor of the feed's current end: following it gives what is written from now."""

    async def read(self, cursor: str | None, limit: int) -> FeedPage:
        """Up to ``limit`` entries after ``cursor`` (``None``: from the start), in feed order.

        Raises :class:`liveblog.errors.InvalidInput` for a cursor the feed never issued."""


def feed_item(event: RecordedEvent) -> dict[str, Any]:
    """The feed's item for ``event``, as ``GET /api/v1/events`` gives it
    (``liveblog.api.feed.feed_item``; rebuilt here, as this package may not import the API)."""
    return {"story": event.stream, **event_document(event), "cursor": feed.cursor_of(event).encode()}


class StoreFeedSource:
    """The change feed of :mod:`liveblog.store.feed`, published stories only."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def head(self) -> str:
        async with self.database.read() as connection:
            return (await feed.head(connection)).encode()

    async def read(self, cursor: str | None, limit: int) -> FeedPage:
        after = FeedCursor.decode(cursor) if cursor is not None else None
        async with self.database.read() as connection:
            shown, resume = await feed.read_page(
                connection, after, min(limit, feed.MAX_PAGE), published_only=True
            )
            held = not shown and await feed.held_back(connection, resume)
        entries = [
            FeedEntry(
                story=event.stream,
                version=event.version,
                type=event.type,
                item=feed_item(event),
                cursor=feed.cursor_of(event).encode(),
            )
            for event in shown
        ]
        return FeedPage(entries=entries, cursor=resume.encode(), held_back=held)
