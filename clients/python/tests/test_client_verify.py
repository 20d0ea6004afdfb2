"""``liveblog-client verify`` against the server's ``liveblog audit verify``, on the reference
story's export as the server produced it and on tampered copies of it: both must reach the
same verdict (exit status) every time, the client naming the first bad version.

Tampering that keeps the chain intact (a forger who holds the signing key: an insider)
re-hashes with the hashing of the tests' export writer (lbc_support.line_hash: format 1, or
format 2's salted commitments for lines with ``salts``) and re-signs with the server's key;
the case "rehashed, nothing changed" shows that the server accepts that hashing as its own.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from lbc_support import REFERENCE_SLUG, Server, line_hash, liveblog_command, run_client

from liveblog_client.audit.canonical import GENESIS, signed_bytes
from liveblog_client.audit.keys import key_id, parse_key_file
from liveblog_client.cli import main

Line = dict[str, Any]


@dataclass
class Reference:
    """The reference story's export and what an auditor keeps beside it."""

    directory: Path
    export: Path
    keys: Path  # GET /api/v1/keys, saved with `liveblog-client keys`
    checkpoint: Path  # the latest checkpoint, saved with `liveblog-client checkpoint`
    signer: Ed25519PrivateKey  # the server's own signing key, for the insider's forgeries

    def lines(self) -> list[Line]:
        return [json.loads(line) for line in self.export.read_text(encoding="utf-8").splitlines()]

    def raw(self) -> list[bytes]:
        return self.export.read_bytes().splitlines(keepends=True)


@pytest.fixture(scope="module")
def reference(lb_server: Server, tmp_path_factory: pytest.TempPathFactory) -> Reference:
    directory = tmp_path_factory.mktemp(f"reference-{lb_server.backend}")
    auditor = lb_server.token("auditor")
    for args in (
        ("export", REFERENCE_SLUG, "-o", str(directory / "export.ndjson")),
        ("keys", "-o", str(directory / "keys.json")),
        ("checkpoint", REFERENCE_SLUG, "-o", str(directory / "checkpoint.json")),
    ):
        done = run_client(*args, server=lb_server, token=auditor)
        assert done.returncode == 0, done.stderr
    signer = load_pem_private_key(lb_server.signing_key.read_bytes(), password=None)
    assert isinstance(signer, Ed25519PrivateKey)
    return Reference(
        directory, directory / "export.ndjson", directory / "keys.json", directory / "checkpoint.json", signer
    )


# ------------------------------------------------------------------ forging helpers


def events(lines: list[Line]) -> list[Line]:
    return [line for line in lines if "version" in line and "export" not in line]


def checkpoints(lines: list[Line]) -> list[Line]:
    return [line for line in lines if "checkpoint" in line]


def sign(signer: Ed25519PrivateKey, story: str, version: int, head_hash: str, signed_at: str) -> Line:
    raw = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    document = {"story": story, "version": version, "head_hash": head_hash, "signed_at": signed_at}
    signature = base64.b64encode(signer.sign(signed_bytes(document))).decode()
    return {"checkpoint": {**document, "key_id": key_id(raw), "algorithm": "Ed25519", "signature": signature}}


def rechain(lines: list[Line], signer: Ed25519PrivateKey) -> list[Line]:
    """``lines`` with every event re-hashed in order, the header claiming the last event,
    and every checkpoint re-signed by ``signer`` at the same versions (dropping those past
    the end, and signing the head if no checkpoint does)."""
    header = lines[0]["export"]
    chained = events(lines)
    previous = GENESIS
    for event in chained:
        event["prev_hash"] = previous
        event["hash"] = previous = line_hash(header["story"], event)
    hashes = {event["version"]: event["hash"] for event in chained}
    last = chained[-1]["version"] if chained else 0
    header.update(version=last, head_hash=hashes.get(last))
    signed = [
        sign(signer, header["story"], c["version"], hashes[c["version"]], c["signed_at"])
        for c in (line["checkpoint"] for line in checkpoints(lines))
        if c["version"] <= last
    ]
    if not signed or signed[-1]["checkpoint"]["version"] != last:
        signed.append(sign(signer, header["story"], last, hashes[last], "2023-06-04T21:00:00Z"))
    return [lines[0], *chained, *signed]


def append(lines: list[Line], event_type: str, data: Line) -> list[Line]:
    """``lines`` with one more event after the last (re-chaining is the caller's)."""
    last = events(lines)[-1]
    extra = {
        **copy.deepcopy(last),
        "version": last["version"] + 1,
        "position": last["position"] + 1,
        "type": event_type,
        "data": {"at": "2023-06-04T20:45:00Z", **data},
        "recorded_at": "2023-06-04T20:45:00Z",
    }
    if "salts" in extra:  # a format-2 export: a fresh salt for each member
        extra["salts"] = {name: secrets.token_bytes(32).hex() for name in extra["data"]}
    extra.pop("redacted", None)
    return [lines[0], *events(lines), extra, *checkpoints(lines)]


def event_of(lines: list[Line], event_type: str, text: str = "") -> Line:
    [found] = [e for e in events(lines) if e["type"] == event_type and text in json.dumps(e["data"])]
    return found


# -------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """A copy of the export (``make`` returns its lines and extra arguments), the exit
    status both verifiers must give, and what the client's message must say."""

    name: str
    make: Callable[[Reference], tuple[list[Line] | list[bytes], list[str]]]
    status: int
    says: str = ""


def keyed(reference: Reference) -> list[str]:
    return ["--key", str(reference.keys)]


def edited_character(r: Reference) -> tuple[list[bytes], list[str]]:
    raw = r.raw()
    [index] = [i for i, line in enumerate(raw) if b'"version":5,' in line[:20]]
    raw[index] = raw[index].replace(b"before 17:00 local", b"before 18:00 local", 1)
    return raw, []


def deleted_event(r: Reference) -> tuple[list[bytes], list[str]]:
    return [line for line in r.raw() if not line.startswith(b'{"version":10,')], []


def deleted_and_renumbered(r: Reference) -> tuple[list[Line], list[str]]:
    lines = [line for line in r.lines() if line.get("version") != 10 or "export" in line]
    for event in events(lines):
        event["version"] -= event["version"] > 10
    lines[0]["export"]["version"] -= 1
    return lines, []


def swapped_events(r: Reference) -> tuple[list[bytes], list[str]]:
    raw = r.raw()
    ten, eleven = (
        next(i for i, line in enumerate(raw) if line.startswith(b'{"version":%d,' % v)) for v in (10, 11)
    )
    raw[ten], raw[eleven] = raw[eleven], raw[ten]
    return raw, []


def forged_checkpoint(change: Line) -> Callable[[Reference], tuple[list[Line], list[str]]]:
    def make(r: Reference) -> tuple[list[Line], list[str]]:
        lines = r.lines()
        lines[-1]["checkpoint"].update(change)
        return lines, keyed(r)

    return make


def key_object(signer: Ed25519PrivateKey) -> Line:
    raw = signer.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    public_key = base64.b64encode(raw).decode()
    return {
        "id": key_id(raw),
        "algorithm": "Ed25519",
        "public_key": public_key,
        "created_at": "2023-06-04T21:00:00Z",
    }


def resigned_by_another_key(with_key: bool) -> Callable[[Reference], tuple[list[Line], list[str]]]:
    """The forger moves the close to 21:00 and signs the new head with a key of their own,
    which they list in the header beside the server's."""

    def make(r: Reference) -> tuple[list[Line], list[str]]:
        lines = r.lines()
        header, chain = lines[0]["export"], events(lines)
        close = chain[-1]
        close["data"]["at"] = close["recorded_at"] = "2023-06-04T21:00:00Z"
        close["hash"] = header["head_hash"] = line_hash(REFERENCE_SLUG, close)
        forger = Ed25519PrivateKey.generate()
        header["keys"].append(key_object(forger))
        honest = [c for c in checkpoints(lines) if c["checkpoint"]["version"] < close["version"]]
        forged = sign(forger, REFERENCE_SLUG, close["version"], close["hash"], "2023-06-04T21:00:00Z")
        return [lines[0], *chain, *honest, forged], keyed(r) if with_key else []

    return make


def truncated(
    claimed_complete: bool, with_old_checkpoint: bool
) -> Callable[[Reference], tuple[list[Line], list[str]]]:
    """The log cut after version 20; either the header still claims 26, or it is rewritten
    to end at 20 with the checkpoints past 20 removed (a consistent but shorter log)."""

    def make(r: Reference) -> tuple[list[Line], list[str]]:
        lines = r.lines()
        kept = [e for e in events(lines) if e["version"] <= 20]
        if claimed_complete:
            return [lines[0], *kept, *checkpoints(lines)], keyed(r)
        lines[0]["export"].update(version=20, head_hash=kept[-1]["hash"])
        cut = [c for c in checkpoints(lines) if c["checkpoint"]["version"] <= 20]
        args = keyed(r) + (["--checkpoint", str(r.checkpoint)] if with_old_checkpoint else [])
        return [lines[0], *kept, *cut], args

    return make


def insider(
    change: Callable[[list[Line]], list[Line]],
) -> Callable[[Reference], tuple[list[Line], list[str]]]:
    """An insider's forgery: ``change`` the log, re-hash it, re-sign with the server's key."""

    def make(r: Reference) -> tuple[list[Line], list[str]]:
        return rechain(change(r.lines()), r.signer), keyed(r)

    return make


def retracted_id(lines: list[Line]) -> str:
    return str(event_of(lines, "UpdateRetracted")["data"]["update_id"])


def post_after_close(lines: list[Line]) -> list[Line]:
    data = {
        "update_id": "forgedpost01",
        "body": "Forged.",
        "author": "Live desk",
        "sources": [],
        "media": [],
        "key_event": False,
        "pinned": False,
    }
    return append(lines, "UpdatePosted", data)


def correct_retracted(lines: list[Line]) -> list[Line]:
    data = {
        "update_id": retracted_id(lines),
        "kind": "correction",
        "changes": {"body": "Changed."},
        "reason": "r",
        "note": "n",
    }
    return append(lines, "UpdateCorrected", data)


def retract_twice(lines: list[Line]) -> list[Line]:
    return append(
        lines, "UpdateRetracted", {"update_id": retracted_id(lines), "reason": "r", "note": "again"}
    )


def correction_changing_nothing(lines: list[Line]) -> list[Line]:
    fix = event_of(lines, "UpdateCorrected", "17:00 local")["data"]
    data = {
        "update_id": fix["update_id"],
        "kind": "minor",
        "changes": {"body": fix["changes"]["body"]},
        "reason": "r",
    }
    return append(lines, "UpdateCorrected", data)


def embed_correction(url: str, provider: str) -> Callable[[list[Line]], list[Line]]:
    """A minor correction that replaces the media of the "17:00 local" update by one embed."""

    def change(lines: list[Line]) -> list[Line]:
        fix = event_of(lines, "UpdateCorrected", "17:00 local")["data"]
        media = [{"kind": "embed", "url": url, "provider": provider}]
        data = {"update_id": fix["update_id"], "kind": "minor", "changes": {"media": media}, "reason": "r"}
        return append(lines, "UpdateCorrected", data)

    return change


def clock_backwards(lines: list[Line]) -> list[Line]:
    event = next(e for e in events(lines) if e["version"] == 15)
    event["data"]["at"] = "2023-06-04T14:00:00Z"  # version 14 happened at 14:10
    return lines


def before_opened(lines: list[Line]) -> list[Line]:
    rest = [line for line in lines if line.get("version") != 1 or "export" in line]
    for event in events(rest):
        event["version"] -= 1
    return rest


def not_json(r: Reference) -> tuple[list[bytes], list[str]]:
    raw = r.raw()
    raw[5] = b'{"version": 5, oops\n'
    return raw, []


CASES = [
    Case("clean", lambda r: (r.raw(), []), 0),
    Case(
        "clean, --key and --checkpoint",
        lambda r: (r.raw(), [*keyed(r), "--checkpoint", str(r.checkpoint)]),
        0,
    ),
    Case("rehashed and re-signed, nothing changed", insider(lambda lines: lines), 0),
    Case("edited character", edited_character, 1, "version 5:"),
    Case("deleted event", deleted_event, 1, "version 10:"),
    Case("deleted event, the rest renumbered", deleted_and_renumbered, 1, "version 10:"),
    Case("swapped events", swapped_events, 1, "version 10:"),
    Case("forged checkpoint: version", forged_checkpoint({"version": 25}), 1, "version 25:"),
    Case("forged checkpoint: head_hash", forged_checkpoint({"head_hash": "ab" * 32}), 1, "version 26:"),
    Case("forged checkpoint: signature", forged_checkpoint({"signature": "AAAA"}), 1, "version 26:"),
    Case("re-signed checkpoint, --key", resigned_by_another_key(True), 1, "version 26:"),
    Case("re-signed checkpoint, no --key", resigned_by_another_key(False), 0),
    Case("truncated tail claimed complete", truncated(True, False), 1, "version 21:"),
    Case("truncated and consistent", truncated(False, False), 0),
    Case(
        "truncated, --checkpoint OLD", truncated(False, True), 1, "version 21: missing: the kept checkpoint"
    ),
    Case("insider: post after close", insider(post_after_close), 1, "version 27: a post to a closed story"),
    Case("insider: correction of a retracted update", insider(correct_retracted), 1, "version 27:"),
    Case("insider: second retraction", insider(retract_twice), 1, "version 27:"),
    Case("insider: correction changing nothing", insider(correction_changing_nothing), 1, "version 27:"),
    Case("insider: clock running backwards", insider(clock_backwards), 1, "version 15:"),
    Case(
        "insider: a canonical embed, as the server records it",
        insider(embed_correction("https://t.me/legionoffreedom/1234", "telegram")),
        0,
    ),
    Case(
        "insider: an embed on a look-alike host",
        insider(embed_correction("https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", "youtube")),
        1,
        "version 27: media[0] is a youtube embed whose URL",
    ),
    Case("insider: event before StoryOpened", insider(before_opened), 1, "version 1:"),
    Case("a line that is not JSON", not_json, 1, "line 6"),
    Case("no header: not an export", lambda r: (r.raw()[1:], []), 2, "header"),
]


def write(directory: Path, name: str, lines: list[Line] | list[bytes]) -> Path:
    path = directory / (name.replace(" ", "-").replace(",", "").replace(":", "") + ".ndjson")
    with path.open("wb") as sink:
        for line in lines:
            if isinstance(line, bytes):
                sink.write(line)
            else:
                sink.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
    return path


def server_verdict(path: Path, args: list[str]) -> tuple[int, str]:
    done = subprocess.run(
        [*liveblog_command(), "audit", "verify", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=path.parent,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def client_verdict(path: Path, args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--no-color", "verify", str(path), *args])
    return result.exit_code, result.output


@dataclass(frozen=True)
class Verdicts:
    client: tuple[int, str]
    server: tuple[int, str]


@pytest.fixture(scope="module")
def verdicts(reference: Reference) -> dict[str, Verdicts]:
    """Both verifiers' verdicts on every case (the server's run side by side: each is a process)."""
    made = {case.name: case.make(reference) for case in CASES}
    paths = {name: write(reference.directory, name, lines) for name, (lines, _) in made.items()}
    with ThreadPoolExecutor(max_workers=4) as pool:
        server = {name: pool.submit(server_verdict, paths[name], args) for name, (_, args) in made.items()}
        client = {name: client_verdict(paths[name], args) for name, (_, args) in made.items()}
        return {name: Verdicts(client[name], server[name].result()) for name in made}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_both_verifiers_agree(verdicts: dict[str, Verdicts], case: Case) -> None:
    (client_status, client_says), (server_status, server_says) = (
        verdicts[case.name].client,
        verdicts[case.name].server,
    )
    assert (client_status, server_status) == (case.status, case.status), (
        f"client: {client_says}\nserver: {server_says}"
    )
    assert case.says in client_says, client_says
    assert "Traceback" not in client_says + server_says
    assert named(client_says) == named(server_says)  # the same first bad version (or line)


def named(verdict: str) -> str | None:
    """The version (or line) a failed verification names first."""
    found = re.search(r"FAILED .*?\b((?:version|line) \d+)", verdict)
    return found.group(1) if found else None


def test_the_own_keys_warning_and_the_unsigned_tail(reference: Reference) -> None:
    """Without the checkpoint of its head the export fails (the signed-tail rule), unless
    the auditor accepts the unsigned tail, which then only warns."""
    lines = [line for line in reference.lines() if line.get("checkpoint", {}).get("version", 0) < 26]
    path = write(reference.directory, "tail unsigned", lines)
    status, says = client_verdict(path, [])
    assert status == 1
    assert "keys listed in the export itself" in says
    assert "version 26: unsigned tail: versions 26..26 are covered by no signed checkpoint" in says
    status, says = client_verdict(path, ["--allow-unsigned-tail"])
    assert status == 0
    assert "warning: unsigned tail: versions 26..26 are covered by no signed checkpoint" in says


def wrong_id(reference: Reference) -> bytes:
    [key] = json.loads(reference.keys.read_text())["items"]
    return json.dumps({**key, "id": "0000000000000000"}).encode()


@pytest.mark.parametrize(
    "content",
    [lambda _r: b"not a key at all\nsecond line\n", lambda _r: b"AAAA\n", wrong_id],
    ids=["garbage", "short key", "wrong id"],
)
def test_unusable_key_files_exit_2_for_both(
    reference: Reference, content: Callable[[Reference], bytes]
) -> None:
    key_file = reference.directory / "unusable.key"
    key_file.write_bytes(content(reference))
    args = ["--key", str(key_file)]
    assert client_verdict(reference.export, args)[0] == 2
    assert server_verdict(reference.export, args)[0] == 2


def test_a_missing_file_exits_2_for_both(reference: Reference) -> None:
    missing = reference.directory / "missing.ndjson"
    assert client_verdict(missing, [])[0] == 2
    assert server_verdict(missing, [])[0] == 2


def test_every_key_file_form_is_read(reference: Reference) -> None:
    public = reference.signer.public_key()
    raw = public.public_bytes(Encoding.Raw, PublicFormat.Raw)
    pem = public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    one_key = json.dumps(key_object(reference.signer)).encode()
    for form in (pem, one_key, reference.keys.read_bytes(), base64.b64encode(raw) + b"\n"):
        assert key_id(raw) in parse_key_file(form)
    key_file = reference.directory / "server.pem"
    key_file.write_bytes(pem)
    assert client_verdict(reference.export, ["--key", str(key_file)])[0] == 0
