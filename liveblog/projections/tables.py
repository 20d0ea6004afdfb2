"""Read-model tables. Each row is a stored rendering from :mod:`liveblog.projections.views`.

``story_headers`` and ``update_views`` hold the present; ``header_versions`` and
``update_versions`` hold the same renderings for every past version (see
:mod:`liveblog.projections.past_views`).

``draft_only`` marks the rows of an update retracted while its story was a draft: its text
never reached a reader, so readers never get it (docs/live-drafts.md). It is set when the
story is published (:func:`liveblog.projections.views.draft_only_at_publication`).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, false

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
    Column("draft_only", Boolean, nullable=False, server_default=false()),
    Index("ix_update_views_story_seq", "story", "seq"),
)

header_versions = Table(
    "header_versions",
    metadata,
    Column("story", String(80), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(16), nullable=False),
    Column("header", Text, nullable=False),
)

update_versions = Table(
    "update_versions",
    metadata,
    Column("story", String(80), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("since", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("pinned", Boolean, nullable=False),
    Column("key_event", Boolean, nullable=False),
    Column("view", Text, nullable=False),
    Column("draft_only", Boolean, nullable=False, server_default=false()),
    Index("ix_update_versions_story_seq", "story", "seq"),
    Index("ix_update_versions_story_pinned", "story", "pinned", "seq"),
    Index("ix_update_versions_story_key_event", "story", "key_event", "seq"),
)

revisions = Table(
    "revisions",
    metadata,
    Column("stream", String(80), primary_key=True),
    Column("target", String(64), primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("document", Text, nullable=False),
)

# ------------------------------------------------------------- submissions (issue 15, part 1)
submission_views = Table(
    "submission_views",
    metadata,
    Column("story", String(80), primary_key=True),
    Column("id", String(64), primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("submitted_by", String(64), nullable=False),
    Column("view", Text, nullable=False),
    Index("ix_submission_views_story_seq", "story", "seq"),
)
"""The submission queue (staff and each submission's own contributor only; never readers):
one row per submission, its rendering by :func:`liveblog.projections.submissions.view`."""
