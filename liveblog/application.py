"""The command handler: load a story, decide, append, project, remember, in one transaction.

``Application.handle`` is the only way anything is written to a story. It runs inside the
serialised write transaction of :class:`~liveblog.store.database.Database`:

1. an ``Idempotency-Key`` seen before returns the first response, and nothing else happens;
2. the story's state is loaded (process cache, else snapshot, plus the events after it);
3. ``decide`` produces events, or raises a :class:`~liveblog.errors.DomainError`;
4. the events are appended (hash-chained) with the version the state was at, the read model
   is updated, a snapshot is taken every ``SNAPSHOT_EVERY`` versions, a signed checkpoint
   is taken on publish, on close and at most every ``checkpoint_every`` while a story
   changes, the response is rendered and, with a key, stored beside the events.

A :class:`~liveblog.errors.ConcurrencyError` (another writer got in between, which the
write lock makes rare) rolls everything back and the command is decided again on fresh state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.audit import checkpoints
from liveblog.audit.signing import Signer
from liveblog.config import Settings
from liveblog.domain import Command, Event, StoryState, decide, evolve, fold
from liveblog.domain.events import StoryClosed, StoryPublished, event_data, event_from_data
from liveblog.domain.values import StoryStatus
from liveblog.errors import ConcurrencyError
from liveblog.projections import history, story_view
from liveblog.store import event_store, idempotency, snapshots
from liveblog.store.database import Database
from liveblog.store.event_store import NewEvent, RecordedEvent
from liveblog.store.idempotency import IdempotencyKey, StoredResponse
from liveblog.store.tokens import Actor

MAX_ATTEMPTS = 5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What ``handle`` did: the response, the story after it, and the events it appended."""

    response: StoredResponse
    state: StoryState | None
    recorded: Sequence[RecordedEvent]
    replayed: bool = False


Responder = Callable[[StoryState], StoredResponse]


def decode(recorded: RecordedEvent) -> Event:
    return event_from_data(recorded.type, recorded.data)


def _revision_rows(
    before: StoryState | None, decided: list[Event], actor: dict[str, str]
) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    state = before
    for event in decided:
        following = evolve(state, event)
        assert following is not None
        rows += history.revision_rows(state, following, event, actor)
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
    ) -> None:
        """``signer`` signs checkpoints; without one (some tests) none are taken."""
        self.database = database
        self.signer = signer
        self.clock = clock
        self.checkpoint_every = checkpoint_every
        self._cache: OrderedDict[str, StoryState] = OrderedDict()
        self._cache_size = cache_size

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
            if outcome.state is not None and not outcome.replayed:
                self._remember(outcome.state)
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
        async with self.database.write() as connection:
            if key is not None:
                previous = await idempotency.recall(connection, key)
                if previous is not None:
                    return Outcome(response=previous, state=None, recorded=(), replayed=True)
            before = await self.load(connection, command.story)
            decided = decide(command, before)
            after = fold(before, decided)
            assert after is not None  # decide never yields events that leave no story
            recorded: list[RecordedEvent] = []
            if decided:
                recorded = await self._record(connection, before, after, decided, actor, key, request_id)
            response = respond(after)
            if key is not None:
                await idempotency.remember(connection, key, response, at=self.clock())
            return Outcome(response=response, state=after, recorded=recorded)

    async def _record(
        self,
        connection: AsyncConnection,
        before: StoryState | None,
        after: StoryState,
        decided: list[Event],
        actor: Actor,
        key: IdempotencyKey | None,
        request_id: str | None,
    ) -> list[RecordedEvent]:
        metadata: dict[str, object] = {"actor": actor.as_metadata()}
        if request_id is not None:
            metadata["request_id"] = request_id
        if key is not None:
            metadata["idempotency_key"] = key.key
        expected = before.version if before is not None else 0
        now = self.clock()
        recorded = await event_store.append(
            connection,
            after.slug,
            expected,
            [NewEvent(type=e.type, data=event_data(e), metadata=metadata, schema=e.SCHEMA) for e in decided],
            recorded_at=now,
        )
        touched = dict.fromkeys(e.update_id for e in decided if hasattr(e, "update_id"))
        await story_view.apply(connection, before, after, touched)
        await history.apply(connection, _revision_rows(before, decided, actor.as_metadata()))
        if after.version // snapshots.SNAPSHOT_EVERY > expected // snapshots.SNAPSHOT_EVERY:
            await snapshots.save(connection, after.slug, after.version, after.model_dump_json())
        if self.signer is not None and await self._checkpoint_due(connection, after, decided, now):
            await checkpoints.save(
                connection, self.signer.sign(after.slug, after.version, recorded[-1].hash, now)
            )
        return recorded

    async def _checkpoint_due(
        self, connection: AsyncConnection, story: StoryState, decided: list[Event], now: datetime
    ) -> bool:
        if any(isinstance(event, StoryPublished | StoryClosed) for event in decided):
            return True
        if story.status is StoryStatus.DRAFT:
            return False
        last = await checkpoints.last_signed_at(connection, story.slug)
        return last is None or now - last >= self.checkpoint_every

    async def load(self, connection: AsyncConnection, slug: str) -> StoryState | None:
        """The current state of story ``slug`` (``None`` if it does not exist)."""
        state = self._cache.get(slug)
        if state is None:
            return await self.load_at(connection, slug, None)
        newer = await event_store.read_stream(connection, slug, after=state.version)
        return fold(state, (decode(recorded) for recorded in newer))

    async def load_at(self, connection: AsyncConnection, slug: str, version: int | None) -> StoryState | None:
        """Story ``slug`` as it stood at ``version`` (``None``: now): the newest snapshot at or
        before it plus the events after the snapshot, so the cost does not grow with the log."""
        state = None
        snapshot = await snapshots.latest(connection, slug, at_most=version)
        if snapshot is not None:
            state = StoryState.model_validate_json(snapshot[1])
        after = state.version if state is not None else 0
        newer = await event_store.read_stream(connection, slug, after=after, until=version)
        return fold(state, (decode(recorded) for recorded in newer))

    def _remember(self, state: StoryState) -> None:
        cached = self._cache.get(state.slug)
        if cached is None or cached.version < state.version:
            self._cache[state.slug] = state
        self._cache.move_to_end(state.slug)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)


async def build_application(settings: Settings, database: Database) -> Application:
    """The application as the server and the CLI run it: signing checkpoints with the
    configured key, whose public part is registered in the database."""
    signer = Signer.from_file(settings.signing_key_path)
    async with database.write() as connection:
        await checkpoints.register_key(connection, signer, now=utc_now())
    return Application(
        database, signer=signer, checkpoint_every=timedelta(seconds=settings.checkpoint_every_seconds)
    )
