"""``liveblog-client verify`` on hand-built exports of format 2 (``liveblog-export/2``):
per-member salted commitments, redacted events, the signed tail.

The exports are written by :class:`lbc_support.ExportWriter` from the format's text, with
hashing of its own; no server is needed (the cross-check with the server's verifier on
real exports is test_client_verify.py's).
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from lbc_support import ExportWriter, commit, jcs, line_hash

from liveblog_client.cli import main

WITNESS = "Olena Kovalenko"  # the name a court ordered removed


def verdict(path: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--no-color", "verify", str(path), *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def story(*, salted: bool = True, export_format: str = "liveblog-export/2") -> ExportWriter:
    """Opened and published (1-2), update u1 posted (3) and corrected (4), u2 posted (5)."""
    writer = ExportWriter(export_format=export_format)
    writer.add(
        "StoryOpened",
        {"slug": writer.story, "title": "A hand-built story", "summary": "Tests."},
        salted=salted,
    )
    writer.add("StoryPublished", {}, salted=salted)
    writer.post("u1", f"A witness, {WITNESS}, saw the convoy.", salted=salted)
    writer.correct("u1", f"A witness, {WITNESS}, saw the second convoy.", salted=salted)
    writer.post("u2", "The road is closed.", salted=salted)
    return writer


def redacted_story() -> ExportWriter:
    """:func:`story`, then u1 redacted at version 6, one more post (7), signed at the head."""
    writer = story()
    writer.checkpoint()  # signed before the redaction, at version 5
    writer.redact("u1")
    writer.post("u3", "Traffic resumes.")
    writer.checkpoint()
    return writer


def event(writer: ExportWriter, version: int) -> dict[str, Any]:
    return writer.events[version - 1]


# ---------------------------------------------------------------- what verifies


def test_a_format_2_export_verifies(tmp_path: Path) -> None:
    writer = story()
    writer.checkpoint()
    keys = writer.key_file(tmp_path / "keys.json")
    status, says = verdict(writer.write(tmp_path / "e.ndjson"), "--key", str(keys))
    assert status == 0, says
    assert says.startswith(f"ok {writer.story}: 5 events and 1 checkpoints verified, head version 5 ")
    assert "redacted" not in says


def test_a_redacted_export_verifies_and_names_each_redaction(tmp_path: Path) -> None:
    writer = redacted_story()
    path = writer.write(tmp_path / "e.ndjson")
    assert WITNESS.encode() not in path.read_bytes()  # the text is gone from the file
    status, says = verdict(path, "--key", str(writer.key_file(tmp_path / "keys.json")))
    assert status == 0, says
    assert "7 events and 2 checkpoints verified" in says
    assert "redacted: version 3 redacted by version 6 (court order 2026/123)" in says
    assert "redacted: version 4 redacted by version 6 (court order 2026/123)" in says
    assert "version 5 redacted" not in says


def test_a_pre_redaction_export_and_checkpoint_still_verify(tmp_path: Path) -> None:
    before = story()
    kept = before.checkpoint()
    old = before.write(tmp_path / "before.ndjson")
    (tmp_path / "kept.json").write_text(json.dumps(kept))
    after = copy.deepcopy(before)
    after.redact("u1")
    after.checkpoint()
    new = after.write(tmp_path / "after.ndjson")
    assert verdict(old)[0] == 0
    # The checkpoint signed before the redaction vouches for the redacted log: hashes kept.
    status, says = verdict(new, "--checkpoint", str(tmp_path / "kept.json"))
    assert status == 0, says
    assert "the log extends the kept checkpoint at version 5" in says


def test_a_court_holding_the_original_event_can_prove_it_matches(tmp_path: Path) -> None:
    writer = redacted_story()
    line = copy.deepcopy(event(writer, 3))
    data, salts = writer.originals[3]
    assert salts is not None
    original = {key: value for key, value in line.items() if key != "redacted"}
    original.update(data=data, salts=salts)
    assert line_hash(writer.story, original) == line["hash"]


def test_format_1_exports_still_verify(tmp_path: Path) -> None:
    writer = story(salted=False, export_format="liveblog-export/1")
    writer.checkpoint()
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 0, says


def test_a_format_1_event_redacted_is_taken_on_trust_and_said_so(tmp_path: Path) -> None:
    """Events written before format 2 carry no salts: redacting them leaves a hash nobody can
    recompute; the chain binds it (next prev_hash, the checkpoint signed before)."""
    writer = story(salted=False)
    writer.checkpoint()
    writer.redact("u1")  # format 2, as everything appended now
    writer.checkpoint()
    assert event(writer, 3)["redacted"] == {"by": 6}
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 0, says
    assert (
        "redacted: version 3 redacted by version 6 (court order 2026/123); a format-1 event: "
        "its hash is taken on trust from the chain"
    ) in says
    assert "warning: version 3 is a format-1 event redacted by version 6" in says


# ----------------------------------------------------------- forged redactions


def forge(tmp_path: Path, change: Any) -> tuple[int, str]:
    writer = redacted_story()
    change(writer)
    return verdict(writer.write(tmp_path / "forged.ndjson"))


def test_a_marker_without_a_redaction_event_fails(tmp_path: Path) -> None:
    writer = story()
    writer.remove_text(event(writer, 5), by=9)  # the hash still holds: the commitments stay
    writer.checkpoint()
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 1
    assert "version 5: forged redaction: it is marked redacted by version 9, which is not in the log" in says


def test_a_marker_naming_an_event_that_is_no_redaction_fails(tmp_path: Path) -> None:
    writer = story()
    writer.post("u4", "Later news.")
    writer.remove_text(event(writer, 5), by=6)
    writer.checkpoint()
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 1
    assert "version 5: forged redaction: it is marked redacted by version 6, which is a UpdatePosted" in says


def test_a_marker_naming_the_redaction_of_another_update_fails(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        writer.remove_text(event(writer, 5), by=6)  # u2, while version 6 redacts u1
        writer.rechain(5)
        writer.checkpoints[:] = [writer.checkpoints[-1]]
        writer.checkpoints[0] = writer.checkpoint()

    status, says = forge(tmp_path, change)
    assert status == 1
    assert (
        "version 5: forged redaction: it is marked redacted by version 6, which redacts update 'u1'" in says
    )


def test_a_marker_naming_an_earlier_version_fails(tmp_path: Path) -> None:
    writer = story()
    writer.remove_text(event(writer, 5), by=2)
    writer.checkpoint()
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 1
    assert "version 5: forged redaction: it is marked redacted by version 2, which is not later" in says


def test_a_redaction_while_an_earlier_event_still_holds_the_text_fails(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        data, salts = writer.originals[4]
        line = event(writer, 4)
        del line["redacted"]
        line.update(data=copy.deepcopy(data), salts=dict(salts or {}))

    status, says = forge(tmp_path, change)
    assert status == 1
    assert "version 4: forged redaction: version 4 still holds the text that version 6 redacted" in says


def test_overlapping_commitment_keys_fail(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        line = event(writer, 3)
        line["data"]["body"] = "Something else."
        line["salts"]["body"] = "ab" * 32

    status, says = forge(tmp_path, change)
    assert status == 1
    assert "version 3: member 'body' is both in its data and in its redacted commitments" in says


def test_a_member_without_a_salt_fails(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        del event(writer, 7)["salts"]["body"]

    status, says = forge(tmp_path, change)
    assert status == 1
    assert "version 7: member 'body' of its data has no salt" in says


def test_a_salt_without_a_member_fails(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        event(writer, 3)["salts"]["body"] = "cd" * 32

    status, says = forge(tmp_path, change)
    assert status == 1
    assert "version 3: it has a salt for 'body', which is not a member of its data" in says


def test_a_malformed_marker_fails(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        event(writer, 4)["redacted"]["commitments"]["body"] = "not hex"

    status, says = forge(tmp_path, change)
    assert status == 1
    assert "version 4: its redacted marker has a commitment for 'body' that is not 64 lowercase hex" in says


def test_tampering_a_kept_member_of_a_redacted_event_fails(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        event(writer, 3)["data"]["at"] = "2026-12-01T10:03:30Z"

    status, says = forge(tmp_path, change)
    assert status == 1
    assert "version 3: its content does not hash to its hash" in says


def test_tampering_a_redacted_commitment_fails(tmp_path: Path) -> None:
    def change(writer: ExportWriter) -> None:
        event(writer, 3)["redacted"]["commitments"]["body"] = commit("00" * 32, "Nobody.")

    status, says = forge(tmp_path, change)
    assert status == 1
    assert "version 3: its content does not hash to its hash" in says


# ------------------------------------------------------------------- guessing


CANDIDATES = ["Ivan Petrenko", WITNESS, "Maria Shevchenko", "A resident"]


def with_body(line: dict[str, Any], body: str) -> str:
    """What the guesser computes: the line's hash with the body candidate put back."""
    guessed = copy.deepcopy(line)
    guessed["data"]["body"] = body
    return line_hash("hand-built", guessed)


def test_guessing_a_redacted_text_confirms_nothing_in_format_2_but_would_in_format_1() -> None:
    # Format 1: hashing the candidates over the line's data finds the text.
    old = story(salted=False)
    line = copy.deepcopy(event(old, 3))
    prefix = "A witness, "
    confirmed = [
        name for name in CANDIDATES if with_body(line, f"{prefix}{name}, saw the convoy.") == line["hash"]
    ]
    assert confirmed == [WITNESS]

    # Format 2, redacted: the body's salt left with the text. No candidate reproduces the
    # commitment or the hash, whatever salt the guesser tries from what the line shows.
    redacted = event(redacted_story(), 3)
    committed = redacted["redacted"]["commitments"]["body"]
    texts = [f"{prefix}{name}, saw the convoy." for name in CANDIDATES]
    visible_salts = [*redacted["salts"].values(), "", "0" * 64]
    for text in texts:
        assert hashlib.sha256(jcs(text)).hexdigest() != committed
        assert hashlib.sha256(jcs({"value": text})).hexdigest() != committed
        assert all(commit(salt, text) != committed for salt in visible_salts)
        for salt in visible_salts:
            guess = copy.deepcopy(redacted)
            guess["data"]["body"], guess["salts"]["body"] = text, salt
            del guess["redacted"]["commitments"]["body"]
            assert line_hash("hand-built", guess) != redacted["hash"]


# ------------------------------------------------------------- the signed tail


def burst() -> ExportWriter:
    """A burst of edits after the last signed checkpoint (version 3): 4 and 5 unsigned."""
    writer = ExportWriter()
    writer.story_opened()
    writer.post("u1", "First.")
    writer.checkpoint()
    writer.correct("u1", "First, corrected.")
    writer.post("u2", "Second.")
    return writer


def test_an_unsigned_tail_fails_unless_allowed(tmp_path: Path) -> None:
    path = burst().write(tmp_path / "e.ndjson")
    status, says = verdict(path)
    assert status == 1
    assert "FAILED" in says
    assert "version 4: unsigned tail: versions 4..5 are covered by no signed checkpoint" in says
    status, says = verdict(path, "--allow-unsigned-tail")
    assert status == 0, says
    assert "warning: unsigned tail: versions 4..5 are covered by no signed checkpoint" in says


def test_the_tail_rewrite_attack_fails(tmp_path: Path) -> None:
    """Edit an event in the unsigned tail and recompute the later hashes: every hash holds,
    only the missing signature gives it away; with the head signed, the edit fails check 5."""
    writer = burst()
    honest = copy.deepcopy(writer)
    line = event(writer, 4)
    line["data"]["changes"]["body"] = "First, rewritten."
    line["salts"]["changes"] = "ef" * 32
    writer.rechain(4)
    status, says = verdict(writer.write(tmp_path / "rewritten.ndjson"))
    assert status == 1
    assert "version 4: unsigned tail: versions 4..5" in says
    assert verdict(writer.write(tmp_path / "rewritten.ndjson"), "--allow-unsigned-tail")[0] == 0

    writer.checkpoints.append(honest.checkpoint())  # the head the server signed at export time
    status, says = verdict(writer.write(tmp_path / "rewritten-signed.ndjson"))
    assert status == 1
    assert "version 5: the checkpoint on line" in says and "the log changed" in says


def test_an_empty_log_needs_no_checkpoint(tmp_path: Path) -> None:
    assert verdict(ExportWriter().write(tmp_path / "empty.ndjson"))[0] == 0


# -------------------------------------------------- the newsroom's rules (check 7)


def test_an_event_on_a_redacted_update_fails(tmp_path: Path) -> None:
    writer = redacted_story()
    writer.checkpoints.clear()
    writer.correct("u1", "Back again.")
    writer.checkpoint()
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 1
    assert "version 8: update 'u1' was redacted" in says


def test_redacting_an_unknown_or_redacted_update_fails(tmp_path: Path) -> None:
    unknown = story()
    unknown.redact("nope")
    unknown.checkpoint()
    status, says = verdict(unknown.write(tmp_path / "unknown.ndjson"))
    assert status == 1
    assert "version 6: it redacts an unknown update 'nope'" in says

    twice = redacted_story()
    twice.checkpoints.clear()
    twice.add("UpdateRedacted", {"update_id": "u1", "legal_basis": "again", "note": "n", "reason": "r"})
    twice.checkpoint()
    status, says = verdict(twice.write(tmp_path / "twice.ndjson"))
    assert status == 1
    assert "version 8: update 'u1' is redacted a second time" in says


def test_a_redacted_retracted_update_verifies(tmp_path: Path) -> None:
    """The content rules are skipped for redacted events; their structure is still checked."""
    writer = story()
    writer.add("UpdateRetracted", {"update_id": "u1", "reason": "Wrong", "note": "Withdrawn."})
    writer.redact("u1", "court order 2026/7")
    writer.checkpoint()
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 0, says
    assert "redacted: version 6 redacted by version 7 (court order 2026/7)" in says


def test_format_2_members_in_a_format_1_export_fail(tmp_path: Path) -> None:
    writer = story(export_format="liveblog-export/1")
    writer.checkpoint()
    status, says = verdict(writer.write(tmp_path / "e.ndjson"))
    assert status == 1
    assert "version 1: 'salts' in a liveblog-export/1 export" in says


@pytest.mark.parametrize("export_format", ["liveblog-export/3", "liveblog-export"])
def test_an_unknown_format_is_no_export(tmp_path: Path, export_format: str) -> None:
    writer = story(export_format=export_format)
    writer.checkpoint()
    assert verdict(writer.write(tmp_path / "e.ndjson"))[0] == 2


def test_a_kept_checkpoint_of_the_head_covers_the_tail(tmp_path: Path) -> None:
    """``--checkpoint OLD`` still works under the signed-tail rule: an older kept checkpoint
    leaves the tail unsigned; one the auditor kept of the head covers it."""
    writer = burst()
    old = tmp_path / "old.json"
    old.write_text(json.dumps(writer.checkpoints[-1]))  # version 3
    head = copy.deepcopy(writer)
    (tmp_path / "head.json").write_text(json.dumps(head.checkpoint()))
    path = writer.write(tmp_path / "e.ndjson")
    status, says = verdict(path, "--checkpoint", str(old))
    assert status == 1 and "version 4: unsigned tail: versions 4..5" in says
    status, says = verdict(path, "--checkpoint", str(old), "--allow-unsigned-tail")
    assert status == 0 and "the log extends the kept checkpoint at version 3" in says
    status, says = verdict(path, "--checkpoint", str(tmp_path / "head.json"))
    assert status == 0, says
