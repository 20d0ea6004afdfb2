"""The checks of docs/audit-format.md, "What a verifier checks, and reports", with the
additions of format 2 (``liveblog-export/2``): per-member salted commitments and redacted
events (both in check 3), and the signed tail (check 8).

:func:`verify` reads an export's lines once, in order, and returns a :class:`Verdict`; it
prints nothing. A file whose first line is not a usable export header is not an export at
all: its verdict is ``unusable`` (exit status 2, like unusable arguments), not a failed check. Every check runs over the whole file, remembering its first failure; the
verdict reports the failure of the lowest-numbered check, which is what stopping at the
first failure "in this order" means. Memory grows with the number of events (one hash each)
and checkpoints, not with the size of the events.

Redactions are checked as part of check 3 (the content behind each hash): a line marked
``"redacted": {"by": m}`` needs event ``m`` to be a later ``UpdateRedacted`` of the same
``update_id``, and every event of that update before ``m`` must be so marked. Their
failures name the marked (or unmarked) version, the lowest one when there are several.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from liveblog_client.audit.canonical import (
    GENESIS,
    NotCanonicalizable,
    commitments,
    event_hash,
    event_hash_v2,
    signed_bytes,
)
from liveblog_client.audit.keys import ALGORITHM, TrustedKeys, UnusableKey, keys_from_objects, signature_valid
from liveblog_client.audit.rules import Newsroom, moment

FORMAT_1, FORMAT_2 = "liveblog-export/1", "liveblog-export/2"
FORMATS = (FORMAT_1, FORMAT_2)
REDACTION = "UpdateRedacted"
HEX64 = re.compile(r"^[0-9a-f]{64}$")
OWN_KEYS_WARNING = (
    "no --key given: the checkpoints were checked with the keys listed in the export itself, which "
    "proves the file consistent, not that the liveblog server signed it"
)
# recorded_at as it is hashed: UTC with "Z", microseconds only when there are some.
RECORDED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.(?!0{6})\d{6})?Z$")
SLUG = re.compile(r"^[a-z0-9-]{1,80}$")
TEXT, INT, OBJECT, LIST = (str,), (int,), (dict,), (list,)
HEADER_SHAPE: dict[str, tuple[type, ...]] = {
    "format": TEXT,
    "story": TEXT,
    "version": INT,
    "head_hash": (str, type(None)),
    "keys": LIST,
}
EVENT_SHAPE: dict[str, tuple[type, ...]] = {
    "version": INT,
    "position": INT,
    "type": TEXT,
    "schema": INT,
    "data": OBJECT,
    "actor": (dict, type(None)),
    "recorded_at": TEXT,
    "hash": TEXT,
    "prev_hash": TEXT,
}
CHECKPOINT_SHAPE: dict[str, tuple[type, ...]] = {
    "story": TEXT,
    "version": INT,
    "head_hash": TEXT,
    "signed_at": TEXT,
    "key_id": TEXT,
    "algorithm": TEXT,
    "signature": TEXT,
}


@dataclass(frozen=True)
class Finding:
    """A failed check: its number (1-8, 8 being the signed tail), the version concerned when there is one, and a
    message for a person that starts with that version."""

    check: int
    version: int | None
    message: str
    unusable: bool = False


@dataclass(frozen=True)
class Verdict:
    story: str | None
    events: int
    checkpoints: int
    head_version: int
    head_hash: str | None
    failure: Finding | None
    warnings: tuple[str, ...] = ()
    extends: int | None = None

    redactions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.failure is None

    @property
    def unusable(self) -> bool:
        """Whether the file is not an export of this format at all (no usable header)."""
        return self.failure is not None and self.failure.unusable

    def summary(self) -> str:
        if self.failure is not None:
            return self.failure.message
        text = (
            f"{self.story}: {self.events} events and {self.checkpoints} checkpoints verified, "
            f"head version {self.head_version} {self.head_hash}"
        )
        if self.redactions:
            text += f"; {len(self.redactions)} redacted events, each named by its redaction"
        if self.extends is not None:
            text += f"; the log extends the kept checkpoint at version {self.extends}"
        return text


def _fits(document: Any, shape: Mapping[str, tuple[type, ...]]) -> str | None:
    """What is wrong with ``document`` against ``shape`` (member -> allowed types); ``None`` if fine."""
    if not isinstance(document, dict):
        return "not a JSON object"
    for name, kinds in shape.items():
        if name not in document:
            return f"has no {name!r}"
        value = document[name]
        if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
            return f"{name!r} has the wrong type"
    return None


def _strict_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError("a member appears twice")
    return dict(pairs)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_line(raw: bytes) -> Any:
    """One line as strict JSON: UTF-8, no repeated member, no NaN or Infinity."""
    return json.loads(raw.decode("utf-8"), object_pairs_hook=_strict_object, parse_constant=_no_constants)


def parse_checkpoint(data: bytes) -> dict[str, Any]:
    """A kept checkpoint (``--checkpoint``): the JSON of ``GET .../checkpoint``, or an
    export's ``{"checkpoint": ...}`` line. Raises ``ValueError`` when it is neither."""
    document = parse_line(data.strip())
    if isinstance(document, dict) and set(document) == {"checkpoint"}:
        document = document["checkpoint"]
    problem = _fits(document, CHECKPOINT_SHAPE)
    if problem is not None:
        raise ValueError(f"not a checkpoint: {problem}")
    return dict(document)


def _marker_problem(marker: Any) -> str | None:
    """What is wrong with a ``redacted`` marker's shape; ``None`` if it is well formed."""
    if not isinstance(marker, dict):
        return "is not an object"
    unknown = sorted(set(marker) - {"by", "commitments"})
    if unknown:
        return f"has an unknown member {unknown[0]!r}"
    by = marker.get("by")
    if not isinstance(by, int) or isinstance(by, bool):
        return "has no integer 'by'"
    committed = marker.get("commitments", {})
    if not isinstance(committed, dict):
        return "has commitments that are not an object"
    for name, value in committed.items():
        if not isinstance(value, str) or not HEX64.match(value):
            return f"has a commitment for {name!r} that is not 64 lowercase hex digits"
    return None


@dataclass(frozen=True)
class _Marked:
    """An event marked redacted, waiting for (or checked against) its redaction event."""

    version: int
    by: int
    update_id: str
    format_1: bool


@dataclass
class _Run:
    """The state of one verification, fed line by line."""

    trusted: TrustedKeys | None
    kept: Mapping[str, Any] | None
    allow_unsigned_tail: bool = False
    findings: dict[int, Finding] = field(default_factory=dict)
    header: dict[str, Any] | None = None
    rules: Newsroom | None = None
    events: int = 0
    prev_hash: str = GENESIS
    last: tuple[int, str] | None = None
    hashes: dict[int, str] = field(default_factory=dict)
    checkpoints: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Redactions: marked events by the version said to redact them, the events of each update
    # (version, the version its marker names), and the redactions found to hold.
    pending: dict[int, list[_Marked]] = field(default_factory=dict)
    of_update: dict[str, list[tuple[int, int | None]]] = field(default_factory=dict)
    redacted: list[tuple[_Marked, str]] = field(default_factory=list)
    redacted_by: dict[str, int] = field(default_factory=dict)  # update id -> its first redaction

    def fail(
        self, check: int, version: int | None, message: str, *, unusable: bool = False, earliest: bool = False
    ) -> None:
        """Remember a failure of ``check``: its first one, or with ``earliest`` the one at the
        lowest version (redaction failures are found late, at the redaction or at the end)."""
        found = self.findings.get(check)
        if found is None or (
            earliest and version is not None and found.version is not None and version < found.version
        ):
            self.findings[check] = Finding(check, version, message, unusable)

    @property
    def format(self) -> str:
        assert self.header is not None
        return str(self.header["format"])

    @property
    def story(self) -> str:
        assert self.header is not None
        return str(self.header["story"])

    def read(self, number: int, raw: bytes) -> bool:
        """Take line ``number``; ``False`` when nothing after it can be checked."""
        try:
            document = parse_line(raw)
        except ValueError as exc:
            self.fail(1, None, f"line {number} is not strict JSON ({exc})", unusable=number == 1)
            return number > 1
        if number == 1:
            return self._header(document)
        if isinstance(document, dict) and set(document) == {"checkpoint"}:
            problem = _fits(document["checkpoint"], CHECKPOINT_SHAPE)
            if problem is None:
                self.checkpoints.append((number, document["checkpoint"]))
            else:
                self.fail(1, None, f"line {number}: the checkpoint {problem}")
        elif _fits(document, EVENT_SHAPE) is None:
            if self.checkpoints:
                self.fail(
                    1, document["version"], f"version {document['version']}: an event after the checkpoints"
                )
            self._event(document)
        else:
            self.fail(1, None, f"line {number} is neither an event nor a checkpoint")
        return True

    def _header(self, document: Any) -> bool:
        problem = self._header_problem(document)
        if problem is not None:
            self.fail(1, None, f"line 1: the export header {problem}", unusable=True)
            return False
        header: dict[str, Any] = document["export"]
        self.header = header
        self.rules = Newsroom(story=header["story"])
        if self.trusted is None:
            self.warnings.append(OWN_KEYS_WARNING)
            try:
                self.trusted = keys_from_objects(header["keys"])
            except UnusableKey as exc:
                self.fail(1, None, f"line 1: the header's keys are unusable: {exc}", unusable=True)
        return True

    @staticmethod
    def _header_problem(document: Any) -> str | None:
        if not isinstance(document, dict) or set(document) != {"export"}:
            return "is missing"
        header = document["export"]
        problem = _fits(header, HEADER_SHAPE)
        if problem is None and header["format"] not in FORMATS:
            return f"names format {header['format']!r}, not {FORMAT_1!r} or {FORMAT_2!r}"
        if problem is None and not SLUG.match(header["story"]):
            return f"names {header['story']!r}, which is not a story slug"
        if problem is None and header["version"] < 0:
            return "claims a negative version"
        return problem

    def _event(self, event: dict[str, Any]) -> None:
        self.events += 1
        version = event["version"]
        if version != self.events:
            self.fail(
                2, self.events, f"version {self.events}: missing or out of place (found version {version})"
            )
        if event["prev_hash"] != self.prev_hash:
            self.fail(3, version, f"version {version}: its prev_hash is not the hash of the event before it")
        elif not RECORDED_AT.match(event["recorded_at"]) or moment(event["recorded_at"]) is None:
            self.fail(
                3,
                version,
                f"version {version}: recorded_at {event['recorded_at']!r} is not in the hashed form",
            )
        else:
            try:
                problem = self._content_problem(event)
            except NotCanonicalizable as exc:
                problem = f"its content cannot be canonicalised ({exc})"
            if problem is not None:
                self.fail(3, version, f"version {version}: {problem}", earliest=True)
        if self.format == FORMAT_1 and ("salts" in event or "redacted" in event):
            member = "salts" if "salts" in event else "redacted"
            self.fail(1, version, f"version {version}: {member!r} in a {FORMAT_1} export, which has none")
        self._redaction(event)
        self.prev_hash = event["hash"]
        self.hashes.setdefault(version, event["hash"])
        self.last = (version, event["hash"])
        if 7 not in self.findings and self.rules is not None:
            broken = self.rules.apply(event["type"], event["data"], redacted="redacted" in event)
            if broken is not None:
                self.fail(7, version, f"version {version}: {broken}")

    def _content_problem(self, event: dict[str, Any]) -> str | None:
        """What is wrong with the event's content behind its hash (check 3); ``None`` if it
        holds. Without ``salts``: format 1, the hash of ``data`` (a redacted format-1 event
        cannot be rehashed: taken on trust from the chain, and reported). With ``salts``:
        format 2, one salt per member of ``data``, commitments from them united with the
        marker's commitments of the removed members."""
        marker = event.get("redacted")
        if "redacted" in event and (problem := _marker_problem(marker)) is not None:
            return f"its redacted marker {problem}"
        if "salts" not in event:
            if marker is None:
                same = event_hash(self.story, event) == event["hash"]
                return None if same else "its content does not hash to its hash"
            if "commitments" in marker:
                return "a format-1 event (no salts) whose redacted marker carries commitments"
            return None
        salts, data = event["salts"], event["data"]
        if not isinstance(salts, dict):
            return "its salts are not an object"
        for name in data:
            if name not in salts:
                return f"member {name!r} of its data has no salt"
        for name, salt in salts.items():
            if name not in data:
                return f"it has a salt for {name!r}, which is not a member of its data"
            if not isinstance(salt, str) or not HEX64.match(salt):
                return f"the salt of {name!r} is not 64 lowercase hex digits"
        removed: dict[str, str] = {}
        if marker is not None:
            if "commitments" not in marker:
                return "a format-2 event whose redacted marker has no commitments"
            removed = marker["commitments"]
        overlap = sorted(set(data) & set(removed))
        if overlap:
            return f"member {overlap[0]!r} is both in its data and in its redacted commitments"
        committed = {**commitments(data, salts), **removed}
        if event_hash_v2(self.story, event, committed) != event["hash"]:
            return "its content does not hash to its hash"
        return None

    def _redaction(self, event: dict[str, Any]) -> None:
        """Redaction consistency (part of check 3), event by event: a marked event waits for
        the later redaction it names; a redaction settles those waiting for it and requires
        every earlier event of its update to be marked by it."""
        version, kind, data = event["version"], event["type"], event["data"]
        update_id = data.get("update_id") if isinstance(data.get("update_id"), str) else None
        marker = event.get("redacted")
        by: int | None = None
        if "redacted" in event and _marker_problem(marker) is None:
            by = int(event["redacted"]["by"])
            if kind == REDACTION:
                self._forged(version, f"an {REDACTION} event is never itself redacted")
            elif by <= version:
                self._forged(version, f"it is marked redacted by version {by}, which is not later")
            elif update_id is None:
                self._forged(version, "it is marked redacted but its data keeps no update_id")
            else:
                self.pending.setdefault(by, []).append(_Marked(version, by, update_id, "salts" not in event))
        waiting = self.pending.pop(version, [])
        if kind != REDACTION:
            for marked in waiting:
                self._forged(
                    marked.version,
                    f"it is marked redacted by version {version}, which is a {kind}, not an {REDACTION}",
                )
            if update_id is not None:
                self.of_update.setdefault(update_id, []).append((version, by))
            return
        basis = data.get("legal_basis")
        for marked in waiting:
            if marked.update_id != update_id:
                self._forged(
                    marked.version,
                    f"it is marked redacted by version {version}, which redacts update "
                    f"{update_id!r}, not its update {marked.update_id!r}",
                )
            else:
                self.redacted.append((marked, basis if isinstance(basis, str) else repr(basis)))
        if update_id is None or update_id in self.redacted_by:
            return  # nothing to redact, or a second redaction: check 7 names it
        self.redacted_by[update_id] = version
        for earlier, marked_by in self.of_update.get(update_id, []):
            if marked_by is None:
                self.fail(
                    3,
                    earlier,
                    f"version {earlier}: forged redaction: version {earlier} still holds the text "
                    f"that version {version} redacted",
                    earliest=True,
                )
            elif marked_by != version:
                self._forged(
                    earlier,
                    f"it is marked redacted by version {marked_by}, but version {version} redacts its update",
                )

    def _forged(self, version: int, problem: str) -> None:
        self.fail(3, version, f"version {version}: forged redaction: {problem}", earliest=True)

    def redactions(self) -> list[str]:
        """Each redaction that holds, for the report, in the order of the redacted versions."""
        lines = []
        for marked, basis in sorted(self.redacted, key=lambda found: found[0].version):
            line = f"version {marked.version} redacted by version {marked.by} ({basis})"
            if marked.format_1:
                line += "; a format-1 event: its hash is taken on trust from the chain"
            lines.append(line)
        return lines

    def finish(self) -> None:
        """Checks 4 to 6, which need the whole file."""
        assert self.header is not None
        claimed, claimed_hash = self.header["version"], self.header["head_hash"]
        last, last_hash = self.last or (0, None)
        if last < claimed:
            self.fail(
                4,
                last + 1,
                f"version {last + 1}: missing: the header claims the log runs to version "
                f"{claimed}, the export ends at version {last}",
            )
        elif last > claimed:
            self.fail(
                4,
                claimed + 1,
                f"version {claimed + 1}: past the end of the log the header claims ({claimed})",
            )
        elif last_hash != claimed_hash:
            self.fail(4, claimed, f"version {claimed}: its hash is not the header's head_hash")
        if (
            7 not in self.findings
            and self.rules is not None
            and (owed := self.rules.unfinished()) is not None
        ):
            self.fail(7, last + 1, f"version {last + 1}: {owed}")
        for by, waiting in sorted(self.pending.items()):
            for marked in waiting:
                self._forged(
                    marked.version, f"it is marked redacted by version {by}, which is not in the log"
                )
        for marked, _basis in self.redacted:
            if marked.format_1:
                self.warnings.append(
                    f"version {marked.version} is a format-1 event redacted by version {marked.by}: "
                    "its hash cannot be recomputed and is taken on trust from the chain (the next "
                    "event's prev_hash and the checkpoints signed after it bind it)"
                )
        for number, checkpoint in self.checkpoints:
            self._prove(5, checkpoint, f"the checkpoint on line {number}")
        if self.kept is not None:
            self._prove(6, self.kept, "the kept checkpoint")
        # Check 8, the signed tail: an export ends with a checkpoint of the head it claims
        # (the auditor's kept checkpoint covers what it vouches for too: check 6 proved it).
        signed = max((checkpoint["version"] for _, checkpoint in self.checkpoints), default=0)
        if self.kept is not None:
            signed = max(signed, int(self.kept["version"]))
        if signed < claimed:
            tail = f"unsigned tail: versions {signed + 1}..{claimed} are covered by no signed checkpoint"
            if self.allow_unsigned_tail:
                self.warnings.append(f"{tail} (accepted with --allow-unsigned-tail)")
            else:
                self.fail(8, signed + 1, f"version {signed + 1}: {tail} (--allow-unsigned-tail accepts that)")

    def _prove(self, check: int, checkpoint: Mapping[str, Any], what: str) -> None:
        """Check ``checkpoint`` (called ``what``) against this log, as check number ``check``:
        a checkpoint vouches for the log when it is this story's, validly signed by a trusted
        key, and its head_hash is the hash of the log's event at its version."""
        version = checkpoint["version"]
        last = self.last[0] if self.last else 0
        problem = None
        if checkpoint["story"] != self.story:
            problem = f"{what} is for story {checkpoint['story']!r}"
        elif checkpoint["algorithm"] != ALGORITHM:
            problem = f"{what} uses algorithm {checkpoint['algorithm']!r}, not {ALGORITHM}"
        elif (key := (self.trusted or {}).get(checkpoint["key_id"])) is None:
            problem = f"{what} is signed by key {checkpoint['key_id']}, which is not trusted"
        elif not self._signed_by(key, checkpoint):
            problem = f"{what} has a signature that is not valid"
        elif version < 1:
            problem = f"{what} vouches for version {version}, but logs start at version 1"
        elif version > last:
            # The log was cut: the first version missing is the one to name.
            version, problem = (
                last + 1,
                f"missing: {what} vouches for version {checkpoint['version']}, but the log ends at version {last}",
            )
        elif self.hashes.get(version) != checkpoint["head_hash"]:
            problem = (
                f"{what} has a head_hash that is not the hash of the event at this version: the log changed"
            )
        if problem is not None:
            self.fail(check, version, f"version {version}: {problem}")

    @staticmethod
    def _signed_by(key: Ed25519PublicKey, checkpoint: Mapping[str, Any]) -> bool:
        try:
            message = signed_bytes(checkpoint)
        except NotCanonicalizable:
            return False
        return signature_valid(key, message, checkpoint["signature"])


def verify(
    lines: Iterable[bytes],
    *,
    trusted: TrustedKeys | None = None,
    kept: Mapping[str, Any] | None = None,
    allow_unsigned_tail: bool = False,
) -> Verdict:
    """Verify an export given as its lines (a file opened in binary mode will do).

    ``trusted``: the keys given with ``--key``; ``None`` trusts the keys the export lists,
    with a warning. ``kept``: an older checkpoint (see :func:`parse_checkpoint`) the log must
    extend. ``allow_unsigned_tail``: versions past the highest checkpoint (in the file, or
    the kept one) only warn instead of failing check 8.
    """
    run = _Run(trusted=trusted, kept=kept, allow_unsigned_tail=allow_unsigned_tail)
    count = 0
    for count, raw in enumerate(lines, start=1):
        if not run.read(count, raw):
            break
    if count == 0:
        run.fail(1, None, "the file is empty: it has no export header", unusable=True)
    elif run.header is not None:
        run.finish()
    failure = run.findings[min(run.findings)] if run.findings else None
    header = run.header or {}
    last = run.last or (0, None)
    return Verdict(
        story=header.get("story"),
        events=run.events,
        checkpoints=len(run.checkpoints),
        head_version=last[0],
        head_hash=last[1],
        failure=failure,
        warnings=tuple(run.warnings),
        extends=None if kept is None or failure is not None else int(kept["version"]),
        redactions=tuple(run.redactions()),
    )
