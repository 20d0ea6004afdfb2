"""A writer process for the change feed's tests: ``python -m tests.store.feed_writer URL
PREFIX WRITERS APPENDS`` runs WRITERS concurrent writers, each appending APPENDS single-event
transactions to its own story ``PREFIX-<n>``, with a pause between taking a position and
committing (the window in which a tail by ``position`` would skip a late committer)."""

from __future__ import annotations

import asyncio
import random
import sys
from datetime import UTC, datetime

from liveblog.store import event_store
from liveblog.store.database import Database
from liveblog.store.event_store import NewEvent


async def main(url: str, prefix: str, writers: int, appends: int) -> None:
    database = Database(url)

    async def writer(number: int) -> None:
        story = f"{prefix}-{number}"
        for version in range(appends):
            async with database.write(story) as connection:
                new = NewEvent(type="Noted", data={"n": version}, metadata={"actor": {"id": prefix}})
                await event_store.append(connection, story, version, [new], recorded_at=datetime.now(UTC))
                await asyncio.sleep(random.random() / 200)

    try:
        await asyncio.gather(*(writer(n) for n in range(writers)))
    finally:
        await database.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
