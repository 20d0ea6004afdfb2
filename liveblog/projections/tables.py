"""Read-model tables. Each row is a stored rendering from :mod:`liveblog.projections.views`."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text

from liveblog.store.tables import UtcDateTime, metadata

story_headers = Table(
    "story_headers",
    metadata,
    Column("slug", String(80), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("version", Integer, nullable=False),
    Column("opened_at", UtcDateTime, nullable=False),
    Column("header", Text, nullable=False),
)

update_views = Table(
    "update_views",
    metadata,
    Column("story", String(80), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("pinned", Boolean, nullable=False),
    Column("key_event", Boolean, nullable=False),
    Column("view", Text, nullable=False),
    Index("ix_update_views_story_seq", "story", "seq"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("stream", String(80), primary_key=True),
    Column("target", String(64), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("document", Text, nullable=False),
)
