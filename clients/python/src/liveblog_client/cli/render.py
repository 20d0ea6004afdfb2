"""How the command line shows stories, live events and revision histories (with rich).

Colour carries meaning only where text says it too: a removed run of text is also marked
``[-...-]`` and an inserted one ``{+...+}`` when the output has no colours (a pipe, a file,
``NO_COLOR``), and a retracted update says "retracted" as well as being struck through.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.padding import Padding
from rich.text import Text

from liveblog_client.models import (
    ClaimStatus,
    LiveEvent,
    MediaKind,
    Resync,
    Revision,
    Story,
    StoryHeader,
    Update,
    UpdateStatus,
)

CLAIM_STYLES = {
    ClaimStatus.UNVERIFIED: "bold yellow",
    ClaimStatus.CONFIRMED: "bold green",
    ClaimStatus.DISPUTED: "bold magenta",
    ClaimStatus.DENIED: "bold red",
    ClaimStatus.FALSE: "bold red",
}
NOTE_LABELS = {
    "correction": "Correction",
    "clarification": "Clarification",
    "amendment": "Amendment",
    "minor": "Minor edit",
}


def when(moment: datetime) -> str:
    """A time in the terminal's time zone, short."""
    return moment.astimezone().strftime("%d %b %H:%M")


def _indent(renderable: RenderableType) -> Padding:
    return Padding(renderable, (0, 0, 0, 2))


def badges(update: Update) -> Text:
    """Status, flags and claim status of ``update`` as a line of tags, then its id."""
    line = Text()
    if update.status is UpdateStatus.RETRACTED:
        line.append("RETRACTED ", style="bold red")
    if update.status is UpdateStatus.REDACTED:
        line.append("REDACTED ", style="bold red")
    if update.key_event:
        line.append("★ KEY EVENT ", style="bold cyan")
    if update.pinned:
        line.append("PINNED ", style="bold blue")
    if update.verification is not None:
        status = update.verification.status
        line.append(f"[{status.value}] ", style=CLAIM_STYLES.get(status, "bold"))
    line.append(f"#{update.id}", style="dim")
    return line


def update_view(update: Update) -> RenderableType:
    """An update as a reader would see it: tags, body, sources and media, notes, byline."""
    parts: list[RenderableType] = [badges(update)]
    if update.status is UpdateStatus.REDACTED:
        # A tombstone: the text is gone from the server; what stays is the public notice.
        notice = update.redaction
        parts.append(
            Text(
                "Removed for legal reasons" + (f" on {notice.at.date().isoformat()}" if notice else ""),
                style="bold red",
            )
        )
        if notice is not None:
            parts.append(Text(f"{notice.note} ({notice.legal_basis})", style="red"))
        return _indent(Group(*parts))
    if update.title:
        parts.append(Text(update.title, style="bold"))  # plain text, never Markdown
    if update.status is UpdateStatus.RETRACTED:
        parts.append(Text(update.body, style="strike dim"))
        if update.retraction is not None:
            parts.append(Text(f"Retracted: {update.retraction.note}", style="bold red"))
    else:
        parts.append(Markdown(update.body))
    for source in update.sources:
        parts.append(
            Text(f"Source: {source.name}" + (f" <{source.url}>" if source.url else ""), style="italic")
        )
    for media in update.media:
        caption = f" ({media.caption})" if media.caption else ""
        kind = f"Embed ({media.provider})" if media.kind is MediaKind.EMBED else media.kind.value.capitalize()
        parts.append(Text(f"{kind}: {media.url}{caption}", style="italic"))
    if update.verification is not None and update.verification.note:
        parts.append(Text(f"Claim: {update.verification.note}", style="yellow"))
    for note in update.notes:
        parts.append(Text(f"{NOTE_LABELS.get(note.kind.value, note.kind.value)}: {note.note}", style="cyan"))
    parts.append(Text(f"— {update.byline or update.author.name}", style="dim"))
    return _indent(Group(*parts))


def header_view(header: StoryHeader) -> RenderableType:
    status_style = {"draft": "yellow", "live": "bold green", "closed": "bold red"}.get(
        header.status.value, ""
    )
    title = Text(header.title, style="bold")
    state = Text.assemble(
        (header.status.value.upper(), status_style), f"  {header.slug}  version {header.version}", style="dim"
    )
    parts: list[RenderableType] = [title, state]
    if header.summary:
        parts.append(Text(header.summary))
    return Group(*parts)


def story_view(story: Story, *, latest: int = 10) -> RenderableType:
    """The story now: header, pinned updates, the ``latest`` updates (oldest of them first)."""
    parts: list[RenderableType] = [header_view(story)]
    for update in story.pinned:
        parts.extend([Text("Pinned", style="bold blue"), update_view(update)])
    recent = list(reversed(story.updates[:latest]))
    if recent:
        parts.append(Text(f"Latest {len(recent)} updates", style="bold"))
    for update in recent:
        parts.extend([Text(when(update.published_at), style="dim"), update_view(update)])
    return Group(*parts)


class LiveView:
    """Renders the items of :func:`~liveblog_client.follow.follow`, one after another. It
    remembers each update's flags, so that a flag change can say what changed."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.flags: dict[str, tuple[bool, bool]] = {}

    def remember(self, updates: list[Update]) -> None:
        for update in updates:
            self.flags[update.id] = (update.pinned, update.key_event)

    def show(self, item: LiveEvent | Resync) -> None:
        if isinstance(item, Resync):
            self.console.rule(
                f"reloaded at version {item.story.version}: events before it were missed", align="left"
            )
            self.remember([*item.story.pinned, *item.story.updates])
            self.console.print(story_view(item.story))
            return
        label, body = self._describe(item)
        self.console.rule(f"v{item.version} · {when(item.at)} · {label}", align="left", style="dim")
        self.console.print(body)
        if item.update is not None:
            self.remember([item.update])

    def _describe(self, item: LiveEvent) -> tuple[str, RenderableType]:
        update = item.update
        story = item.story
        if update is None:
            labels = {
                "StoryOpened": "Story opened",
                "StoryPublished": "Now live",
                "StoryRevised": "Headline revised",
                "StoryClosed": "Coverage closed",
                "StoryReopened": "Coverage reopened",
                # The newsroom's alone (a follower with an editor's token sees them).
                "UpdateScheduled": "Update scheduled",
                "PublicationScheduled": "Publication scheduled",
                "ScheduleChanged": "Schedule changed",
                "ScheduleCancelled": "Schedule cancelled",
            }
            return labels.get(item.event, item.event), header_view(story)
        if item.event == "UpdatePosted":
            # A scheduled post is a new update to its readers (its item was never shown).
            return "New update", update_view(update)
        if item.event == "UpdateCorrected":
            # A minor edit adds no public note; any other correction adds one at its time.
            noted = [note for note in update.notes if note.at == item.at]
            kind = noted[-1].kind.value if noted else "minor"
            return NOTE_LABELS.get(kind, kind), update_view(update)
        if item.event == "VerificationChanged" and update.verification is not None:
            return f"Claim status: {update.verification.status.value}", update_view(update)
        if item.event == "UpdateFlagsChanged":
            return self._flags_label(update), update_view(update)
        if item.event == "UpdateRetracted":
            return "Retracted", update_view(update)
        if item.event == "UpdateRedacted":
            return "Removed for legal reasons", update_view(update)
        return item.event, update_view(update)

    def _flags_label(self, update: Update) -> str:
        before = self.flags.get(update.id)
        words = []
        if before is None or before[0] != update.pinned:
            words.append("Pinned" if update.pinned else "Unpinned")
        if before is None or before[1] != update.key_event:
            words.append("marked a key event" if update.key_event else "no longer a key event")
        return ", ".join(words) or "Flags changed"


def diff_view(ops: list[Any], *, plain: bool) -> Text:
    """A word diff: deletions struck through in red, insertions underlined in green; with
    ``plain`` (no colours) also ``[-deleted-]`` and ``{+inserted+}``."""
    text = Text()
    for op in ops:
        if op.op == "delete":
            text.append(f"[-{op.text}-]" if plain else op.text, style="red strike")
        elif op.op == "insert":
            text.append(f"{{+{op.text}+}}" if plain else op.text, style="green underline")
        else:
            text.append(op.text)
    return text


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def revision_view(revision: Revision, *, plain: bool) -> RenderableType:
    """One revision: its note, who and why (for staff tokens), and what changed."""
    parts: list[RenderableType] = []
    if revision.note:
        parts.append(Text(f"Note: {revision.note}", style="cyan"))
    if revision.actor is not None:
        parts.append(Text(f"By: {revision.actor.name} ({revision.actor.role})", style="dim"))
    if revision.reason:
        parts.append(Text(f"Reason (internal): {revision.reason}", style="dim"))
    if revision.kind == "posted" and revision.body is not None:
        parts.append(Text(revision.body))
    for field, ops in revision.diff.items():
        parts.append(Text.assemble((f"{field}: ", "bold"), diff_view(ops, plain=plain)))
    for field, change in revision.changes.items():
        if field not in revision.diff:
            parts.append(
                Text.assemble((f"{field}: ", "bold"), f"{_value(change.before)} → {_value(change.after)}")
            )
    return _indent(Group(*parts))


def history_view(console: Console, title: str, revisions: list[Revision]) -> None:
    """Print every revision in ``revisions``, oldest first."""
    plain = console.color_system is None
    console.print(Text(f"{title} · {len(revisions)} revision(s)", style="bold"))
    for revision in revisions:
        console.rule(
            f"revision {revision.revision} · v{revision.version} · {when(revision.at)} · {revision.kind}",
            align="left",
            style="dim",
        )
        console.print(revision_view(revision, plain=plain))
