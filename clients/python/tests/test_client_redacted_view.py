"""A redacted update as the server shows it (issue #12's public view: status ``redacted``,
text emptied, a ``redaction`` notice) is read by the models and shown as a tombstone."""

from __future__ import annotations

from rich.console import Console

from liveblog_client.cli.render import update_view
from liveblog_client.models import Update, UpdateStatus

REDACTED = {
    "id": "u1",
    "story": "hand-built",
    "revision": 3,
    "status": "redacted",
    "body": "",
    "body_html": "",
    "byline": None,
    "author": {"name": "Live desk"},
    "sources": [],
    "media": [],
    "verification": None,
    "key_event": False,
    "pinned": False,
    "occurred_at": None,
    "published_at": "2026-12-01T10:03:00Z",
    "revised_at": "2026-12-01T10:06:00Z",
    "notes": None,
    "retraction": None,
    "redaction": {
        "at": "2026-12-01T10:06:00Z",
        "legal_basis": "court order 2026/123",
        "note": "On a court's order.",
    },
}


def test_a_redacted_update_is_read_and_shown_as_a_tombstone() -> None:
    update = Update.model_validate(REDACTED)
    assert update.status is UpdateStatus.REDACTED and update.notes == []
    assert update.redaction is not None and update.redaction.legal_basis == "court order 2026/123"
    console = Console(width=200, record=True, color_system=None)
    console.print(update_view(update))
    shown = console.export_text()
    assert "REDACTED" in shown
    assert "Removed for legal reasons on 2026-12-01" in shown
    assert "On a court's order. (court order 2026/123)" in shown
