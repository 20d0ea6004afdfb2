"""The retention report: every correction, retraction and redaction of a story, for an
auditor or a lawyer (``liveblog audit report SLUG``).

It reads the log as stored, in batches, and picks events by type name, without decoding
them through the domain (so it reads any schema, and redactions, whose event type
``UpdateRedacted`` carries ``{update_id, at, legal_basis, note, reason}``). For each it
says what was done (and, for a correction, its kind and the fields it changed, never the
text), to which update, at which version of the log, when, by whom (the token's name, role
and id, from the event's metadata), why (the internal reason), what readers were told (the
public note) and, for a redaction, the legal basis.

Both renderings, :func:`as_json` and :func:`as_markdown`, come from one :class:`Report`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from liveblog.domain.values import rfc3339
from liveblog.errors import StoryNotFound
from liveblog.store import event_store
from liveblog.store.database import Database
from liveblog.store.event_store import RecordedEvent

ACTIONS: Mapping[str, str] = {
    "UpdateCorrected": "correction",
    "UpdateRetracted": "retraction",
    "UpdateRedacted": "redaction",
}
"""The event types the report lists, and what it calls each."""
BATCH = 1000
FORMAT = "liveblog-retention-report/1"
NONE = "\N{EN DASH}"  # an empty cell

Progress = Callable[[int, int], None]


def _quiet(done: int, total: int) -> None:
    """A progress callback that reports nothing."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One correction, retraction or redaction, as the log recorded it."""

    version: int
    action: str
    kind: str | None
    update_id: str | None
    at: str | None
    recorded_at: str | None
    actor: dict[str, str] | None
    reason: str | None
    note: str | None
    legal_basis: str | None
    fields: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Report:
    story: str
    title: str | None
    version: int
    generated_at: str | None
    entries: list[Entry]

    def counts(self) -> dict[str, int]:
        counted = dict.fromkeys(ACTIONS.values(), 0)
        for entry in self.entries:
            counted[entry.action] += 1
        return counted


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _entry(recorded: RecordedEvent) -> Entry:
    data = recorded.data
    actor = recorded.metadata.get("actor")
    changes = data.get("changes")
    return Entry(
        version=recorded.version,
        action=ACTIONS[recorded.type],
        kind=_text(data.get("kind")),
        update_id=_text(data.get("update_id")),
        at=_text(data.get("at")) or rfc3339(recorded.recorded_at),
        recorded_at=rfc3339(recorded.recorded_at),
        actor={key: str(actor.get(key)) for key in ("id", "name", "role")}
        if isinstance(actor, dict)
        else None,
        reason=_text(data.get("reason")),
        note=_text(data.get("note")),
        legal_basis=_text(data.get("legal_basis")),
        fields=sorted(changes) if isinstance(changes, dict) else [],
    )


async def build(database: Database, story: str, *, now: datetime, progress: Progress = _quiet) -> Report:
    """The report of ``story`` as its log stands; ``progress(done, total)`` after each batch
    of events read. Raises :class:`StoryNotFound` for a story without events."""
    async with database.read() as connection:
        version = await event_store.stream_version(connection, story)
        if version == 0:
            raise StoryNotFound(f"there is no story {story!r}")
        title: str | None = None
        entries: list[Entry] = []
        after = 0
        while after < version:
            batch = await event_store.read_stream(connection, story, after=after, until=version, limit=BATCH)
            for recorded in batch:
                if recorded.type in ("StoryOpened", "StoryRevised") and _text(recorded.data.get("title")):
                    title = recorded.data["title"]
                if recorded.type in ACTIONS:
                    entries.append(_entry(recorded))
            after = batch[-1].version
            progress(after, version)
    return Report(story=story, title=title, version=version, generated_at=rfc3339(now), entries=entries)


def as_json(report: Report) -> str:
    """The report as one JSON document (``format``, the story, counts and entries)."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "story": report.story,
        "title": report.title,
        "version": report.version,
        "generated_at": report.generated_at,
        "counts": report.counts(),
        "entries": [asdict(entry) for entry in report.entries],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _cell(value: str | None) -> str:
    """``value`` safe in a Markdown table cell: one line, pipes and markup characters escaped."""
    if not value:
        return NONE
    flat = " ".join(value.split())
    for character in "\\|*_`[]<>#":
        flat = flat.replace(character, "\\" + character)
    return flat


def _who(actor: dict[str, str] | None) -> str:
    if actor is None:
        return NONE
    return f"{_cell(actor['name'])} ({_cell(actor['role'])}, token {_cell(actor['id'])})"


def _what(entry: Entry) -> str:
    what = entry.action if entry.kind in (None, entry.action) else f"{entry.action} ({entry.kind})"
    if entry.fields:
        what += ": " + ", ".join(entry.fields)
    return _cell(what)


def summary(report: Report) -> str:
    """How many of each: "3 corrections, 1 retraction, 0 redactions"."""
    return ", ".join(
        f"{count} {action}{'' if count == 1 else 's'}" for action, count in report.counts().items()
    )


def as_markdown(report: Report) -> str:
    """The report as a Markdown document: a summary, then one table row per entry."""
    title = f"{_cell(report.title)} (`{report.story}`)" if report.title else f"`{report.story}`"
    lines = [
        f"# Retention report: {title}",
        "",
        f"Log at version {report.version}, report generated at {report.generated_at}. {summary(report)}.",
        "",
        "Who is the token that acted (its name, role and id). Why is the internal reason; "
        "the public note is what readers were shown.",
        "",
    ]
    if not report.entries:
        lines.append("No correction, retraction or redaction was recorded.")
        return "\n".join(lines) + "\n"
    lines += [
        "| Version | When (UTC) | What | Update | Who | Why (internal reason) | Public note | Legal basis |",
        "|---:|---|---|---|---|---|---|---|",
    ]
    for entry in report.entries:
        update = f"`{entry.update_id}`" if entry.update_id else NONE
        lines.append(
            f"| {entry.version} | {_cell(entry.at)} | {_what(entry)} | {update} | {_who(entry.actor)} "
            f"| {_cell(entry.reason)} | {_cell(entry.note)} | {_cell(entry.legal_basis)} |"
        )
    return "\n".join(lines) + "\n"
