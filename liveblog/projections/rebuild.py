"""Re-deriving the read model from the log, or checking the stored one against it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain import StoryState, evolve
from liveblog.domain.upcasting import event_from_stored
from liveblog.projections import history, past_views, story_view, submissions, views
from liveblog.projections.event_rows import EventRows
from liveblog.store import event_store
from liveblog.store.database import Database

Progress = Callable[[int, int], None]
BATCH = 1000


@dataclass
class Derived:
    """Everything the read models should hold, derived from the log alone."""

    stories: dict[str, StoryState] = field(default_factory=dict)
    rows: EventRows = field(default_factory=EventRows)


async def replay(database: Database, progress: Progress) -> Derived:
    """Fold the whole log into every story and its per-event rows."""
    async with database.read() as connection:
        return await _replay(connection, progress)


async def _replay(connection: AsyncConnection, progress: Progress) -> Derived:
    # Position order is each story's version order (a story's writes are serialised), which
    # is all a fold needs; the order across stories does not matter here.
    derived = Derived()
    total = await event_store.count(connection)
    done, after = 0, 0
    while batch := await event_store.read_all(connection, after=after, limit=BATCH):
        for recorded in batch:
            before = derived.stories.get(recorded.stream)
            event = event_from_stored(
                recorded.type, recorded.schema, recorded.data, redacted=recorded.redaction is not None
            )
            state = evolve(before, event)
            if state is not None:
                derived.stories[recorded.stream] = state
                derived.rows.add(before, state, event, recorded.metadata.get("actor"))
        done += len(batch)
        after = batch[-1].position
        progress(done, total)
    derived.rows.redact(
        {
            (slug, update.id): views.redaction_view(update)
            for slug, story in derived.stories.items()
            for update in story.updates.values()
            if update.redaction is not None
        }
    )
    return derived


async def rebuild(database: Database, progress: Progress = lambda _done, _total: None) -> None:
    """Replace the stored read models with ones derived from the log, in one transaction
    that keeps every story's writes out (so none lands between the replay and the
    replacement, and :func:`event_store.read_all` reads a log no one writes to)."""
    async with database.write(exclusive=True) as connection:
        derived = await _replay(connection, progress)
        await story_view.replace(connection, derived.stories.values(), derived.rows.draft_only)
        await derived.rows.replace(connection)
        await submissions.replace(connection, derived.stories.values())


async def check(database: Database, progress: Progress = lambda _done, _total: None) -> list[str]:
    """Differences between the stored read models and the log, one line each (none: in sync)."""
    derived = await replay(database, progress)
    stories = derived.stories
    expected_headers = {slug: story_view.header_row(story) for slug, story in stories.items()}
    rows = derived.rows
    expected_updates = {
        (slug, update_id): {
            **story_view.update_row(story, update_id),
            "draft_only": (slug, update_id) in rows.draft_only,
        }
        for slug, story in stories.items()
        for update_id in story.updates
    }
    expected_revisions = {(row["stream"], row["target"], row["revision"]): row for row in rows.revisions}
    expected_past_headers = {(row["story"], row["version"]): row for row in rows.headers}
    expected_past_updates = {(row["story"], row["id"], row["since"]): row for row in rows.past_update_rows()}
    async with database.read() as connection:
        stored_headers, stored_updates = await story_view.stored_rows(connection)
        stored_revisions = await history.stored_rows(connection)
        stored_past_headers, stored_past_updates = await past_views.stored_rows(connection)
        stored_submissions = await submissions.stored_rows(connection)
    return (
        _compare("story", expected_headers, stored_headers)
        + _compare("update", expected_updates, stored_updates)
        + _compare("revision", expected_revisions, stored_revisions)
        + _compare("past story", expected_past_headers, stored_past_headers)
        + _compare("past update", expected_past_updates, stored_past_updates)
        + _compare("submission", submissions.expected_rows(stories.values()), stored_submissions)
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
