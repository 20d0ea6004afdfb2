"""The verifier of ``docs/audit-format.md``: does an export prove its story's log?

:func:`verify` reads the parsed lines of an export once, in order, and returns a
:class:`Result`; it prints nothing. It runs the spec's eight checks ("What a verifier
checks"; the eighth: a signed checkpoint covers the head) and, when several fail, reports
the failure of the lowest-numbered check, at the first version concerned. The replay
through the rules (check 7) runs as the lines are read, so memory grows with the number of
events (one hash each), not with their size.

:func:`verify_database` verifies a story's log as the database holds it, through the same
export the server would send.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any, NoReturn

import rfc8785
from pydantic import ValidationError
from sqlalchemy import func, select

from liveblog.audit.export import FORMATS, export_lines
from liveblog.audit.keys import UnusableKey, keys_from_objects
from liveblog.audit.signing import ALGORITHM, verify_signature
from liveblog.domain import StoryState, evolve, social
from liveblog.domain.events import Event, UpdateCorrected, UpdatePosted, event_data, event_from_data
from liveblog.domain.redaction import redacted_data, removed_members, with_placeholders
from liveblog.domain.replay import IllegalEvent, replay
from liveblog.domain.upcasting import UPCASTERS, UnknownSchema, event_from_stored
from liveblog.domain.values import SLUG_PATTERN, Media, MediaKind, rfc3339
from liveblog.store.chain import GENESIS, event_hash
from liveblog.store.database import Database
from liveblog.store.protection import missing_protection
from liveblog.store.tables import events, snapshots

Progress = Callable[[int, int], None]
Kinds = Mapping[str, type | tuple[type, ...]]

HEADER: Kinds = {
    "format": str,
    "story": str,
    "version": int,
    "head_hash": (str, type(None)),
    "exported_at": str,
    "keys": list,
}
EVENT: Kinds = {
    "version": int,
    "position": int,
    "type": str,
    "schema": int,
    "data": dict,
    "actor": (dict, type(None)),
    "recorded_at": str,
    "hash": str,
    "prev_hash": str,
}
OPTIONAL_EVENT: Kinds = {"salts": dict, "redacted": dict}
"""Members an event line of a ``liveblog-export/2`` file may have besides :data:`EVENT`."""
CHECKPOINT: Kinds = {
    "story": str,
    "version": int,
    "head_hash": str,
    "signed_at": str,
    "key_id": str,
    "algorithm": str,
    "signature": str,
}
OWN_KEYS_WARNING = (
    "no trusted key given (--key): checkpoints were checked against the keys the export itself lists "
    "(with --db, the database's signing_keys table); this shows the log agrees with them, not that "
    "liveblog's key signed it"
)
SPOOL_BYTES = 16 * 1024 * 1024


class UnreadableLine(ValueError):
    """Line ``line`` (1-based) of an export is not strict JSON."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line} is not JSON ({reason})")
        self.line = line


def embed_problem(event: Event) -> str | None:
    """Why a media item of ``event`` is not what liveblog records (check 7), or ``None``: an
    ``embed`` holds the canonical URL of a post of its ``provider``, as
    :func:`liveblog.domain.social.recognise` makes it (any Mastodon instance: which ones a
    server allows is its configuration, not a rule of the log); no other kind has a provider."""
    if isinstance(event, UpdatePosted):
        media: tuple[Media, ...] = event.media
    elif isinstance(event, UpdateCorrected):
        media = event.changes.media or ()
    else:
        return None
    for index, item in enumerate(media):
        if item.kind is not MediaKind.EMBED:
            if item.provider is not None:
                return f"media[{index}] is a {item.kind.value} with a provider (only embeds have one)"
            continue
        try:
            found = social.recognise(item.url or "", mastodon_instances=None)
        except ValueError as exc:
            return f"media[{index}]: its URL {exc}"
        if (found.provider, found.canonical_url) != (item.provider, item.url):
            return (
                f"media[{index}] is not an embed as liveblog records it: {item.provider} {item.url!r} "
                f"where liveblog records {found.provider.value} {found.canonical_url!r}"
            )
    return None


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise ValueError("a member name is repeated")
    return document


def _constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def strict_json(text: str | bytes) -> Any:
    """``text`` parsed as JSON in UTF-8, refusing repeated member names, NaN and Infinity.

    Raises ``ValueError`` (or ``RecursionError`` for absurd nesting) when it is not such JSON.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return json.loads(text, object_pairs_hook=_object, parse_constant=_constant)


def parse_lines(lines: Iterable[bytes | str]) -> Iterator[Any]:
    """Each line of an NDJSON export, parsed by :func:`strict_json`.

    Raises :class:`UnreadableLine` at the first line that is not strict JSON (a blank line
    is not).
    """
    for number, line in enumerate(lines, start=1):
        try:
            document = strict_json(line)
        except (ValueError, RecursionError) as exc:
            raise UnreadableLine(number, str(exc) or type(exc).__name__) from exc
        yield document


def parse_checkpoint(content: bytes) -> dict[str, Any]:
    """A checkpoint an auditor kept: the JSON of ``GET /api/v1/stories/{slug}/checkpoint``
    (or an export's ``{"checkpoint": ...}`` line). Raises ``ValueError`` if it is not one."""
    try:
        document = strict_json(content.strip())
    except RecursionError as exc:
        raise ValueError("not a checkpoint") from exc
    if isinstance(document, dict) and document.keys() == {"checkpoint"}:
        document = document["checkpoint"]
    problem = _shape_problem(document, CHECKPOINT)
    if problem is not None:
        raise ValueError(f"not a checkpoint: {problem}")
    assert isinstance(document, dict)
    return document


@dataclass(frozen=True, slots=True)
class Result:
    """What :func:`verify` found.

    ``ok`` holds when every check passed; then ``message`` summarises the story, its events,
    checkpoints and head. Otherwise ``message`` says what failed and ``first_bad_version`` is
    the version concerned (``None`` when the failure concerns no version, e.g. a line that is
    not JSON). ``unusable`` marks an input that is not a ``liveblog-export/1`` file at all (no
    header, another format, a malformed header): nothing in it could be checked. ``events``
    and ``checkpoints`` count the lines of each kind read; ``head_hash`` is the verified head.
    """

    ok: bool
    message: str
    story: str | None = None
    first_bad_version: int | None = None
    warnings: tuple[str, ...] = ()
    events: int = 0
    checkpoints: int = 0
    head_hash: str | None = None
    unusable: bool = False
    redactions: tuple[str, ...] = ()
    """One line per redacted event: "version k redacted by version m (basis)"."""


class _Failure(Exception):
    def __init__(self, check: int, version: int | None, message: str, *, unusable: bool = False) -> None:
        super().__init__(message if version is None else f"version {version}: {message}")
        self.check = check
        self.version = version
        self.unusable = unusable


def _shape_problem(document: object, kinds: Kinds) -> str | None:
    """Why ``document`` is not an object with exactly the members ``kinds`` names, of those
    types (never a boolean for a number), or ``None`` if it is."""
    if not isinstance(document, dict):
        return "not a JSON object"
    missing, extra = kinds.keys() - document.keys(), document.keys() - kinds.keys()
    if missing or extra:
        return f"members missing: {sorted(missing)}, unexpected: {sorted(extra)}"
    for name, kind in kinds.items():
        if isinstance(document[name], bool) or not isinstance(document[name], kind):
            return f"{name!r} has the wrong type"
    return None


def _moment(text: str) -> datetime | None:
    """``text`` as a time, if it is RFC 3339 UTC exactly as liveblog writes it."""
    try:
        moment = datetime.fromisoformat(text)
        return moment if moment.tzinfo is not None and rfc3339(moment) == text else None
    except (ValueError, OverflowError):
        # OverflowError: an offset that takes the time outside years 1..9999 in UTC
        # (``0001-01-01T00:00:00+14:00``), which liveblog never writes.
        return None


def unsigned_tail(first: int, last: int) -> str:
    """What check 8 says of versions ``first`` to ``last`` (covered by no checkpoint)."""
    return (
        f"unsigned tail: versions {first}..{last} are covered by no signed checkpoint "
        "(--allow-unsigned-tail accepts that)"
    )


def _quiet(done: int, total: int) -> None:
    """A progress callback that reports nothing."""


class _Verification:
    """One pass over one export (see :func:`verify`)."""

    def __init__(
        self,
        trusted_keys: Mapping[str, bytes] | None,
        kept: Mapping[str, Any] | None,
        progress: Progress,
        allow_unsigned_tail: bool = False,
    ) -> None:
        self.trusted_keys = trusted_keys
        self.allow_unsigned_tail = allow_unsigned_tail
        self.kept = kept
        self.progress = progress
        self.keys: Mapping[str, bytes] = {}
        self.warnings: list[str] = []
        self.story = ""
        self.claimed_version = 0
        self.claimed_head: str | None = None
        self.events = 0
        self.hashes: list[str] = []
        self.checkpoints: list[tuple[int, object]] = []
        self.failures: dict[int, _Failure] = {}
        self.covered = 0  # the highest version a valid checkpoint covers
        self.format = ""
        self.update_ids: dict[int, object] = {}  # version -> data.update_id, for redactions
        self.redacted: dict[int, int] = {}  # version k -> version m of the redaction
        self.redactions: dict[int, tuple[object, object]] = {}  # m -> (update_id, legal_basis)
        self.trusted_redacted: list[int] = []  # format-1 events redacted: hash taken on trust
        self.salted = 0  # the first version with salts (format 2), 0 before it

    def run(self, lines: Iterable[Any]) -> Result:
        numbered = enumerate(lines, start=1)
        try:
            self._header(next(numbered, (1, None))[1])
            events = self._walk(numbered)
            try:
                replay(self.story, events, self.redacted)
            except IllegalEvent as exc:
                self._record(_Failure(7, exc.index, exc.reason))
            for _ in events:  # the rest of the lines, after the replay stopped
                pass
            if 2 not in self.failures and 3 not in self.failures:
                self._check_redactions()
            self._raise_recorded(2, 3)
            self._check_head()
            for number, checkpoint in self.checkpoints:
                self._check_checkpoint(5, checkpoint, f"the checkpoint on line {number}")
            if self.kept is not None:
                self._check_checkpoint(6, self.kept, "the kept checkpoint (--checkpoint)")
            self._raise_recorded(7)
            self._check_signed_tail()
        except UnreadableLine as exc:
            return self._result(_Failure(1, None, str(exc), unusable=exc.line == 1))
        except _Failure as failure:
            return self._result(failure)
        return self._result(None)

    def _header(self, document: object) -> None:
        """Check 1, line 1: the header, and the keys to trust."""
        header = document.get("export") if isinstance(document, dict) and len(document) == 1 else None
        if not isinstance(header, dict):
            raise _Failure(1, None, 'line 1 is not an export header {"export": ...}', unusable=True)
        if header.get("format") not in FORMATS:
            raise _Failure(
                1, None, f"the format is {header.get('format')!r}, not one of {list(FORMATS)}", unusable=True
            )
        self.format = header["format"]
        problem = _shape_problem(header, HEADER)
        if problem is None and not re.fullmatch(SLUG_PATTERN, header["story"]):
            problem = f"{header['story']!r} is not a story slug"
        if problem is None and header["version"] < 0:
            problem = "the version is negative"
        try:
            header_keys = keys_from_objects(header["keys"]) if problem is None else {}
        except UnusableKey as exc:
            problem = f"unusable key: {exc}"
        if problem is not None:
            raise _Failure(1, None, f"malformed export header: {problem}", unusable=True)
        self.story = header["story"]
        self.claimed_version, self.claimed_head = header["version"], header["head_hash"]
        if self.trusted_keys is None:
            self.keys = header_keys
            self.warnings.append(OWN_KEYS_WARNING)
        else:
            self.keys = self.trusted_keys

    def _walk(self, numbered: Iterator[tuple[int, Any]]) -> Iterator[Event]:
        """Checks 1 to 3 line by line; yields each event for the replay until a check fails."""
        for number, document in numbered:
            if not isinstance(document, dict):
                raise _Failure(1, None, f"line {number} is not a JSON object")
            if document.keys() == {"checkpoint"}:
                self.checkpoints.append((number, document["checkpoint"]))
                continue
            self.events += 1
            version = self.events
            self.progress(version, max(version, self.claimed_version))
            if 2 not in self.failures:
                self._check_place(number, document, version)
            if 2 not in self.failures and 3 not in self.failures:
                self._check_chain(document, version)
            if not self.failures:
                event = self._decode(document, version)
                if event is not None:
                    yield event

    def _check_place(self, number: int, document: dict[str, Any], version: int) -> None:
        """Check 2: the event line at this place holds ``version``."""
        found = document.get("version")
        if found != version or isinstance(found, bool):
            holds = f"version {found!r}" if "version" in document else "no version"
            self._record(_Failure(2, version, f"missing or out of place (line {number} holds {holds})"))

    def _check_chain(self, document: dict[str, Any], version: int) -> None:
        """Check 3: the line is well formed, links to the previous hash and hashes to its hash.

        Format 2: the salts name exactly the members of ``data``, and the commitments hashed
        are those recomputed from them united with those of the members a redaction removed.
        A format-1 event that was redacted cannot be hashed again: its hash is taken on trust
        from the chain (the next event's ``prev_hash`` and the checkpoints still bind it)."""
        optional = {} if self.format == FORMATS[0] else OPTIONAL_EVENT
        problem = _shape_problem(document, {**EVENT, **{k: v for k, v in optional.items() if k in document}})
        if problem is None:
            problem = self._redaction_problem(document, version)
        if problem is not None:
            self._record(_Failure(3, version, f"malformed event line: {problem}"))
            return
        previous = self.hashes[-1] if self.hashes else GENESIS
        if document["prev_hash"] != previous:
            self._record(_Failure(3, version, "its prev_hash is not the hash of the event before it"))
            return
        recorded_at = _moment(document["recorded_at"])
        if recorded_at is None:
            self._record(
                _Failure(3, version, f"recorded_at {document['recorded_at']!r} is not RFC 3339 UTC as hashed")
            )
            return
        salts, redacted = document.get("salts"), document.get("redacted")
        if salts is None and redacted is not None:
            self.trusted_redacted.append(version)
            self.hashes.append(document["hash"])
            return
        try:
            computed = event_hash(
                story=self.story,
                version=version,
                type=document["type"],
                schema=document["schema"],
                data=document["data"],
                actor=document["actor"],
                recorded_at=recorded_at,
                prev_hash=previous,
                salts=salts,
                removed=None if redacted is None else redacted["commitments"],
            )
        except (ValueError, RecursionError) as exc:
            self._record(_Failure(3, version, f"cannot be hashed: {exc}"))
            return
        if computed != document["hash"]:
            self._record(
                _Failure(3, version, f"its content does not hash to its hash (it hashes to {computed})")
            )
            return
        self.hashes.append(computed)

    def _redaction_problem(self, document: dict[str, Any], version: int) -> str | None:
        """Why the line's salts and redaction marker are malformed, if they are (check 3);
        otherwise note what the redaction checks need."""
        data, salts, redacted = document["data"], document.get("salts"), document.get("redacted")
        if salts is None and redacted is not None and self.salted:
            # liveblog never goes back to format 1: a redacted line without salts after one with
            # them would be a format-2 event passed off as format 1, to have its hash taken on
            # trust. (An unredacted line without salts is hashed in full, so it proves itself.)
            return (
                f"redacted without salts, but version {self.salted} before it has salts "
                "(format 2 never reverts to 1)"
            )
        if salts is not None and not self.salted:
            self.salted = version
        if salts is not None:
            if salts.keys() != data.keys():
                return "its salts do not name exactly the members of its data"
            if not all(isinstance(salt, str) for salt in salts.values()):
                return "a salt is not a string"
        if redacted is not None:
            expected = {"by", "commitments"} if salts is not None else {"by"}
            by = redacted.get("by")
            if redacted.keys() != expected or isinstance(by, bool) or not isinstance(by, int):
                return f"malformed redaction marker (members {sorted(expected)}, by a version)"
            removed = redacted.get("commitments", {})
            if not isinstance(removed, dict) or not all(isinstance(c, str) for c in removed.values()):
                return "malformed redaction marker (commitments)"
            if removed.keys() & data.keys():
                return "a member is both in its data and among the commitments of what was redacted"
            still = sorted(removed_members(document["type"]) & data.keys())
            if still:
                return f"marked redacted but still holds {', '.join(still)}"
            self.redacted[version] = by
        self.update_ids[version] = data.get("update_id")
        if document["type"] == "UpdateRedacted":
            self.redactions[version] = (data.get("update_id"), data.get("legal_basis"))
        return None

    def _check_redactions(self) -> None:
        """Redaction consistency (check 3): every redacted line names a later
        ``UpdateRedacted`` event of its update, and every event of a redacted update before
        its redaction is redacted."""
        for version, by in sorted(self.redacted.items()):
            redaction = self.redactions.get(by)
            if redaction is None or by <= version or redaction[0] != self.update_ids.get(version):
                self._record(
                    _Failure(
                        3,
                        version,
                        f"forged redaction: version {by} is not a later UpdateRedacted of update "
                        f"{self.update_ids.get(version)!r}",
                    )
                )
                return
        for by, (update_id, _) in sorted(self.redactions.items()):
            for version, concerns in sorted(self.update_ids.items()):
                if version < by and concerns == update_id and self.redacted.get(version) != by:
                    self._record(
                        _Failure(
                            3, version, f"version {version} still holds the text that version {by} redacted"
                        )
                    )
                    return

    def _decode(self, document: dict[str, Any], version: int) -> Event | None:
        """Check 7, first part: the event as the rules know it, recorded exactly as liveblog
        records it. Its data, upcast from its schema to the current one (the hash covered
        the data as stored), must be an event of its type in the form ``event_data`` writes."""
        try:
            current = UPCASTERS.upcast(document["type"], document["schema"], document["data"])
        except UnknownSchema as exc:
            self._record(
                _Failure(
                    7,
                    version,
                    f"schema {document['schema']} is not that of {document['type']} events ({exc})",
                )
            )
            return None
        redacted = version in self.redacted
        try:
            event = event_from_data(
                document["type"], with_placeholders(document["type"], current) if redacted else current
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            self._record(
                _Failure(7, version, f"not a valid {document['type']} event ({where}: {first['msg']})")
            )
            return None
        written: dict[str, Any] = event_data(event)
        if redacted:
            written = redacted_data(document["type"], written)
        if rfc8785.dumps(written) != rfc8785.dumps(current):
            self._record(_Failure(7, version, "its data is not in the form liveblog records"))
            return None
        problem = embed_problem(event)
        if problem is not None:
            self._record(_Failure(7, version, problem))
            return None
        return event

    def _check_head(self) -> None:
        """Check 4: the events end where the header says the log ends."""
        last = len(self.hashes)
        if last < self.claimed_version:
            raise _Failure(
                4, last + 1, f"missing: the header claims the log ends at version {self.claimed_version}"
            )
        if last > self.claimed_version:
            raise _Failure(
                4,
                self.claimed_version + 1,
                f"beyond version {self.claimed_version}, where the header ends the log",
            )
        if (self.hashes[-1] if self.hashes else None) != self.claimed_head:
            raise _Failure(4, last or None, "its hash is not the head_hash the header claims")

    def _check_checkpoint(self, check: int, document: object, what: str) -> None:
        """Check 5 (a checkpoint line) or 6 (the kept checkpoint): trusted, valid, and
        matching the log at its version."""
        problem = _shape_problem(document, CHECKPOINT)
        if problem is not None:
            raise _Failure(check, None, f"{what} is malformed: {problem}")
        assert isinstance(document, dict)
        version, key_id = document["version"], document["key_id"]
        if document["story"] != self.story:
            raise _Failure(check, None, f"{what} is for story {document['story']!r}, not {self.story!r}")
        if document["algorithm"] != ALGORITHM:
            raise _Failure(check, version, f"{what} is not signed with {ALGORITHM}")
        key = self.keys.get(key_id)
        if key is None:
            raise _Failure(check, version, f"{what} is signed by key {key_id}, which is not trusted")
        if not verify_signature(key, document):
            raise _Failure(check, version, f"the signature of {what} is not valid")
        if version < 1:
            raise _Failure(check, None, f"{what} is for version {version}; logs start at version 1")
        if version > len(self.hashes):
            raise _Failure(
                check,
                len(self.hashes) + 1,
                f"missing: {what} was signed when the log was at version {version}",
            )
        if self.hashes[version - 1] != document["head_hash"]:
            raise _Failure(check, version, f"its hash is not the head_hash of {what}: the log changed")
        self.covered = max(self.covered, version)

    def _check_signed_tail(self) -> None:
        """Check 8: a signed checkpoint covers the head (an export ends with one), since
        events no signature covers can be rewritten, their hashes recomputed, unseen.
        ``allow_unsigned_tail`` makes an uncovered tail a warning."""
        if self.covered >= self.events:
            return
        message = unsigned_tail(self.covered + 1, self.events)
        if not self.allow_unsigned_tail:
            raise _Failure(8, self.covered + 1, message)
        self.warnings.append(message)

    def _record(self, failure: _Failure) -> None:
        self.failures.setdefault(failure.check, failure)

    def _raise_recorded(self, *checks: int) -> None:
        for check in checks:
            if check in self.failures:
                raise self.failures[check]

    def _result(self, failure: _Failure | None) -> Result:
        if failure is not None:
            return Result(
                ok=False,
                message=str(failure),
                story=self.story or None,
                first_bad_version=failure.version,
                warnings=tuple(self.warnings),
                events=self.events,
                checkpoints=len(self.checkpoints),
                unusable=failure.unusable,
            )
        if self.trusted_redacted:
            self.warnings.append(
                "redacted events written before salts existed (format 1) cannot be hashed again; their "
                "hashes were taken on trust from the chain: versions "
                + ", ".join(map(str, self.trusted_redacted))
            )
        redactions = tuple(
            f"version {version} redacted by version {by} ({self.redactions[by][1]})"
            for version, by in sorted(self.redacted.items())
        )
        head = self.hashes[-1] if self.hashes else None
        return Result(
            ok=True,
            message=f"{self.story}: {self.events} events and {len(self.checkpoints)} checkpoints verified, "
            f"head version {self.events} {head}",
            story=self.story,
            warnings=tuple(self.warnings),
            events=self.events,
            checkpoints=len(self.checkpoints),
            head_hash=head,
            redactions=redactions,
        )


def verify(
    lines: Iterable[Any],
    *,
    trusted_keys: Mapping[str, bytes] | None = None,
    kept_checkpoint: Mapping[str, Any] | None = None,
    progress: Progress = _quiet,
    allow_unsigned_tail: bool = False,
) -> Result:
    """Verify an export, given as its lines parsed from JSON (see :func:`parse_lines`, whose
    :class:`UnreadableLine` is reported as a failure of check 1).

    ``trusted_keys`` are raw Ed25519 public keys by key id; ``None`` trusts the keys in the
    export's header and says so in the warnings. ``kept_checkpoint`` is a checkpoint the
    auditor kept (check 6). Versions after the highest checkpoint fail check 8, or with
    ``allow_unsigned_tail`` are only a warning. ``progress(done, total)`` is called after
    each event line read, ``total`` being the version the header claims (or ``done``, if
    more). Never raises for bad input.
    """
    return _Verification(trusted_keys, kept_checkpoint, progress, allow_unsigned_tail).run(lines)


async def stories(database: Database) -> list[str]:
    """The slugs of every story with a log in ``database``, sorted."""
    async with database.read() as connection:
        rows = await connection.execute(select(events.c.stream).distinct().order_by(events.c.stream))
        return [str(row[0]) for row in rows]


async def verify_database(
    database: Database,
    story: str,
    *,
    trusted_keys: Mapping[str, bytes] | None = None,
    kept_checkpoint: Mapping[str, Any] | None = None,
    progress: Progress = _quiet,
    allow_unsigned_tail: bool = False,
) -> Result:
    """Verify ``story``'s log as ``database`` holds it now, through the export the server
    would send (:func:`~liveblog.audit.export.export_lines`).

    Without ``trusted_keys``, the keys of the database's ``signing_keys`` table (which that
    export lists) are trusted. The export is spooled (to a temporary file once it is large),
    then verified synchronously. Nothing is signed: a tail the server has not sealed yet
    fails check 8 (unless ``allow_unsigned_tail``), since signing it here would vouch for
    whatever the rows hold now. When it verifies, what only the database shows is checked
    too (:func:`_stored_problem`).
    """
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        async for line in export_lines(database, story, now=datetime.now(UTC)):
            spool.write(line.encode())
        spool.seek(0)
        result = verify(
            parse_lines(spool),
            trusted_keys=trusted_keys,
            kept_checkpoint=kept_checkpoint,
            progress=progress,
            allow_unsigned_tail=allow_unsigned_tail,
        )
    if not result.ok:
        return result
    problem = await _stored_problem(database, story)
    if problem is None:
        return result
    version, message = problem
    return Result(
        ok=False,
        message=f"version {version}: {message}",
        story=story,
        first_bad_version=version,
        warnings=result.warnings,
        events=result.events,
        checkpoints=result.checkpoints,
    )


async def _stored_problem(database: Database, story: str) -> tuple[int, str] | None:
    """What the rows of ``story`` tell beyond its export, as (version, message), if anything
    is wrong; the export (hashes, chain, checkpoints, rules) has verified.

    * ``position`` grows with ``version``: a row written again after the log moved on (by
      ``INSERT OR REPLACE`` behind the triggers' back, say) lands after its successors.
    * Every snapshot holds the hash of the log's event at its version and the state the log
      folds to there: a rewrite of the log under it, or a forged snapshot, shows.
    """
    async with database.read() as connection:
        rows = (
            await connection.execute(
                select(
                    events.c.version,
                    events.c.position,
                    events.c.type,
                    events.c.schema,
                    events.c.data,
                    events.c.hash,
                    events.c.redaction,
                )
                .where(events.c.stream == story)
                .order_by(events.c.version)
            )
        ).all()
        stored = (
            await connection.execute(
                select(snapshots.c.version, snapshots.c.head_hash, snapshots.c.state)
                .where(snapshots.c.stream == story)
                .order_by(snapshots.c.version)
            )
        ).all()
    for row, following in pairwise(rows):
        if row.position >= following.position:
            return row.version, (
                f"stored at position {row.position}, after version {following.version} "
                f"(position {following.position}): the row was written again after the log moved on"
            )
    taken = {snapshot.version: snapshot for snapshot in stored}
    state: StoryState | None = None
    for row in rows:
        event = event_from_stored(row.type, row.schema, row.data, redacted=row.redaction is not None)
        state = evolve(state, event)
        snapshot = taken.pop(row.version, None)
        if snapshot is None:
            continue
        if snapshot.head_hash != row.hash:
            return row.version, "the snapshot at this version holds another hash: the log changed under it"
        if state is None or StoryState.model_validate_json(snapshot.state) != state:
            return row.version, "the snapshot at this version is not the state the log folds to"
    for version in taken:
        return version, "there is a snapshot at this version, beyond the end of the log"
    return None


async def storage_problems(database: Database) -> list[str]:
    """What is wrong with the database as a whole, one line each: protecting triggers that
    are missing (or disabled), and, on SQLite, positions missing from the log.

    SQLite gives a new row the position after the largest one and a rolled-back append
    leaves none behind, so with DELETE refused the positions run 1, 2, 3, ... without holes:
    a hole is a row deleted, or re-inserted elsewhere by ``INSERT OR REPLACE``. (PostgreSQL's
    sequence leaves holes on rollback, so it cannot tell.)
    """
    problems = await missing_protection(database)
    if database.is_sqlite:
        async with database.read() as connection:
            count, highest = (
                await connection.execute(select(func.count(), func.coalesce(func.max(events.c.position), 0)))
            ).one()
        if count != highest:
            problems.append(
                f"the log holds {count} events but its positions run to {highest}: "
                f"{highest - count} rows were deleted or re-inserted (INSERT OR REPLACE)"
            )
    return problems
