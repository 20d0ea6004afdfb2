"""The verifier of docs/audit-format.md on the clean reference story: what it accepts, the key
and checkpoint files it reads, what it says, and the order in which it reports failures."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from liveblog.application import Application
from liveblog.audit import verify as verifier
from liveblog.audit.keys import UnusableKey, parse_key_file
from liveblog.audit.signing import Signer, raw_public_key
from liveblog.store.database import Database
from tests.audit import SLUG, Demo, attacker, forge, play_demo, run_cli

HEAD_VERSION = 26
CHECKPOINTS = 16


@pytest.fixture
async def story(
    database: Database, application: Application, client: httpx.AsyncClient, tmp_path: Path
) -> Demo:
    return await play_demo(database, application, client, tmp_path)


def server_keys(story: Demo) -> dict[str, bytes]:
    return parse_key_file(story.keys_file.read_bytes())


async def test_the_exported_demo_verifies_with_the_servers_key(story: Demo) -> None:
    path = story.tmp_path / "demo.ndjson"
    path.write_bytes(story.export)
    result = await story.cli("audit", "verify", str(path), "--key", str(story.keys_file))
    assert result.exit_code == 0, result.output
    head = story.lines()[0]["export"]["head_hash"]
    summary = result.stdout.strip()
    assert summary.startswith("ok ") and SLUG in summary and head in summary
    assert f"{HEAD_VERSION} events" in summary and f"{CHECKPOINTS} checkpoints" in summary
    assert "warning" not in result.output


async def test_the_export_can_come_on_standard_input(story: Demo) -> None:
    result = await story.cli("audit", "verify", "-", "--key", str(story.keys_file), stdin=story.export)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"ok {SLUG}: {HEAD_VERSION} events")


def test_an_unusable_database_is_not_a_bad_log(tmp_path: Path) -> None:
    result = run_cli(f"sqlite+aiosqlite:///{tmp_path}/empty.db", tmp_path, "audit", "verify", "--db")
    assert result.exit_code == 2 and "no liveblog schema" in result.output


async def test_without_key_it_trusts_the_files_own_keys_and_says_so(story: Demo) -> None:
    path = story.tmp_path / "demo.ndjson"
    path.write_bytes(story.export)
    result = await story.cli("audit", "verify", str(path))
    assert result.exit_code == 0, result.output
    assert "warning" in result.stderr and "keys the export itself lists" in result.stderr
    assert result.stdout.startswith("ok ")


def test_the_result_counts_and_reports_progress() -> None:
    signer = attacker()
    lines = _tiny(_opened_and_published(), signer, [2])
    seen: list[tuple[int, int]] = []
    result = verifier.verify(lines, trusted_keys=_trust(signer), progress=lambda d, t: seen.append((d, t)))
    assert result.ok, result.message
    assert (result.events, result.checkpoints, result.head_hash) == (2, 1, lines[2]["hash"])
    assert result.warnings == () and result.first_bad_version is None
    assert seen == [(1, 2), (2, 2)]


def test_an_empty_log_verifies() -> None:
    header = {"format": "liveblog-export/1", "story": SLUG, "version": 0, "head_hash": None}
    result = verifier.verify(
        [{"export": {**header, "exported_at": "2023-06-04T00:00:00Z", "keys": []}}], trusted_keys={}
    )
    assert result.ok and result.events == 0 and result.head_hash is None


def test_uncovered_versions_are_a_warning() -> None:
    signer = attacker()
    lines = _tiny(_opened_and_published(), signer, [1])
    result = verifier.verify(lines, trusted_keys=_trust(signer))
    assert result.ok and result.warnings == ("versions 2 to 2 are covered by no signed checkpoint",)


async def test_verify_database_trusts_the_databases_keys(story: Demo, database: Database) -> None:
    result = await verifier.verify_database(database, SLUG, trusted_keys=server_keys(story))
    assert result.ok, result.message
    assert (result.events, result.checkpoints) == (HEAD_VERSION, CHECKPOINTS)
    assert result.head_hash == story.lines()[0]["export"]["head_hash"]
    assert await verifier.stories(database) == [SLUG]
    database_cli = await story.cli("audit", "verify", "--db")
    assert database_cli.exit_code == 0, database_cli.output
    assert database_cli.stdout.startswith(f"ok {SLUG}: {HEAD_VERSION} events")


async def test_every_form_of_key_file_is_accepted(story: Demo) -> None:
    keys = server_keys(story)
    [(key_id, raw)] = keys.items()
    public = Ed25519PublicKey.from_public_bytes(raw)
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    listing = json.loads(story.keys_file.read_text())
    forms = {
        "key.pem": pem,
        "key.json": json.dumps(listing["items"][0]).encode(),
        "keys.json": story.keys_file.read_bytes(),
        "key.b64": base64.b64encode(raw) + b"\n",
    }
    export = story.write("demo.ndjson", story.lines())
    for name, content in forms.items():
        assert parse_key_file(content) == {key_id: raw}, name
        (story.tmp_path / name).write_bytes(content)
        result = await story.cli("audit", "verify", str(export), "--key", str(story.tmp_path / name))
        assert result.exit_code == 0, (name, result.output)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not a key",
        b'{"id": "0000000000000000", "algorithm": "Ed25519", "public_key": "'
        + base64.b64encode(b"k" * 32)
        + b'"}',
        b'{"items": []}',
        base64.b64encode(b"short"),
        b"-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----\n",
    ],
    ids=["empty", "text", "wrong-id", "no-keys", "short", "bad-pem"],
)
def test_unusable_key_files_are_refused(content: bytes) -> None:
    with pytest.raises(UnusableKey):
        parse_key_file(content)


async def test_unusable_arguments_and_files_exit_2(story: Demo) -> None:
    export = str(story.write("demo.ndjson", story.lines()))
    junk = story.tmp_path / "junk.txt"
    junk.write_text("hello\n")
    not_export = story.write("other.ndjson", [{"hello": "world"}])
    other_format = story.write(
        "v3.ndjson", [{"export": {**story.lines()[0]["export"], "format": "liveblog-export/3"}}]
    )
    for args in [
        ("audit", "verify"),
        ("audit", "verify", export, "--db"),
        ("audit", "verify", "--story", SLUG, export),
        ("audit", "verify", str(story.tmp_path / "missing.ndjson")),
        ("audit", "verify", export, "--key", str(junk)),
        ("audit", "verify", export, "--checkpoint", str(junk)),
        ("audit", "verify", "--db", "--checkpoint", str(story.checkpoint_file)),
        ("audit", "verify", "--db", "--story", "no-such-story"),
        ("audit", "verify", str(junk)),
        ("audit", "verify", str(not_export)),
        ("audit", "verify", str(other_format)),
    ]:
        result = await story.cli(*args)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output


async def test_the_kept_checkpoint_is_checked(story: Demo) -> None:
    export = str(story.write("demo.ndjson", story.lines()))
    ok = await story.cli(
        "audit", "verify", export, "--key", str(story.keys_file), "--checkpoint", str(story.checkpoint_file)
    )
    assert ok.exit_code == 0, ok.output
    stored = await story.cli(
        "audit", "verify", "--db", "--story", SLUG, "--checkpoint", str(story.checkpoint_file)
    )
    assert stored.exit_code == 0, stored.output
    kept = json.loads(story.checkpoint_file.read_text())
    assert verifier.verify(story.lines(), kept_checkpoint={**kept, "story": "another-story"}).message == (
        "the kept checkpoint (--checkpoint) is for story 'another-story', not 'belgorod-captive-soldiers'"
    )


def test_lines_must_be_strict_json() -> None:
    for line, reason in [
        (b'{"a": 1, "a": 2}', "repeated"),
        (b'{"a": NaN}', "NaN"),
        (b"\n", "Expecting value"),
        (b'{"a": "\xff"}', "utf-8"),
        (b"[" * 100_000, "recursion"),
    ]:
        with pytest.raises(verifier.UnreadableLine, match="line 1 is not JSON") as caught:
            list(verifier.parse_lines([line]))
        assert reason.lower() in str(caught.value).lower()


def test_a_line_that_is_not_json_fails_check_1_before_anything_else() -> None:
    signer = attacker()
    lines = _tiny(_opened_and_published(), signer, [2])
    text = [json.dumps(line) for line in lines]
    text[1] = text[1].replace('"version": 1', '"version": 7')  # check 2 fails at version 1 ...
    result = verifier.verify(verifier.parse_lines([*text, "{broken"]))  # ... but line 5 is not JSON
    assert not result.ok and not result.unusable and result.first_bad_version is None
    assert result.message.startswith("line 5 is not JSON")


def test_a_failure_of_an_earlier_check_is_reported_first() -> None:
    signer = attacker()
    events = _opened_and_published()
    events[1]["data"]["at"] = "2023-06-04T09:00:00Z"  # the clock runs backwards at version 2: check 7
    lines = _tiny(events, signer, [2])
    keys = _trust(signer)
    assert (
        verifier.verify(lines, trusted_keys=keys).message
        == "version 2: StoryPublished is not what the rules produce at this point"
    )
    lines[0]["export"]["head_hash"] = "0" * 64  # and now check 4 fails too: it comes first
    result = verifier.verify(lines, trusted_keys=keys)
    assert result.message == "version 2: its hash is not the head_hash the header claims"


def test_recorded_at_must_be_written_as_it_was_hashed() -> None:
    signer = attacker()
    lines = _tiny(_opened_and_published(), signer, [2])
    # The same instant, so the recomputed hash is the same; but not the string that was hashed.
    lines[2]["recorded_at"] = lines[2]["recorded_at"].replace("Z", "+00:00")
    result = verifier.verify(lines, trusted_keys=_trust(signer))
    assert result.first_bad_version == 2 and "recorded_at" in result.message


def test_times_that_utc_cannot_hold_are_a_bad_line_not_a_crash() -> None:
    """Year 1 at +14:00 is valid RFC 3339 but not an instant in UTC: converting it raised
    OverflowError out of the verifier."""
    signer = attacker()
    lines = _tiny(_opened_and_published(), signer, [2])
    lines[2]["recorded_at"] = "0001-01-01T00:00:00+14:00"
    result = verifier.verify(lines, trusted_keys=_trust(signer))
    assert result.first_bad_version == 2 and "recorded_at" in result.message
    events = _opened_and_published()
    events[1]["data"]["at"] = "9999-12-31T23:59:59-14:00"
    result = verifier.verify(_tiny(events, signer, [2]), trusted_keys=_trust(signer))
    assert not result.ok and result.first_bad_version == 2, result.message


def test_data_must_be_in_the_form_liveblog_records() -> None:
    signer = attacker()
    events = _opened_and_published()
    events[0]["data"]["title"] = " " + events[0]["data"]["title"]  # decodes to the same title
    lines = _tiny(events, signer, [2])
    result = verifier.verify(lines, trusted_keys=_trust(signer))
    assert result.message == "version 1: its data is not in the form liveblog records"


def _opened_and_published() -> list[dict[str, Any]]:
    actor = {"id": "desk", "name": "Desk", "role": "editor"}
    opened = {"slug": SLUG, "title": "A title", "summary": "", "language": "en", "at": "2023-06-04T10:00:00Z"}
    return [
        {
            "version": 1,
            "position": 1,
            "type": "StoryOpened",
            "schema": 1,
            "data": opened,
            "actor": actor,
            "recorded_at": "2023-06-04T10:00:00Z",
        },
        {
            "version": 2,
            "position": 2,
            "type": "StoryPublished",
            "schema": 1,
            "data": {"at": "2023-06-04T10:00:00Z"},
            "actor": actor,
            "recorded_at": "2023-06-04T10:00:00Z",
        },
    ]


def _tiny(events: list[dict[str, Any]], signer: Signer, at: list[int]) -> list[dict[str, Any]]:
    """A forged export of ``events`` (see :func:`tests.audit.forge`) with checkpoints at ``at``."""
    header = {"format": "liveblog-export/1", "story": SLUG, "exported_at": "2023-06-04T12:00:00Z"}
    return forge([{"export": header}], events, signer, at=at)


def _trust(signer: Signer) -> dict[str, bytes]:
    return {signer.key_id: raw_public_key(signer.public_key)}
