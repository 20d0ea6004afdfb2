"""A story's log as a self-contained NDJSON export (``docs/audit-format.md``).

Line 1 is ``{"export": {...}}``: format, story, the version and head hash the export claims
to end at, and the public keys. Then one line per event, in version order, then one
``{"checkpoint": {...}}`` line per signed checkpoint at or below that version.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from liveblog.audit import checkpoints
from liveblog.domain.values import rfc3339
from liveblog.store import event_store
from liveblog.store.database import Database
from liveblog.store.event_store import RecordedEvent

FORMAT = "liveblog-export/2"
FORMATS = ("liveblog-export/1", FORMAT)
"""The formats a verifier reads: /1 (no salts) and /2 (salts, redactions)."""
BATCH = 1000


def event_document(recorded: RecordedEvent) -> dict[str, Any]:
    """docs/api.md's Event, plus ``schema``: everything its hash covers. A format-2 event has
    ``salts``; a redacted one ``redacted`` (``{"by": m, "commitments": {...}}``, the
    commitments of the members removed; ``{"by": m}`` for a format-1 event)."""
    document = {
        "version": recorded.version,
        "position": recorded.position,
        "type": recorded.type,
        "schema": recorded.schema,
        "data": recorded.data,
        "actor": recorded.metadata.get("actor"),
        "recorded_at": rfc3339(recorded.recorded_at),
        "hash": recorded.hash,
        "prev_hash": recorded.prev_hash,
    }
    if recorded.salts is not None:
        document["salts"] = recorded.salts
    if recorded.redaction is not None:
        document["redacted"] = recorded.redaction
    return document


def line(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


async def export_lines(database: Database, story: str, *, now: datetime) -> AsyncIterator[str]:
    """The export of ``story`` as of now, line by line, read in batches."""
    async with database.read() as connection:
        head = await event_store.read_stream(connection, story, newest=1)
        version = head[0].version if head else 0
        keys = await checkpoints.public_keys(connection)
        yield line(
            {
                "export": {
                    "format": FORMAT,
                    "story": story,
                    "version": version,
                    "head_hash": head[0].hash if head else None,
                    "exported_at": rfc3339(now),
                    "keys": keys,
                }
            }
        )
        after = 0
        while after < version:
            batch = await event_store.read_stream(
                connection, story, after=after, limit=min(BATCH, version - after)
            )
            for recorded in batch:
                yield line(event_document(recorded))
            after = batch[-1].version
        for checkpoint in await checkpoints.for_story(connection, story):
            if checkpoint.version <= version:
                yield line({"checkpoint": checkpoint.document()})
