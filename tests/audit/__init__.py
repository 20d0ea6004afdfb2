"""Helpers of the audit tests: the demo story exported by the CLI, and the CLI run in-process.

The CLI runs its own event loop (``asyncio.run``), so async tests call it in a thread.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from liveblog import demo
from liveblog.application import Application
from liveblog.audit.signing import Signer
from liveblog.cli import main
from liveblog.store.chain import GENESIS, event_hash
from liveblog.store.database import Database

SLUG = demo.SLUG


def run_cli(url: str, tmp_path: Path, *args: str, stdin: bytes | None = None) -> Result:
    """``liveblog ARGS`` against the database at ``url``, with a signing key path in ``tmp_path``."""
    env = {"LIVEBLOG_DATABASE_URL": url, "LIVEBLOG_SIGNING_KEY_PATH": str(tmp_path / "cli-signing.key")}
    return CliRunner().invoke(main, list(args), input=stdin, env=env, catch_exceptions=False)


@dataclass(frozen=True)
class Demo:
    """The reference story, played and exported with ``liveblog audit export``."""

    url: str
    tmp_path: Path
    export: bytes
    keys_file: Path  # the JSON of GET /api/v1/keys
    checkpoint_file: Path  # the JSON of GET .../checkpoint once the story was closed

    async def cli(self, *args: str, stdin: bytes | None = None) -> Result:
        return await asyncio.to_thread(partial(run_cli, self.url, self.tmp_path, *args, stdin=stdin))

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.export.splitlines()]

    def write(self, name: str, lines: list[dict[str, Any]]) -> Path:
        """``lines`` as an export file in the test's directory."""
        path = self.tmp_path / name
        path.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
        return path

    def raw_lines(self) -> list[bytes]:
        return self.export.splitlines(keepends=True)

    async def verify(self, name: str, lines: list[dict[str, Any]] | list[bytes], *options: str) -> Result:
        """``liveblog audit verify`` of ``lines`` (parsed, or as bytes) written to a file,
        trusting the server's keys unless ``options`` hold a ``--key`` of their own."""
        if all(isinstance(line, bytes) for line in lines):
            path = self.tmp_path / name
            path.write_bytes(b"".join(line for line in lines if isinstance(line, bytes)))
        else:
            path = self.write(name, [line for line in lines if isinstance(line, dict)])
        keys = () if "--key" in options else ("--key", str(self.keys_file))
        return await self.cli("audit", "verify", str(path), *keys, *options)


async def play_demo(
    database: Database, application: Application, client: httpx.AsyncClient, tmp_path: Path
) -> Demo:
    await demo.play(database, signer=application.signer)
    keys_file = tmp_path / "keys.json"
    keys_file.write_bytes((await client.get("/api/v1/keys")).content)
    checkpoint_file = tmp_path / "checkpoint.json"
    checkpoint_file.write_bytes((await client.get(f"/api/v1/stories/{SLUG}/checkpoint")).content)
    exported = await asyncio.to_thread(run_cli, database.url, tmp_path, "audit", "export", SLUG)
    assert exported.exit_code == 0, exported.output
    return Demo(database.url, tmp_path, exported.stdout_bytes, keys_file, checkpoint_file)


def events_of(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines[1:] if "checkpoint" not in line]


def forge(
    lines: list[dict[str, Any]], events: list[dict[str, Any]], signer: Signer, *, at: list[int] | None = None
) -> list[dict[str, Any]]:
    """An export of ``events`` (renumbered, rehashed and relinked from version 1), with the
    header of ``lines`` rewritten to its end, and checkpoints signed by ``signer`` at the
    versions ``at`` (default: those of the checkpoints of ``lines``, kept if still in range)."""
    story = lines[0]["export"]["story"]
    prev = GENESIS
    for version, event in enumerate(events, start=1):
        event.update(version=version, prev_hash=prev)
        if "salts" in event:  # format 2: a salt for each member of the (forged) data
            salts = event["salts"]
            event["salts"] = {m: salts.get(m) or secrets.token_bytes(32).hex() for m in event["data"]}
        event["hash"] = prev = event_hash(
            story=story,
            version=version,
            type=event["type"],
            schema=event["schema"],
            data=event["data"],
            actor=event["actor"],
            recorded_at=datetime.fromisoformat(event["recorded_at"]),
            prev_hash=event["prev_hash"],
            salts=event.get("salts"),
        )
    if at is None:
        at = [line["checkpoint"]["version"] for line in lines if "checkpoint" in line]
    header = {**lines[0]["export"], "version": len(events), "head_hash": prev}
    header["keys"] = [{**signer.public_document(), "created_at": "2023-06-04T00:00:00Z"}]
    checkpoints = [
        {
            "checkpoint": signer.sign(
                story, v, events[v - 1]["hash"], datetime.fromisoformat(events[v - 1]["recorded_at"])
            ).document()
        }
        for v in at
        if v <= len(events)
    ]
    return [{"export": header}, *events, *checkpoints]


def attacker() -> Signer:
    return Signer(Ed25519PrivateKey.generate())


def public_key_file(signer: Signer, path: Path) -> Path:
    path.write_text(json.dumps(signer.public_document()))
    return path
