"""The command handler: load a story, decide, append, project, remember, in one transaction.

``Application.handle`` is the only way anything is written to a story. It runs inside the
serialised write transaction of :class:`~liveblog.store.database.Database`:

1. an ``Idempotency-Key`` seen before returns the first response, and nothing else happens;
2. the story's state is loaded (process cache, else snapshot, plus the events after it);
3. ``decide`` produces events, or raises a :class:`~liveblog.errors.DomainError`;
4. the events are appended with the version the state was at, the read model is updated,
   a snapshot is taken every ``SNAPSHOT_EVERY`` versions, the response is rendered and, with
   a key, stored beside the events.

A :class:`~liveblog.errors.ConcurrencyError` (another writer got in between, which the
write lock makes rare) rolls everything back and the command is decided again on fresh state.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.domain import Command, Event, StoryState, decide, fold
from liveblog.domain.events import event_data, event_from_data
from liveblog.errors import ConcurrencyError
from liveblog.projections import story_view
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


class Application:
    """Handles commands against one database. Holds a bounded cache of recent story states."""

    def __init__(
        self,
        database: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        cache_size: int = 256,
    ) -> None:
        self.database = database
        self.clock = clock
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
        recorded = await event_store.append(
            connection,
            after.slug,
            expected,
            [NewEvent(type=e.type, data=event_data(e), metadata=metadata, schema=e.SCHEMA) for e in decided],
            recorded_at=self.clock(),
        )
        touched = dict.fromkeys(e.update_id for e in decided if hasattr(e, "update_id"))
        await story_view.apply(connection, before, after, touched)
        if after.version // snapshots.SNAPSHOT_EVERY > expected // snapshots.SNAPSHOT_EVERY:
            await snapshots.save(connection, after.slug, after.version, after.model_dump_json())
        return recorded

    async def load(self, connection: AsyncConnection, slug: str) -> StoryState | None:
        """The current state of story ``slug`` (``None`` if it does not exist)."""
        state = self._cache.get(slug)
        if state is None:
            snapshot = await snapshots.latest(connection, slug)
            if snapshot is not None:
                state = StoryState.model_validate_json(snapshot[1])
        after = state.version if state is not None else 0
        newer = await event_store.read_stream(connection, slug, after=after)
        return fold(state, (decode(recorded) for recorded in newer))

    def _remember(self, state: StoryState) -> None:
        cached = self._cache.get(state.slug)
        if cached is None or cached.version < state.version:
            self._cache[state.slug] = state
        self._cache.move_to_end(state.slug)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
