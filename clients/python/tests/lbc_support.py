"""Helpers of the client's tests: real liveblog servers as subprocesses, the client's CLI.

The server is the ``liveblog`` command installed next to this Python (or ``python -m
liveblog.cli``); nothing of it is imported. PostgreSQL is never skipped: when it cannot be
reached, every test that needs it fails with the reason. ``LIVEBLOG_TEST_POSTGRES_URL``
names another server (the tests create and drop their own ``liveblog_client_*`` databases).

(A module name of its own, so that it cannot clash with the server suite's modules when
both suites run in one pytest session.)
"""

from __future__ import annotations

import asyncio
import base64
import copy
import hashlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

# The repository's process guard (tests/process_guard.py, standard library only), shared with
# the server's suite: servers in sessions of their own, killed on teardown, Ctrl-C, SIGTERM.
# The repository root is on sys.path when both suites run together; not when this one runs
# from clients/python.
REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:
    sys.path.append(str(REPOSITORY))

from tests import process_guard  # noqa: E402 - needs the path above

POSTGRES_URL = os.environ.get("LIVEBLOG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BIN = Path(sys.executable).parent
REFERENCE_SLUG = "belgorod-captive-soldiers"
START_TIMEOUT = 60.0


def liveblog_command() -> list[str]:
    """How to run the server's command line: its script beside this Python, or the module."""
    script = BIN / "liveblog"
    return [str(script)] if script.exists() else [sys.executable, "-m", "liveblog.cli"]


def client_command() -> list[str]:
    """How to run ``liveblog-client`` (installed with this package)."""
    script = BIN / "liveblog-client"
    return [str(script)] if script.exists() else [sys.executable, "-m", "liveblog_client.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -------------------------------------------------------------------- PostgreSQL


def _postgres(sql: str) -> None:
    """Run one statement on the PostgreSQL server (asyncpg comes with the liveblog server)."""
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    # On a thread of its own: a test's event loop may already be running here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def create_postgres_database() -> str:
    """A new empty database; its SQLAlchemy URL. Fails the test when PostgreSQL is unreachable."""
    name = f"liveblog_client_{uuid.uuid4().hex[:12]}"
    import asyncpg

    try:
        _postgres(f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_URL}: {exc!r}", pytrace=False)
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


def drop_postgres_database(url: str) -> None:
    name = url.rpartition("/")[2]
    _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------ server


@dataclass
class Server:
    """A ``liveblog serve`` process with its own database, signing key and port.

    :meth:`token` makes a token of a role with ``liveblog token create`` when first asked.
    """

    backend: str
    database_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def signing_key(self) -> Path:
        return self.workdir / "signing.key"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LIVEBLOG_DATABASE_URL": self.database_url,
            "LIVEBLOG_SIGNING_KEY_PATH": str(self.signing_key),
            "LIVEBLOG_MEDIA_DIR": str(self.workdir / "media"),
            "LIVEBLOG_LOG_LEVEL": "warning",
        }

    def cli(self, *args: str) -> str:
        """Run ``liveblog ARGS`` against this server's database; its standard output."""
        done = subprocess.run(
            [*liveblog_command(), *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"liveblog {' '.join(args)} failed ({done.returncode}):\n{done.stderr}", pytrace=False
            )
        return done.stdout

    def prepare(self) -> None:
        """Migrate the database (PostgreSQL needs it first; SQLite too, to be alike)."""
        self.cli("migrate")

    def token(self, role: str) -> str:
        """A token of ``role`` (editor, auditor, admin), named "Client <role>"."""
        if role not in self.tokens:
            self.tokens[role] = self.cli(
                "token", "create", "--role", role, "--name", f"Client {role}"
            ).strip()
        return self.tokens[role]

    def start(self) -> None:
        log = (self.workdir / "server.log").open("ab")
        self.process = process_guard.spawn(
            [*liveblog_command(), "serve", "--port", str(self.port)],
            env=self.env(),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited at start:\n{self.log()}", pytrace=False)
            try:
                if httpx.get(f"{self.url}/api/v1/keys", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not answer within {START_TIMEOUT} s:\n{self.log()}", pytrace=False)

    def stop(self) -> None:
        """Stop the server as an operator would (SIGTERM), killing it if it lingers."""
        if self.process is None:
            return
        process_guard.stop(self.process, timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def make_server(backend: str, workdir: Path) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'liveblog.db'}"
    else:
        url = create_postgres_database()
    return Server(backend=backend, database_url=url, workdir=workdir)


def discard(server: Server) -> None:
    server.stop()
    if server.backend == "postgresql":
        drop_postgres_database(server.database_url)
    shutil.rmtree(server.workdir, ignore_errors=True)


def run_client(
    *args: str, server: Server | None = None, token: str | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``liveblog-client ARGS`` as a person would, with the URL and token in the
    environment; ``env`` adds variables. No config file from the home directory is read."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LIVEBLOG_")}
    environment["LIVEBLOG_CLIENT_CONFIG"] = os.devnull
    if server is not None:
        environment["LIVEBLOG_URL"] = server.url
    if token is not None:
        environment["LIVEBLOG_TOKEN"] = token
    environment.update(env)
    return subprocess.run(
        [*client_command(), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ------------------------------------------------------------- hand-built exports
#
# A writer of export files that follows the audit format's text (docs/audit-format.md and
# the format-2 spec: per-member salted commitments, redaction markers, a checkpoint of the
# head), with its own hashing on rfc8785 and hashlib: it shares no code with the verifier
# under test, so each checks the other's reading of the format.

GENESIS_HASH = "0" * 64
# What a redaction keeps of each event of the update: the rest is removed.
KEPT_ON_REDACTION = frozenset({"update_id", "at"})
ExportLine = dict[str, Any]


def jcs(value: Any) -> bytes:
    return bytes(rfc8785.dumps(value))


def sha256_hex(value: Any) -> str:
    return hashlib.sha256(jcs(value)).hexdigest()


def commit(salt: str, value: Any) -> str:
    """The format-2 commitment to one member: SHA-256(JCS({"salt", "value"}))."""
    return sha256_hex({"salt": salt, "value": value})


def line_hash(story: str, line: ExportLine) -> str:
    """The hash an event line states, recomputed by the format's text: format 1 (no
    ``salts``) covers ``data``; format 2 the commitments of data (from its salts) united
    with the redacted marker's commitments."""
    document: dict[str, Any] = {
        "story": story,
        "version": line["version"],
        "type": line["type"],
        "schema": line["schema"],
        "actor": line["actor"],
        "recorded_at": line["recorded_at"],
        "prev_hash": line["prev_hash"],
    }
    if "salts" not in line:
        document["data"] = line["data"]
    else:
        document["commitments"] = {
            **{name: commit(line["salts"][name], value) for name, value in line["data"].items()},
            **line.get("redacted", {}).get("commitments", {}),
        }
    return sha256_hex(document)


def public_key_object(signer: Ed25519PrivateKey) -> ExportLine:
    raw = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {
        "id": hashlib.sha256(raw).hexdigest()[:16],
        "algorithm": "Ed25519",
        "public_key": base64.b64encode(raw).decode(),
        "created_at": "2026-12-01T09:00:00Z",
    }


def sign_checkpoint(signer: Ed25519PrivateKey, story: str, version: int, head_hash: str) -> ExportLine:
    document = {
        "story": story,
        "version": version,
        "head_hash": head_hash,
        "signed_at": "2026-12-01T12:00:00Z",
    }
    signature = base64.b64encode(signer.sign(jcs(document))).decode()
    key = public_key_object(signer)
    return {**document, "key_id": key["id"], "algorithm": "Ed25519", "signature": signature}


@dataclass
class ExportWriter:
    """An export built event by event. ``add`` appends an event (format 2 with fresh salts
    unless ``salted=False``: an event written before format 2); ``redact`` appends an
    ``UpdateRedacted`` and removes the text of the update's earlier events as the server
    does; ``checkpoint`` signs the current head. ``lines`` gives the file's lines (header
    first); ``originals`` keeps each event's data and salts as first written, as a court
    given the original event would hold them."""

    story: str = "hand-built"
    export_format: str = "liveblog-export/2"
    signer: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    events: list[ExportLine] = field(default_factory=list)
    checkpoints: list[ExportLine] = field(default_factory=list)
    originals: dict[int, tuple[dict[str, Any], dict[str, str] | None]] = field(default_factory=dict)
    actor: ExportLine = field(
        default_factory=lambda: {"id": "tok_desk", "name": "Live desk", "role": "editor"}
    )

    @property
    def head(self) -> int:
        return len(self.events)

    def at(self, version: int) -> str:
        """Event ``version``'s time: one minute apart, from 10:00."""
        return f"2026-12-01T{10 + version // 60:02d}:{version % 60:02d}:00Z"

    def add(self, kind: str, data: dict[str, Any], *, salted: bool = True) -> ExportLine:
        version = self.head + 1
        data = {"at": self.at(version), **data}
        line: ExportLine = {
            "version": version,
            "position": 100 + version,
            "type": kind,
            "schema": 1,
            "data": data,
            "actor": self.actor,
            "recorded_at": self.at(version),
            "prev_hash": self.events[-1]["hash"] if self.events else GENESIS_HASH,
        }
        if salted:
            line["salts"] = {name: secrets.token_bytes(32).hex() for name in data}
        line["hash"] = line_hash(self.story, line)
        self.originals[version] = (copy.deepcopy(data), dict(line["salts"]) if salted else None)
        self.events.append(line)
        return line

    def story_opened(self) -> None:
        self.add(
            "StoryOpened", {"slug": self.story, "title": "A hand-built story", "summary": "For the tests."}
        )
        self.add("StoryPublished", {})

    def post(self, update_id: str, body: str, *, salted: bool = True) -> ExportLine:
        data = {
            "update_id": update_id,
            "body": body,
            "author": "Live desk",
            "byline": None,
            "sources": [],
            "media": [],
            "key_event": False,
            "pinned": False,
        }
        return self.add("UpdatePosted", data, salted=salted)

    def correct(self, update_id: str, body: str, *, salted: bool = True) -> ExportLine:
        data = {
            "update_id": update_id,
            "kind": "correction",
            "changes": {"body": body},
            "reason": "Wrong name",
            "note": "An earlier version named the wrong person.",
        }
        return self.add("UpdateCorrected", data, salted=salted)

    def redact(self, update_id: str, legal_basis: str = "court order 2026/123") -> ExportLine:
        data = {
            "update_id": update_id,
            "legal_basis": legal_basis,
            "note": "Removed on a court's order.",
            "reason": "Names a protected witness",
        }
        redaction = self.add("UpdateRedacted", data)
        for line in self.events[:-1]:
            if line["data"].get("update_id") == update_id:
                self.remove_text(line, by=redaction["version"])
        return redaction

    @staticmethod
    def remove_text(line: ExportLine, *, by: int, kept: frozenset[str] = KEPT_ON_REDACTION) -> None:
        """Mark ``line`` redacted by version ``by``: the members not ``kept`` leave its data
        and salts, their commitments go into the marker (only ``{"by"}`` for format 1)."""
        removed = [name for name in line["data"] if name not in kept]
        marker: dict[str, Any] = {"by": by}
        if "salts" in line:
            marker["commitments"] = {
                name: commit(line["salts"][name], line["data"][name]) for name in removed
            }
            for name in removed:
                del line["salts"][name]
        for name in removed:
            del line["data"][name]
        line["redacted"] = marker

    def checkpoint(self) -> ExportLine:
        """Sign the current head, as the server does at export time."""
        signed = sign_checkpoint(self.signer, self.story, self.head, self.events[-1]["hash"])
        self.checkpoints.append(signed)
        return signed

    def rechain(self, start: int) -> None:
        """Recompute every hash from version ``start`` on (a forger's rewrite), and the head."""
        for line in self.events[start - 1 :]:
            line["prev_hash"] = (
                self.events[line["version"] - 2]["hash"] if line["version"] > 1 else GENESIS_HASH
            )
            line["hash"] = line_hash(self.story, line)

    def lines(self) -> list[ExportLine]:
        header = {
            "format": self.export_format,
            "story": self.story,
            "version": self.head,
            "head_hash": self.events[-1]["hash"] if self.events else None,
            "exported_at": "2026-12-01T12:00:00Z",
            "keys": [public_key_object(self.signer)],
        }
        return [{"export": header}, *self.events, *({"checkpoint": c} for c in self.checkpoints)]

    def write(self, path: Path, lines: list[ExportLine] | None = None) -> Path:
        with path.open("wb") as sink:
            for line in self.lines() if lines is None else lines:
                sink.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        return path

    def key_file(self, path: Path) -> Path:
        """The signer's public key as the JSON of ``GET /api/v1/keys``, for ``--key``."""
        path.write_text(json.dumps({"items": [public_key_object(self.signer)]}))
        return path
