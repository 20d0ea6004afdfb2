"""The hash chain that makes a story's log tamper-evident.

Each event's ``hash`` is the SHA-256 of the RFC 8785 (JCS) canonical JSON of::

    {"story", "version", "type", "schema", "data", "actor", "recorded_at", "prev_hash"}

where ``recorded_at`` is RFC 3339 in UTC (``...Z``) and ``prev_hash`` is the previous
event's ``hash`` (64 zeros before version 1). Changing, removing, inserting or reordering any
event changes every hash after it. ``docs/audit-format.md`` specifies this for verifiers.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import rfc8785

from liveblog.domain.values import rfc3339

GENESIS = "0" * 64


def event_hash(
    *,
    story: str,
    version: int,
    type: str,
    schema: int,
    data: dict[str, Any],
    actor: dict[str, Any] | None,
    recorded_at: datetime,
    prev_hash: str,
) -> str:
    document: dict[str, Any] = {
        "story": story,
        "version": version,
        "type": type,
        "schema": schema,
        "data": data,
        "actor": actor,
        "recorded_at": rfc3339(recorded_at),
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()
