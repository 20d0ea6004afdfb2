"""The hash chain that makes a story's log tamper-evident.

Format 1 (events written before salts existed): each event's ``hash`` is the SHA-256 of the
RFC 8785 (JCS) canonical JSON of::

    {"story", "version", "type", "schema", "data", "actor", "recorded_at", "prev_hash"}

Format 2 (every event appended now): the event carries ``salts``, one fresh random salt per
top-level member of ``data``, and the document hashed has ``"commitments"`` in place of
``"data"``, one per member::

    commitment(member) = SHA-256(JCS({"salt": salts[member], "value": data[member]}))

so a member can be removed (a redaction) while its commitment, and so the hash, stays
checkable, and nobody can confirm a guessed text without its salt.

``recorded_at`` is RFC 3339 in UTC (``...Z``) and ``prev_hash`` is the previous event's
``hash`` (64 zeros before version 1). Changing, removing, inserting or reordering any
event changes every hash after it. ``docs/audit-format.md`` specifies this for verifiers.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import rfc8785

from liveblog.domain.values import rfc3339

GENESIS = "0" * 64
SALT_BYTES = 32


def new_salts(data: Mapping[str, Any]) -> dict[str, str]:
    """A fresh random salt (32 bytes, lowercase hex) for every top-level member of ``data``."""
    return {member: secrets.token_bytes(SALT_BYTES).hex() for member in data}


def commitment(salt: str, value: Any) -> str:
    """The commitment to one member's ``value`` under its ``salt``."""
    return hashlib.sha256(rfc8785.dumps({"salt": salt, "value": value})).hexdigest()


def commitments(data: Mapping[str, Any], salts: Mapping[str, str]) -> dict[str, str]:
    """The commitment of every member of ``data`` (each must have its salt)."""
    return {member: commitment(salts[member], value) for member, value in data.items()}


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
    salts: Mapping[str, str] | None = None,
    removed: Mapping[str, str] | None = None,
) -> str:
    """The event's hash: format 1 without ``salts``, format 2 with them.

    ``removed`` (format 2): the commitments of members no longer in ``data`` (a redacted
    event); they are united with those recomputed from ``data`` and ``salts``.
    """
    document: dict[str, Any] = {
        "story": story,
        "version": version,
        "type": type,
        "schema": schema,
        "actor": actor,
        "recorded_at": rfc3339(recorded_at),
        "prev_hash": prev_hash,
    }
    if salts is None:
        document["data"] = data
    else:
        document["commitments"] = {**commitments(data, salts), **(removed or {})}
    return hashlib.sha256(rfc8785.dumps(document)).hexdigest()
