"""Public keys a verifier trusts, read from the forms ``docs/audit-format.md`` allows.

A trusted key is its raw 32-byte Ed25519 public key, filed under its key id, which is always
computed here and never taken on trust: a key object whose ``id`` is not the id of its
``public_key`` is refused.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from liveblog.audit.signing import ALGORITHM, key_id, raw_public_key

PEM_MARKER = b"-----BEGIN PUBLIC KEY-----"


class UnusableKey(ValueError):
    """A key, or a key file, that cannot be used; the message says why."""


def _entry(public: Ed25519PublicKey) -> tuple[str, bytes]:
    return key_id(public), raw_public_key(public)


def _from_base64(text: str) -> tuple[str, bytes]:
    """The key that ``text`` holds as standard base64 (with padding) of its 32 raw bytes."""
    try:
        return _entry(Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True)))
    except (binascii.Error, ValueError) as exc:
        raise UnusableKey(f"not the base64 of a raw 32-byte {ALGORITHM} public key ({exc})") from exc


def key_from_object(document: object) -> tuple[str, bytes]:
    """``(key id, raw key)`` of a key object ``{"id", "algorithm": "Ed25519", "public_key", ...}``.

    Raises :class:`UnusableKey` if a member is missing, the algorithm is not Ed25519, the key
    is malformed or ``id`` is not the id of ``public_key``.
    """
    if not isinstance(document, Mapping):
        raise UnusableKey("a key object must be a JSON object")
    stated, algorithm, text = document.get("id"), document.get("algorithm"), document.get("public_key")
    if not isinstance(stated, str) or not isinstance(text, str):
        raise UnusableKey('a key object needs the strings "id" and "public_key"')
    if algorithm != ALGORITHM:
        raise UnusableKey(f"key {stated}: algorithm {algorithm!r} is not {ALGORITHM}")
    computed, raw = _from_base64(text)
    if computed != stated:
        raise UnusableKey(f"key {stated}: that is not the id of its public key ({computed})")
    return computed, raw


def keys_from_objects(documents: object) -> dict[str, bytes]:
    """The raw keys of a list of key objects, by key id (see :func:`key_from_object`)."""
    if not isinstance(documents, list):
        raise UnusableKey("keys must be a list of key objects")
    return dict(key_from_object(document) for document in documents)


def parse_key_file(content: bytes) -> dict[str, bytes]:
    """The raw keys a ``--key`` file holds, by key id.

    Accepts a PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo), the JSON of one key object, the JSON
    of ``GET /api/v1/keys`` (every key in it) or one line of base64 of the raw key. Raises
    :class:`UnusableKey` for anything else, and for a file that holds no key.
    """
    stripped = content.strip()
    if stripped.startswith(PEM_MARKER):
        try:
            public = serialization.load_pem_public_key(stripped)
        except ValueError as exc:
            raise UnusableKey(f"unreadable PEM public key ({exc})") from exc
        if not isinstance(public, Ed25519PublicKey):
            raise UnusableKey(f"the PEM public key is not an {ALGORITHM} key")
        return dict([_entry(public)])
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnusableKey("not a PEM, JSON or base64 public key") from exc
    if text.startswith("{"):
        try:
            document: Any = json.loads(text)
        except ValueError as exc:
            raise UnusableKey(f"unreadable JSON ({exc})") from exc
        if isinstance(document, dict) and "items" in document:
            keys = keys_from_objects(document["items"])
            if not keys:
                raise UnusableKey("the key list is empty")
            return keys
        return dict([key_from_object(document)])
    if not text or "\n" in text:
        raise UnusableKey("expected a PEM or JSON public key, or one line of base64 of the raw key")
    return dict([_from_base64(text)])
