"""The hashed and signed bytes of the audit format: RFC 8785 canonical JSON, SHA-256.

Two event hashes: format 1 covers the event's ``data`` itself; format 2 (events with
``salts``) covers one salted commitment per top-level member of ``data`` instead, so that a
member removed by a redaction leaves its commitment, which no guess of the text can confirm
without the salt that was removed with it.
"""

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


def _sha256(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def _covered(story: str, event: Mapping[str, Any], content: tuple[str, Any]) -> dict[str, Any]:
    name, value = content
    return {
        "story": story,
        "version": event["version"],
        "type": event["type"],
        "schema": event["schema"],
        name: value,
        "actor": event["actor"],
        "recorded_at": event["recorded_at"],
        "prev_hash": event["prev_hash"],
    }


def event_hash(story: str, event: Mapping[str, Any]) -> str:
    """The format-1 hash of an export's event line, recomputed from its members
    (``position`` and ``hash`` are not covered; ``prev_hash`` is, as the line states it)."""
    return _sha256(_covered(story, event, ("data", event["data"])))


def commitment(salt: str, value: Any) -> str:
    """The format-2 commitment to one member of ``data``: SHA-256 of the JCS of
    ``{"salt", "value"}`` (a null value too has one)."""
    return _sha256({"salt": salt, "value": value})


def commitments(data: Mapping[str, Any], salts: Mapping[str, str]) -> dict[str, str]:
    """The commitments to every member of ``data`` (each needs its salt in ``salts``)."""
    return {name: commitment(salts[name], value) for name, value in data.items()}


def event_hash_v2(story: str, event: Mapping[str, Any], committed: Mapping[str, str]) -> str:
    """The format-2 hash: the format-1 document with ``data`` replaced by ``commitments``,
    the commitments of every member of the original data (kept and redacted alike)."""
    return _sha256(_covered(story, event, ("commitments", dict(committed))))


def signed_bytes(checkpoint: Mapping[str, Any]) -> bytes:
    """What a checkpoint's signature covers: the JCS of its four signed members."""
    return canonical({name: checkpoint[name] for name in SIGNED_MEMBERS})
