"""The command handler: load a story, decide, append, project, remember, in one transaction.

``Application.handle`` is the only way anything is written to a story. It runs inside the
serialised write transaction of :class:`~liveblog.store.database.Database`:

1. an ``Idempotency-Key`` seen before returns the first response, and nothing else happens;
2. the command is stamped with the application's clock (so an event's ``at`` is when it was
   recorded), and the story's state is loaded (process cache, else snapshot, plus the
   events after it);
3. ``decide`` produces events, or raises a :class:`~liveblog.errors.DomainError`;
4. the events are appended (hash-chained) with the version the state was at, the read model
   is updated, a snapshot is taken every ``SNAPSHOT_EVERY`` versions, a signed checkpoint
   is taken on publish, on close and at most every ``checkpoint_every`` while a story
   changes, the response is rendered and, with a key, stored beside the events. Everything
   written after the events goes in one :class:`~liveblog.store.batch.Batch`, one round trip,
   which also confirms a cached token still valid (so a revoked one is refused at once).

A :class:`~liveblog.errors.ConcurrencyError` (another writer got in between, which the
write lock makes rare) rolls everything back and the command is decided again on fresh state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import assert_never

from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.audit import checkpoints
from liveblog.audit.signing import Signer
from liveblog.config import Settings
from liveblog.domain import Command, Event, StoryState, decide, evolve, fold
from liveblog.domain.events import (
    StoryClosed,
    StoryOpened,
    StoryPublished,
    StoryReopened,
    StoryRevised,
    SubmissionApproved,
    SubmissionRejected,
    SubmissionWithdrawn,
    UpdateCorrected,
    UpdateFlagsChanged,
    UpdatePosted,
    UpdateRedacted,
    UpdateRetracted,
    UpdateSubmitted,
    VerificationChanged,
    event_data,
    update_id_of,
)
from liveblog.domain.upcasting import event_from_stored
from liveblog.domain.values import STORED, StoryStatus
from liveblog.errors import ConcurrencyError, DomainError, Unauthenticated
from liveblog.media import references
from liveblog.projections import story_view, submissions
from liveblog.projections.event_rows import EventRows
from liveblog.projections.redaction import redact
from liveblog.store import event_store, idempotency, redaction_cleanup, snapshots
from liveblog.store.batch import Batch
from liveblog.store.chain import GENESIS
from liveblog.store.database import Database
from liveblog.store.event_store import NewEvent, RecordedEvent
from liveblog.store.idempotency import IdempotencyKey, StoredResponse
from liveblog.store.media import MediaFiles
from liveblog.store.tokens import Actor

MAX_ATTEMPTS = 5
REDACTION = "UpdateRedacted"
"""The type of the event after whose commit :func:`redaction_cleanup.scrub` runs."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``handle`` did: the response, the story after it, and the events it appended."""

    response: StoredResponse
    head: Head | None
    recorded: Sequence[RecordedEvent]
    redacted_media: frozenset[str] = frozenset()
    """The ids of the images a redaction removed references to (deleted after the commit
    unless another event still references them)."""

    @property
    def replayed(self) -> bool:
        """Whether the response is the one first given for the same Idempotency-Key."""
        return self.head is None


Responder = Callable[[StoryState], StoredResponse]


def decode(recorded: RecordedEvent) -> Event:
    """The event a row of the log holds, in today's shape (upcast from its stored schema)."""
    return event_from_stored(
        recorded.type, recorded.schema, recorded.data, redacted=recorded.redaction is not None
    )


@dataclass(frozen=True, slots=True)
class Head:
    """A story as of its latest event, and that event's hash (where the chain continues)."""

    state: StoryState | None
    hash: str = GENESIS

    def following(self, recorded: Sequence[RecordedEvent]) -> Head:
        """This head moved on by ``recorded``, the events after it in version order."""
        if not recorded:
            return self
        return Head(fold(self.state, (decode(e) for e in recorded)), recorded[-1].hash)


def _seals(event: Event) -> bool:
    """Whether ``event`` is a milestone that a signed checkpoint seals at once (publishing and
    closing); other events are sealed by the next periodic checkpoint."""
    match event:
        case StoryPublished() | StoryClosed() | UpdateRedacted():
            # A redaction too: the signed record that text was removed, and when, at once.
            return True
        case (
            StoryOpened()
            | StoryRevised()
            | StoryReopened()
            | UpdatePosted()
            | UpdateCorrected()
            | VerificationChanged()
            | UpdateFlagsChanged()
            | UpdateRetracted()
            | UpdateSubmitted()
            | SubmissionWithdrawn()
            | SubmissionRejected()
            | SubmissionApproved()
        ):
            return False
        case _:
            assert_never(event)


def _event_rows(before: StoryState | None, decided: list[Event], actor: dict[str, str]) -> EventRows:
    rows = EventRows()
    state = before
    for event in decided:
        following = evolve(state, event)
        assert following is not None
        rows.add(state, following, event, actor)
        state = following
    return rows


class Application:
    """Handles commands against one database. Holds a bounded cache of recent story states."""

    def __init__(
        self,
        database: Database,
        *,
        signer: Signer | None = None,
        clock: Callable[[], datetime] = utc_now,
        cache_size: int = 256,
        checkpoint_every: timedelta = timedelta(minutes=5),
        media_files: MediaFiles | None = None,
    ) -> None:
        """``signer`` signs checkpoints; without one (some tests) none are taken.
        ``media_files``: where uploaded images are, whose files a redaction deletes when no
        other event references them (without it, they stay for ``liveblog media gc``)."""
        self.database = database
        self.media_files = media_files
        self.signer = signer
        self.clock = clock
        self.checkpoint_every = checkpoint_every
        self._cache: OrderedDict[str, Head] = OrderedDict()
        self._cache_size = cache_size
        self._last_checkpoint: dict[str, datetime | None] = {}
        self.on_commit: Callable[[str, int], None] | None = None
        """Called with (story, version) after each commit that appended events."""
        self.on_recorded: Callable[[Sequence[RecordedEvent]], None] | None = None
        """Called with the events of each commit that appended some, in this process alone
        (the GRIP publisher: only the committing process publishes them)."""
        self.on_token_refused: Callable[[str], None] | None = None
        """Called with the token id when a cached actor's token is found no longer valid."""

    async def handle(
        self,
        command: Command,
        actor: Actor,
        respond: Responder,
        *,
        idempotency_key: IdempotencyKey | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """Decide and record ``command`` on behalf of ``actor``; see the module docstring."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                outcome = await self._attempt(command, actor, respond, idempotency_key, request_id)
            except ConcurrencyError:
                if attempt == MAX_ATTEMPTS:
                    raise
                continue
            except Unauthenticated:
                if actor.confirm and self.on_token_refused is not None:
                    self.on_token_refused(actor.id)
                raise
            if outcome.head is not None:
                self._remember(outcome.head)
            if outcome.recorded and self.on_commit is not None:
                self.on_commit(outcome.recorded[-1].stream, outcome.recorded[-1].version)
            if outcome.recorded and self.on_recorded is not None:
                self.on_recorded(outcome.recorded)
            if any(recorded.type == REDACTION for recorded in outcome.recorded):
                # After the commit, never inside it (VACUUM cannot run in a transaction): the
                # database gives up the bytes the rewritten rows left behind. Best effort; it
                # logs what it could not do (docs/redaction.md).
                await redaction_cleanup.scrub(self.database)
                if self.media_files is not None and outcome.redacted_media:
                    await references.forget_unreferenced(
                        self.database, self.media_files, set(outcome.redacted_media)
                    )
            return outcome
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        command: Command,
        actor: Actor,
        respond: Responder,
        key: IdempotencyKey | None,
        request_id: str | None,
    ) -> Outcome:
        async with self.database.write(command.story) as connection:
            # Everything the command writes after its events goes in one batch, sent last,
            # with the check that a cached token is still valid (see liveblog.store.batch).
            batch = Batch()
            if actor.confirm:
                batch.confirm_token(actor.id, self.clock())
            try:
                if key is not None:
                    previous = await idempotency.recall(connection, key)
                    if previous is not None:
                        await batch.flush(connection)
                        return Outcome(response=previous, head=None, recorded=())
                # A command happens when it holds the write lock: its events' `at` is the moment
                # they are recorded and become visible, so `as_of` that moment shows them.
                now = self.clock()
                command = command.model_copy(update={"at": now})
                head = await self._load_head(connection, command.story)
                decided = decide(command, head.state)
            except DomainError:
                # A token no longer valid is refused first, whatever else was wrong.
                await batch.check_token(connection)
                raise
            after = fold(head.state, decided)
            assert after is not None  # decide never yields events that leave no story
            recorded: list[RecordedEvent] = []
            redacted_media: set[str] = set()
            if decided:
                recorded = await self._record(
                    connection, batch, head, after, decided, actor, key, request_id, now, redacted_media
                )
            response = respond(after)
            if key is not None:
                idempotency.remember(batch, key, response, at=now)
            await batch.flush(connection)
            return Outcome(
                response=response,
                head=Head(after, recorded[-1].hash) if recorded else head,
                recorded=recorded,
                redacted_media=frozenset(redacted_media),
            )

    async def _record(
        self,
        connection: AsyncConnection,
        batch: Batch,
        head: Head,
        after: StoryState,
        decided: list[Event],
        actor: Actor,
        key: IdempotencyKey | None,
        request_id: str | None,
        now: datetime,
        redacted_media: set[str],
    ) -> list[RecordedEvent]:
        """Append ``decided`` and write what follows from it; adds to ``redacted_media`` the
        image ids that a redaction among them removes from the log's data."""
        before = head.state
        metadata: dict[str, object] = {"actor": actor.as_metadata()}
        if request_id is not None:
            metadata["request_id"] = request_id
        if key is not None:
            metadata["idempotency_key"] = key.key
        expected = before.version if before is not None else 0
        recorded = await event_store.append(
            connection,
            after.slug,
            expected,
            [NewEvent(type=e.type, data=event_data(e), metadata=metadata, schema=e.SCHEMA) for e in decided],
            recorded_at=now,
            prev_hash=head.hash,
            batch=batch,
        )
        named = dict.fromkeys(update_id for update_id in map(update_id_of, decided) if update_id is not None)
        # A submission's events name an id that is no update (yet): only the queue has it.
        touched = [update_id for update_id in named if update_id in after.updates]
        story_view.collect(batch, before, after, touched)
        submissions.collect(batch, before, after, named)
        _event_rows(before, decided, actor.as_metadata()).collect(batch)
        for event, stored in zip(decided, recorded, strict=True):
            if isinstance(event, UpdateRedacted):
                # The redaction rewrites rows the batch may hold: send it first (redactions
                # are rare; the extra round trip is theirs alone). Before any snapshot below:
                # those taken from now on hold the tombstone.
                await batch.flush(connection)
                redacted_media |= references.mentioned(
                    past.data
                    for past in await event_store.read_stream(connection, after.slug)
                    if past.data.get("update_id") == event.update_id
                )
                await redact(connection, after, event.update_id, by=stored.version)
        if after.version // snapshots.SNAPSHOT_EVERY > expected // snapshots.SNAPSHOT_EVERY:
            await snapshots.save(
                connection, after.slug, after.version, recorded[-1].hash, after.model_dump_json()
            )
        if self.signer is not None and await self._checkpoint_due(connection, after, decided, now):
            await checkpoints.save(
                connection, self.signer.sign(after.slug, after.version, recorded[-1].hash, now)
            )
            self._last_checkpoint[after.slug] = now
        return recorded

    async def _checkpoint_due(
        self, connection: AsyncConnection, story: StoryState, decided: list[Event], now: datetime
    ) -> bool:
        if any(map(_seals, decided)):
            return True
        if story.status is StoryStatus.DRAFT:
            return False
        if story.slug not in self._last_checkpoint:
            self._last_checkpoint[story.slug] = await checkpoints.last_signed_at(connection, story.slug)
        last = self._last_checkpoint[story.slug]
        return last is None or now - last >= self.checkpoint_every

    async def load(self, connection: AsyncConnection, slug: str) -> StoryState | None:
        """The current state of story ``slug`` (``None`` if it does not exist)."""
        return (await self._load_head(connection, slug)).state

    async def _load_head(self, connection: AsyncConnection, slug: str) -> Head:
        """The story's head: the cached one (or the newest snapshot) moved on by whatever the
        log holds after it. The log, read in this transaction, is the truth; caches only spare
        reading all of it."""
        head = self._cache.get(slug)
        if head is None:
            snapshot = await snapshots.latest(connection, slug)
            head = (
                Head(None)
                if snapshot is None
                else Head(StoryState.model_validate_json(snapshot.state, context=STORED), snapshot.head_hash)
            )
        version = head.state.version if head.state is not None else 0
        return head.following(await event_store.read_stream(connection, slug, after=version))

    async def load_at(self, connection: AsyncConnection, slug: str, version: int | None) -> StoryState | None:
        """Story ``slug`` as it stood at ``version`` (``None``: now): the newest snapshot at or
        before it plus the events after the snapshot, so the cost does not grow with the log."""
        state = None
        snapshot = await snapshots.latest(connection, slug, at_most=version)
        if snapshot is not None:
            state = StoryState.model_validate_json(snapshot.state, context=STORED)
        after = state.version if state is not None else 0
        newer = await event_store.read_stream(connection, slug, after=after, until=version)
        return fold(state, (decode(recorded) for recorded in newer))

    def _remember(self, head: Head) -> None:
        if head.state is None:
            return
        slug = head.state.slug
        cached = self._cache.get(slug)
        if cached is None or cached.state is None or cached.state.version < head.state.version:
            self._cache[slug] = head
        self._cache.move_to_end(slug)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


async def build_application(settings: Settings, database: Database) -> Application:
    """The application as the server and the CLI run it: signing checkpoints with the
    configured key, whose public part is registered in the database."""
    signer = Signer.from_file(settings.signing_key_path)
    # Exclusive: servers starting together must not both find the key missing and insert it
    # (story writes no longer serialise everything). Once per start, a moment's wait.
    async with database.write(exclusive=True) as connection:
        await checkpoints.register_key(connection, signer, now=utc_now())
    return Application(
        database,
        signer=signer,
        checkpoint_every=timedelta(seconds=settings.checkpoint_every_seconds),
        media_files=MediaFiles(settings.media_dir),
    )
