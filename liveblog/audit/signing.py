"""Ed25519 signing of checkpoints ``{story, version, head_hash, signed_at}``.

The private key lives in a file (created with mode 0600 on first start); its public part is
recorded in the ``signing_keys`` table so that ``/api/v1/keys`` keeps listing keys that
signed old checkpoints after a key is replaced. A checkpoint's signature covers the RFC 8785
canonical JSON of its four fields; ``docs/audit-format.md`` specifies it for verifiers.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from liveblog.domain.values import rfc3339
from liveblog.errors import StoreError

ALGORITHM = "Ed25519"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    story: str
    version: int
    head_hash: str
    signed_at: datetime
    key_id: str
    signature: str

    def document(self) -> dict[str, Any]:
        return {
            "story": self.story,
            "version": self.version,
            "head_hash": self.head_hash,
            "signed_at": rfc3339(self.signed_at),
            "key_id": self.key_id,
            "algorithm": ALGORITHM,
            "signature": self.signature,
        }


def signed_bytes(story: str, version: int, head_hash: str, signed_at: str) -> bytes:
    """What a checkpoint's signature covers."""
    return rfc8785.dumps({"story": story, "version": version, "head_hash": head_hash, "signed_at": signed_at})


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public_key(key)).hexdigest()[:16]


class Signer:
    """Signs checkpoints with one private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """Load the key at ``path``, creating it (mode 0600) if there is none yet."""
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                pem = Ed25519PrivateKey.generate().private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(pem)
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot use the signing key at {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise StoreError(f"the signing key at {path} is not an Ed25519 key")
        return cls(key)

    def public_document(self) -> dict[str, str]:
        return {
            "id": self.key_id,
            "algorithm": ALGORITHM,
            "public_key": base64.b64encode(raw_public_key(self.public_key)).decode(),
        }

    def sign(self, story: str, version: int, head_hash: str, signed_at: datetime) -> Checkpoint:
        at = rfc3339(signed_at)
        assert at is not None
        signature = self._private_key.sign(signed_bytes(story, version, head_hash, at))
        return Checkpoint(
            story=story,
            version=version,
            head_hash=head_hash,
            signed_at=signed_at,
            key_id=self.key_id,
            signature=base64.b64encode(signature).decode(),
        )


def verify_signature(public_key: bytes, document: dict[str, Any]) -> bool:
    """Whether a checkpoint document's signature is valid under the raw Ed25519 ``public_key``."""
    try:
        signature = base64.b64decode(document["signature"], validate=True)
        message = signed_bytes(
            document["story"], document["version"], document["head_hash"], document["signed_at"]
        )
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, KeyError, TypeError, ValueError):
        return False
    return True
