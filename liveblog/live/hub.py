"""The per-process hub: each story event is read from the store once, encoded once, and
offered to every local reader's bounded queue; nothing ever waits on a slow reader.

A reader subscribes with the last version it has. Registration and the backlog it is owed
are taken under the story channel's lock, the same lock under which new events are appended
to the channel, so the seam between catch-up and live delivery has no gap and no duplicate.
The channel keeps the last ``replay`` messages; a reader further behind is told to ``reset``.

Wake-ups (``wake(story, version)``) come from this process's own commits and from the bus;
they carry no data. A periodic sweep also reads every active story, so a lost wake-up costs
latency, never an event, and offers a heartbeat, encoded once, to the readers of every story
that has been quiet for ``heartbeat_every`` seconds. Heartbeats travel through the readers'
queues like events, so a reader's sender simply waits for its queue: no timer per reader or
per frame.

A redaction (docs/redaction.md) rewrites history, and the hub's memory is history too: when a
channel applies an ``UpdateRedacted`` event, read from the store like any other (so in every
process, whichever committed it), every message it still holds about that update (its recent
messages, each reader's queue and owed backlog) is re-encoded with the update redacted, as
the past read model has it. No reader resuming from any version is served the text afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.application import Application, decode
from liveblog.domain import Event, StoryState, evolve
from liveblog.domain.events import (
    SCHEDULING_EVENTS,
    StoryPublished,
    UpdateRedacted,
    is_internal,
    update_id_of,
)
from liveblog.domain.values import StoryStatus
from liveblog.live import messages
from liveblog.projections import views
from liveblog.store import event_store

REPLAY = 1000
QUEUE_BYTES = 1024 * 1024
HEARTBEAT_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class Frame:
    """One encoded message: the story version it brings, its type, its JSON text, and the
    update it renders (``None``: none), so that a redaction finds what to re-encode."""

    version: int
    kind: str
    text: str
    update_id: str | None = None


NEWSROOM = "newsroom"
"""The kind of the frame of an event only the newsroom is served (a submission's or a
scheduled item's)."""

Rewrite = Callable[[Frame], Frame]
"""Re-encodes a frame (after a redaction), keeping its version and kind."""


class Overflow(Exception):
    """The reader fell too far behind; it is closed (4008) and resumes by version."""


class Subscriber:
    """One reader's bounded queue of encoded messages (bounded by bytes)."""

    def __init__(self, max_bytes: int = QUEUE_BYTES) -> None:
        self._messages: deque[Frame] = deque()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._ready = asyncio.Event()
        self.overflow = asyncio.Event()
        self.backlog: list[Frame] = []
        """What the reader was owed when it subscribed (the :class:`Subscription`'s list),
        kept here so that a redaction rewrites it like the queue."""

    def offer(self, frame: Frame) -> None:
        """Queue ``frame`` without waiting; a full queue marks the reader as overflowed."""
        if self.overflowed:
            return
        if self._bytes + len(frame.text) > self._max_bytes:
            self.overflow.set()
            self._messages.clear()
        else:
            self._messages.append(frame)
            self._bytes += len(frame.text)
        self._ready.set()

    @property
    def overflowed(self) -> bool:
        return self.overflow.is_set()

    def rewrite(self, update_id: str, rewrite: Rewrite) -> None:
        """Re-encode, in place, every frame still owed or queued about ``update_id``."""
        for index, frame in enumerate(self.backlog):
            if frame.update_id == update_id:
                self.backlog[index] = rewrite(frame)
        for index, frame in enumerate(self._messages):
            if frame.update_id == update_id:
                rewritten = rewrite(frame)
                self._messages[index] = rewritten
                self._bytes += len(rewritten.text) - len(frame.text)

    async def next(self, timeout: float | None = None) -> Frame | None:
        """The next message; ``None`` after ``timeout`` seconds of quiet, if one is given.
        Raises :class:`Overflow` once the queue has overflowed."""
        while not self._messages:
            if self.overflowed:
                raise Overflow
            self._ready.clear()
            if timeout is None:
                await self._ready.wait()
                continue
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self._ready.wait()
            if not self._messages and not self.overflowed:
                return None
        if self.overflowed:
            raise Overflow
        frame = self._messages.popleft()
        self._bytes -= len(frame.text)
        return frame


@dataclass(frozen=True, slots=True)
class Subscription:
    """A reader just registered: its queue, the story's version then, and what it is owed
    before the queue (the messages after its ``after``, in order, or a single ``reset``)."""

    subscriber: Subscriber
    current: int
    backlog: list[Frame]
    public_from: int | None
    """The story's publication version (``None`` while a draft, as far as the hub knows):
    the messages at and before it belong to the draft period (see docs/live-drafts.md)."""


class Channel:
    """One story in one process: its state, its recent messages, its readers."""

    def __init__(self, slug: str) -> None:
        self.slug = slug
        self.state: StoryState | None = None
        self.recent: deque[Frame] = deque(maxlen=REPLAY)
        self.subscribers: set[Subscriber] = set()
        self.public_from: int | None = None
        """The publication version, or (for a channel that starts after it) the version the
        channel starts from: no reader is served a message at or before it."""
        self.lock = asyncio.Lock()
        self.quiet_since = time.monotonic()
        """When the readers were last offered a message (an event or a heartbeat)."""

    @property
    def version(self) -> int:
        return self.state.version if self.state is not None else 0

    def publish(self, state: StoryState, event: Event, *, live: bool = True) -> None:
        """Move to ``state`` (after ``event``): encode its message once and offer it to all."""
        self.state = state
        if self.public_from is None and isinstance(event, StoryPublished):
            self.public_from = state.version
        update_id = update_id_of(event)
        if isinstance(event, UpdateRedacted):
            self.redact(state, event.update_id)
        # A submission's or a scheduled item's event is the newsroom's: sessions of readers
        # skip it; staff get its message (which names the event, never the queued text).
        kind = NEWSROOM if is_internal(event) or event.type in SCHEDULING_EVENTS else "event"
        frame = Frame(state.version, kind, messages.event(state, event), update_id)
        self.recent.append(frame)
        if live:
            self.offer(frame)

    def redact(self, state: StoryState, update_id: str) -> None:
        """``update_id`` was redacted (``state`` is the story just after): re-encode every
        message held about it, here and in each reader's backlog and queue, with the update
        as that message had it, redacted (:func:`~liveblog.projections.views.redacted_view`:
        its revision and flags of the time, its text gone, its tombstone), as the past read
        model has it; so that its text is served to nobody from now on."""
        redacted = state.updates.get(update_id)
        if redacted is None or redacted.redaction is None:
            return
        tombstone = views.redaction_view(redacted)
        # Encode once, send many, here too: each message is re-encoded once, and the same
        # new frame goes to the replay and to every reader's queue that held the old one.
        done: dict[int, Frame] = {}

        def rewrite(frame: Frame) -> Frame:
            if frame.version not in done:
                text = messages.redacted(frame.text, tombstone)
                done[frame.version] = Frame(frame.version, frame.kind, text, frame.update_id)
            return done[frame.version]

        self.recent = deque(
            (rewrite(frame) if frame.update_id == update_id else frame for frame in self.recent),
            maxlen=REPLAY,
        )
        for subscriber in self.subscribers:
            subscriber.rewrite(update_id, rewrite)

    def offer(self, frame: Frame) -> None:
        self.quiet_since = time.monotonic()
        for subscriber in self.subscribers:
            subscriber.offer(frame)

    def beat(self, heartbeat_every: float) -> None:
        """Offer the readers a heartbeat if they have had nothing for ``heartbeat_every`` s."""
        if self.subscribers and time.monotonic() - self.quiet_since >= heartbeat_every:
            self.offer(Frame(self.version, "heartbeat", messages.heartbeat(self.version)))


class Hub:
    """Every live story of this process."""

    def __init__(
        self,
        application: Application,
        *,
        sweep_every: float = 2.0,
        heartbeat_every: float = HEARTBEAT_SECONDS,
        queue_bytes: int = QUEUE_BYTES,
    ) -> None:
        """Readers get a heartbeat after ``heartbeat_every`` s of quiet, give or take a sweep."""
        self.application = application
        self.sweep_every = sweep_every
        self.heartbeat_every = heartbeat_every
        self.queue_bytes = queue_bytes
        self._channels: dict[str, Channel] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._committed = asyncio.Event()

    async def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep())

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper

    def committed(self) -> asyncio.Event:
        """An event set at the next wake-up of any story (a commit here or, through the bus,
        anywhere): followers of the change feed wait on it instead of polling. Take it
        before reading, so a commit between the read and the wait is not missed."""
        return self._committed

    def _signal_commit(self) -> None:
        self._committed.set()
        self._committed = asyncio.Event()

    def wake(self, story: str, version: int) -> None:
        """A story reached ``version`` somewhere: catch up if anyone here is reading it."""
        self._signal_commit()
        channel = self._channels.get(story)
        if channel is not None and channel.subscribers and version > channel.version:
            asyncio.get_running_loop().create_task(self.catch_up(channel))

    def wake_all(self) -> None:
        """Catch up every active story (after a bus outage, when wake-ups may have been lost)."""
        self._signal_commit()
        for channel in list(self._channels.values()):
            if channel.subscribers:
                asyncio.get_running_loop().create_task(self.catch_up(channel))

    async def subscribe(self, story: str, after: int) -> Subscription:
        """Register a reader who has seen up to ``after``: its queue, the story's current
        version, and the messages owed to it (or a single ``reset``) in order."""
        channel = self._channels.setdefault(story, Channel(story))
        async with channel.lock:
            # A channel with readers is kept current by wake-ups and the sweep; the store is
            # read only for a channel that may be stale, or for a reader ahead of it. This
            # keeps a reconnect storm from reading the database once per reader.
            if channel.state is None or not channel.subscribers or after > channel.version:
                await self._read_new(channel)
            subscriber = Subscriber(self.queue_bytes)
            current = channel.version
            oldest = channel.recent[0].version if channel.recent else current + 1
            if after > current or (after < current and after < oldest - 1):
                backlog = [Frame(current, "reset", messages.reset(current))]
            else:
                backlog = [frame for frame in channel.recent if frame.version > after]
            # The same list: a redaction before the reader has been served it rewrites it.
            subscriber.backlog = backlog
            channel.subscribers.add(subscriber)
        return Subscription(subscriber, current, backlog, channel.public_from)

    def unsubscribe(self, story: str, subscriber: Subscriber) -> None:
        channel = self._channels.get(story)
        if channel is not None:
            channel.subscribers.discard(subscriber)

    def status(self, story: str) -> StoryStatus | None:
        """``story``'s status as this hub last read it (``None``: it holds no state of it).
        A story that this hub holds exists, and a story leaves DRAFT once and never goes
        back: a status past DRAFT stays true however stale the channel is, so admitting a
        reader on it needs no read of the store (:func:`liveblog.api.stories.ensure_live_readable`)."""
        channel = self._channels.get(story)
        return None if channel is None or channel.state is None else channel.state.status

    def reader_count(self) -> int:
        return sum(len(channel.subscribers) for channel in self._channels.values())

    async def catch_up(self, channel: Channel) -> None:
        async with channel.lock:
            await self._read_new(channel)

    async def _read_new(self, channel: Channel) -> None:
        """Read the events after what ``channel`` has, encode each once, offer it to all."""
        async with self.application.database.read() as connection:
            if channel.state is None:
                await self._prime(channel, connection)
            new = await event_store.read_stream(connection, channel.slug, after=channel.version)
        for recorded in new:
            event = decode(recorded)
            state = evolve(channel.state, event)
            if state is not None:
                channel.publish(state, event)

    async def _prime(self, channel: Channel, connection: AsyncConnection) -> None:
        """Start a channel ``REPLAY`` events back, so recent readers can be caught up."""
        current = await event_store.stream_version(connection, channel.slug)
        start = max(current - REPLAY, 0)
        channel.state = await self.application.load_at(connection, channel.slug, start) if start else None
        if channel.state is not None and channel.state.status is not StoryStatus.DRAFT:
            # Published before the window: readers behind ``start`` are reset anyway.
            channel.public_from = start
        for recorded in await event_store.read_stream(connection, channel.slug, after=start, until=current):
            event = decode(recorded)
            state = evolve(channel.state, event)
            if state is not None:
                channel.publish(state, event, live=False)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            active = [channel for channel in list(self._channels.values()) if channel.subscribers]
            await asyncio.gather(*(self.catch_up(channel) for channel in active), return_exceptions=True)
            for channel in active:
                channel.beat(self.heartbeat_every)
