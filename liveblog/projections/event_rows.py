"""The rows each event adds to the read models kept per event: the revision history and the
past read model. One place derives them, for the append and for a rebuild alike."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain.events import Event
from liveblog.domain.state import StoryState
from liveblog.projections import history, past_views, redaction, views
from liveblog.projections.tables import header_versions, revisions, update_versions
from liveblog.store.batch import Batch


@dataclass
class EventRows:
    """Rows collected event by event, then written together."""

    revisions: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    draft_only: set[tuple[str, str]] = field(default_factory=set)
    """``(story, update)``: retracted while the story was a draft, marked at publication."""

    def add(
        self, before: StoryState | None, after: StoryState, event: Event, actor: dict[str, Any] | None
    ) -> None:
        """Collect the rows of ``event``, which took the story from ``before`` to ``after``."""
        self.revisions += history.revision_rows(before, after, event, actor)
        self.headers.append(past_views.header_row(after))
        self.updates += past_views.update_rows(after, event)
        self.draft_only |= {(after.slug, u) for u in views.draft_only_at_publication(before, after)}

    def redact(self, tombstones: dict[tuple[str, str], dict[str, Any]]) -> None:
        """Keep only the tombstone of every ``(story, update)`` redacted (a rebuild folds the
        redacted log, whose placeholders must not reach a read model): its revisions and its
        past views, as the redaction path rewrites the stored ones."""
        if not tombstones:
            return
        self.revisions = [
            {**row, "document": redaction.redacted_revision_text(row["document"])}
            if (row["stream"], row["target"]) in tombstones
            else row
            for row in self.revisions
        ]
        self.updates = [
            {**row, "view": redaction.redacted_view_text(row["view"], tombstones[row["story"], row["id"]])}
            if (row["story"], row["id"]) in tombstones
            else row
            for row in self.updates
        ]

    def past_update_rows(self) -> list[dict[str, Any]]:
        """The past update rows, each with its ``draft_only`` mark (for a rebuild)."""
        return [{**row, "draft_only": (row["story"], row["id"]) in self.draft_only} for row in self.updates]

    def collect(self, batch: Batch) -> None:
        """Add to ``batch`` the collected rows, to insert next to those already stored (and
        the marks, at a publication, of the rows of updates retracted while in draft)."""
        batch.insert(revisions, self.revisions)
        batch.insert(header_versions, self.headers)
        batch.insert(update_versions, self.updates)
        batch.change(
            update_versions,
            ("story", "id"),
            [
                {"story": story, "id": update_id, "draft_only": True}
                for story, update_id in sorted(self.draft_only)
            ],
        )

    async def replace(self, connection: AsyncConnection) -> None:
        """Store the collected rows instead of every row stored (a rebuild)."""
        await history.replace(connection, self.revisions)
        await past_views.replace(connection, self.headers, self.past_update_rows())
