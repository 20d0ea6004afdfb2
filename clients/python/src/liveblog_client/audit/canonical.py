"""The hashed and signed bytes of the audit format: RFC 8785 canonical JSON, SHA-256."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import rfc8785

GENESIS = "0" * 64
SIGNED_MEMBERS = ("story", "version", "head_hash", "signed_at")


class NotCanonicalizable(ValueError):
    """A value that RFC 8785 cannot encode (a number out of range, a lone surrogate, ...)."""


def canonical(value: Any) -> bytes:
    """The RFC 8785 (JCS) bytes of ``value``."""
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeError, ValueError, TypeError) as exc:
        raise NotCanonicalizable(str(exc)) from exc


def event_hash(story: str, event: Mapping[str, Any]) -> str:
    """The hash of an export's event line, recomputed from its members (``position`` and
    ``hash`` are not covered; ``prev_hash`` is, as the line states it)."""
    covered = {
        "story": story,
        "version": event["version"],
        "type": event["type"],
        "schema": event["schema"],
        "data": event["data"],
        "actor": event["actor"],
        "recorded_at": event["recorded_at"],
        "prev_hash": event["prev_hash"],
    }
    return hashlib.sha256(canonical(covered)).hexdigest()


def signed_bytes(checkpoint: Mapping[str, Any]) -> bytes:
    """What a checkpoint's signature covers: the JCS of its four signed members."""
    return canonical({name: checkpoint[name] for name in SIGNED_MEMBERS})
