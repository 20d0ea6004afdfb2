"""Re-deriving the read model from the log, or checking the stored one against it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from liveblog.domain import StoryState, evolve
from liveblog.domain.events import event_from_data
from liveblog.projections import story_view
from liveblog.store import event_store
from liveblog.store.database import Database

Progress = Callable[[int, int], None]
BATCH = 1000


async def replay(database: Database, progress: Progress) -> dict[str, StoryState]:
    """Every story's state, folded from the whole log in global order."""
    async with database.read() as connection:
        total = await event_store.count(connection)
        stories: dict[str, StoryState] = {}
        done, after = 0, 0
        while batch := await event_store.read_all(connection, after=after, limit=BATCH):
            for recorded in batch:
                state = evolve(stories.get(recorded.stream), event_from_data(recorded.type, recorded.data))
                if state is not None:
                    stories[recorded.stream] = state
            done += len(batch)
            after = batch[-1].position
            progress(done, total)
    return stories


async def rebuild(database: Database, progress: Progress = lambda _done, _total: None) -> None:
    """Replace the stored read model with one derived from the log, in one transaction."""
    stories = await replay(database, progress)
    async with database.write() as connection:
        await story_view.replace(connection, stories.values())


async def check(database: Database, progress: Progress = lambda _done, _total: None) -> list[str]:
    """Differences between the stored read model and the log, one line each (none: in sync)."""
    stories = await replay(database, progress)
    expected_headers = {slug: story_view.header_row(story) for slug, story in stories.items()}
    expected_updates = {
        (slug, update_id): story_view.update_row(story, update_id)
        for slug, story in stories.items()
        for update_id in story.updates
    }
    async with database.read() as connection:
        stored_headers, stored_updates = await story_view.stored_rows(connection)
    return _compare("story", expected_headers, stored_headers) + _compare(
        "update", expected_updates, stored_updates
    )


def _compare(what: str, expected: dict[Any, dict[str, Any]], stored: dict[Any, dict[str, Any]]) -> list[str]:
    lines = []
    for key in sorted(expected.keys() | stored.keys(), key=str):
        if key not in stored:
            lines.append(f"{what} {key}: missing from the read model")
        elif key not in expected:
            lines.append(f"{what} {key}: in the read model but not in the log")
        else:
            for column in sorted(expected[key].keys() | stored[key].keys()):
                if expected[key].get(column) != stored[key].get(column):
                    lines.append(f"{what} {key}: {column} differs from the log")
    return lines
