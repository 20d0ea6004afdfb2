"""Ed25519 public keys: reading them in the forms the audit format allows, checking signatures.

A key's id is always computed here (the first 16 hex characters of SHA-256 of the raw
32-byte key), never taken on trust from a file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

ALGORITHM = "Ed25519"
TrustedKeys = dict[str, Ed25519PublicKey]


class UnusableKey(ValueError):
    """A key or key file that is not one of the accepted forms."""


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def strict_b64(text: str) -> bytes:
    """Standard base64 with padding; raises ``ValueError`` for anything else."""
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError(f"not standard base64: {exc}") from exc


def _from_raw(raw: bytes) -> tuple[str, Ed25519PublicKey]:
    if len(raw) != 32:
        raise UnusableKey(f"an Ed25519 public key has 32 bytes, not {len(raw)}")
    return key_id(raw), Ed25519PublicKey.from_public_bytes(raw)


def keys_from_objects(objects: Any) -> TrustedKeys:
    """Keys from a list of key objects ``{"id", "algorithm": "Ed25519", "public_key"}``.
    An ``id`` that is not the key's own id makes the object unusable."""
    if not isinstance(objects, list):
        raise UnusableKey("expected a list of key objects")
    keys: TrustedKeys = {}
    for item in objects:
        if not isinstance(item, dict) or not isinstance(item.get("public_key"), str):
            raise UnusableKey("a key object needs a public_key in base64")
        if item.get("algorithm", ALGORITHM) != ALGORITHM:
            raise UnusableKey(f"unsupported key algorithm {item.get('algorithm')!r}")
        try:
            identifier, key = _from_raw(strict_b64(item["public_key"]))
        except ValueError as exc:
            raise UnusableKey(f"public_key: {exc}") from exc
        if "id" in item and item["id"] != identifier:
            raise UnusableKey(f"the key listed as {item['id']!r} has the id {identifier}")
        keys[identifier] = key
    return keys


def parse_key_file(data: bytes) -> TrustedKeys:
    """The keys in a ``--key`` file: a PEM ``PUBLIC KEY``, the JSON of one key object, the
    JSON of ``/api/v1/keys`` (all its keys), or one line of base64 of the raw key."""
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise UnusableKey("not a text file") from exc
    if text.startswith("-----BEGIN"):
        try:
            loaded = load_pem_public_key(text.encode())
        except ValueError as exc:
            raise UnusableKey(f"not a PEM public key: {exc}") from exc
        if not isinstance(loaded, Ed25519PublicKey):
            raise UnusableKey("the PEM key is not an Ed25519 key")
        identifier, key = _from_raw(loaded.public_bytes(Encoding.Raw, PublicFormat.Raw))
        return {identifier: key}
    if text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise UnusableKey(f"not JSON: {exc}") from exc
        keys = keys_from_objects(document.get("items", [document]))
        if not keys:
            raise UnusableKey("the key list is empty")
        return keys
    if len(text.splitlines()) != 1:
        raise UnusableKey("expected PEM, JSON or one line of base64")
    try:
        identifier, key = _from_raw(strict_b64(text))
    except ValueError as exc:
        raise UnusableKey(str(exc)) from exc
    return {identifier: key}


def signature_valid(key: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    """Whether ``signature`` (standard base64) is ``key``'s Ed25519 signature of ``message``."""
    try:
        key.verify(strict_b64(signature), message)
    except (InvalidSignature, ValueError):
        return False
    return True
