"""Table definitions of the store. Alembic's history in ``liveblog/migrations/`` creates the same.

``tests/store/test_migrations.py`` checks that this module and the migrations do not drift.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite keeps none)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JsonDocument: Any = JSON().with_variant(JSONB(), "postgresql")
# For nullable JSON columns: Python None is SQL NULL (not the JSON value null), which the
# triggers of migration 0005 test with IS NULL.
NullableJsonDocument: Any = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite's INTEGER PRIMARY KEY is its rowid; BIGINT would not auto-increment there.
Position: Any = BigInteger().with_variant(Integer(), "sqlite")

events = Table(
    "events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("stream", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(64), nullable=False),
    Column("schema", Integer, nullable=False),
    Column("data", JsonDocument, nullable=False),
    Column("metadata", JsonDocument, nullable=False, key="meta"),
    Column("recorded_at", UtcDateTime, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    # Format 2: one salt per member of `data` (NULL: a format-1 event, docs/audit-format.md).
    Column("salts", NullableJsonDocument, nullable=True),
    # Set once, by a redaction alone (migration 0005): {"by": m, "commitments": {...}}.
    Column("redaction", NullableJsonDocument, nullable=True),
    # The writing transaction's id on PostgreSQL (the column's default there is
    # pg_current_xact_id(), set by migration 0006), 0 on SQLite: the change feed's order
    # (liveblog.store.feed).
    Column("xid", BigInteger, nullable=False, server_default="0"),
    UniqueConstraint("stream", "version"),
    Index("ix_events_stream_recorded_at", "stream", "recorded_at"),
    Index("ix_events_xid_position", "xid", "position"),
    Index(
        "ix_events_published",
        "stream",
        "version",
        postgresql_where=text("type = 'StoryPublished'"),
        sqlite_where=text("type = 'StoryPublished'"),
    ),
)

idempotency_records = Table(
    "idempotency_records",
    metadata,
    Column("scope", String(80), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", Integer, nullable=False),
    Column("headers", JsonDocument, nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Set by a redaction alone (migration 0005): {"stream": s, "by": m}.
    Column("redaction", NullableJsonDocument, nullable=True),
)

snapshots = Table(
    "snapshots",
    metadata,
    Column("stream", String(80), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("head_hash", String(64), nullable=False),
    Column("state", Text, nullable=False),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=False, unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    Column("last_used_at", UtcDateTime, nullable=True),
)

checkpoints = Table(
    "checkpoints",
    metadata,
    Column("stream", String(80), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("head_hash", String(64), nullable=False),
    Column("signed_at", UtcDateTime, nullable=False),
    Column("key_id", String(16), nullable=False),
    Column("signature", String(100), nullable=False),
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    Column("public_key", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("url", String(2048), nullable=False),
    # JSON lists, or NULL for "every story" / "every type".
    Column("stories", JSON, nullable=True),
    Column("types", JSON, nullable=True),
    Column("secret", String(100), nullable=False),
    Column("status", String(16), nullable=False),
    Column("paused_reason", Text, nullable=True),
    Column("failures", Integer, nullable=False),
    # The change feed's cursor after the last event this endpoint has been sent (or skipped).
    Column("cursor", String(200), nullable=True),
    Column("delivered", BigInteger, nullable=False),
    Column("last_attempt_at", UtcDateTime, nullable=True),
    Column("last_success_at", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

media = Table(
    "media",
    metadata,
    # The SHA-256 (hex) of the largest rendition's bytes (liveblog.media.images).
    Column("id", String(64), primary_key=True),
    Column("content_type", String(32), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    # [{width, height, sha256, bytes}], narrowest first: each a file named by its sha256.
    Column("renditions", JSON, nullable=False),
    Column("uploaded_by", String(32), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)
