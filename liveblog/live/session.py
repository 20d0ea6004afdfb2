"""One live session (API.md "Live delivery"), written once for every transport.

A :class:`LiveSession` is one reader's subscription to one story, as a stream of typed frames:
a :class:`Hello`; then the backlog the reader is owed as :class:`Event` frames, or a
:class:`Reset`; then live :class:`Event` and :class:`Heartbeat` frames; and last a
:class:`Close` saying why the session ended (a reset, a queue that overflowed, a token that
lapsed). The WebSocket and Server-Sent Events endpoints (:mod:`liveblog.api.live`) only encode
and write these frames; everything that decides what a reader gets is here.

"Encode once, send many": an :class:`Event` or :class:`Heartbeat` carries the hub's own encoded
text, the same string object for every reader of the story; nothing here encodes per reader.

A transport whose writes can stall behind a reader who stopped reading (the WebSocket) also
awaits :meth:`LiveSession.interrupted` beside its writes: an overflow or a lapsed token then
ends the session even while a write is stuck. Both paths share one watcher, so a token is
re-checked once per :data:`RECHECK_SECONDS`, whichever path asks.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import assert_never

from liveblog.errors import BadRequest, LiveblogError, NotFound, RateLimited, Unauthenticated
from liveblog.live import messages
from liveblog.live.hub import NEWSROOM, Frame, Hub, Overflow, Subscription

CLOSE_NORMAL = 1000
CLOSE_TOO_SLOW = 4008
CLOSE_UNAUTHENTICATED = 4401
TOO_SLOW = "too slow: reconnect with after=<the last version you received>"
RESET = "reset: reload the story and reconnect"
CLOSE_CODES: dict[type[LiveblogError], int] = {
    Unauthenticated: CLOSE_UNAUTHENTICATED,
    NotFound: 4404,
    BadRequest: 4400,
    RateLimited: 4429,
}
RECHECK_SECONDS = 2.0
NO_DRAFT_PERIOD = 2
"""A story published at version 2 had no draft period: its opening (version 1) carries the
headline and summary it was published with, and nothing came between. Readers may be
replayed it from 0, as before."""

Recheck = Callable[[], Awaitable[str | None]]
"""Re-checks a reader's authorisation: ``None`` while it holds, else why it lapsed."""


@dataclass(frozen=True, slots=True)
class Hello:
    """The first frame: the story and its version when the reader subscribed."""

    version: int
    text: str


@dataclass(frozen=True, slots=True)
class Event:
    """One story event; ``text`` is the hub's encoding, shared by all of the story's readers."""

    version: int
    text: str


@dataclass(frozen=True, slots=True)
class Reset:
    """The reader cannot be served from its ``after``: reload the story, reconnect from ``version``."""

    version: int
    text: str


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Nothing happened for a while; ``text`` is the hub's encoding, as for :class:`Event`."""

    version: int
    text: str


@dataclass(frozen=True, slots=True)
class Close:
    """The session is over: the WebSocket close ``code`` and ``reason`` (SSE just ends)."""

    code: int
    reason: str


LiveFrame = Hello | Event | Reset | Heartbeat | Close


class LiveSession:
    """One reader's subscription to ``story``, from the version ``after`` it already has.

    Readers (``drafts`` false) are never shown the story's draft period: one whose ``after``
    is below the publication version gets a :class:`Reset` to the current version instead of
    a backlog, so no message at or before the publication reaches it (docs/live-drafts.md),
    unless the story had no draft period (:data:`NO_DRAFT_PERIOD`).
    The newsroom (``drafts`` true) is served the whole log.

    It owns its hub subscription from :meth:`open` on; :meth:`close` gives it back (and must
    be called, whatever happened). ``recheck``, if given, is called every
    :data:`RECHECK_SECONDS` while the session lasts; once it names a reason, the session
    closes with 4401 and delivers nothing more.
    """

    def __init__(
        self,
        hub: Hub,
        story: str,
        subscription: Subscription,
        *,
        after: int,
        drafts: bool = False,
        recheck: Recheck | None = None,
        recheck_every: float = RECHECK_SECONDS,
    ) -> None:
        self.hub = hub
        self.story = story
        self.subscription = subscription
        self.after = after
        self.drafts = drafts
        self._recheck = recheck
        self._recheck_every = recheck_every
        self._watcher: asyncio.Task[Close] | None = None

    @classmethod
    async def open(
        cls, hub: Hub, story: str, *, after: int, drafts: bool = False, recheck: Recheck | None = None
    ) -> LiveSession:
        """Subscribe to ``story`` on ``hub`` for a reader who has every version up to ``after``."""
        subscription = await hub.subscribe(story, after)
        return cls(hub, story, subscription, after=after, drafts=drafts, recheck=recheck)

    def close(self) -> None:
        """Give back the subscription and stop watching (idempotent)."""
        if self._watcher is not None:
            self._watcher.cancel()
        self.hub.unsubscribe(self.story, self.subscription.subscriber)

    def __aiter__(self) -> AsyncIterator[LiveFrame]:
        return self.frames()

    def opening(self) -> list[LiveFrame]:
        """The frames owed at once, without waiting: the :class:`Hello`, then the backlog as
        :class:`Event` frames, or a :class:`Reset` and its :class:`Close`. A transport that
        holds no connection itself (the GRIP tier) sends these and leaves the rest to the
        proxy; :meth:`frames` starts with them."""
        subscription = self.subscription
        current = subscription.current
        owed: list[LiveFrame] = [Hello(current, messages.hello(self.story, current))]
        public_from = subscription.public_from
        if not self.drafts and (
            public_from is None or (self.after < public_from and public_from > NO_DRAFT_PERIOD)
        ):
            # A reader behind the publication would be owed the draft period (headlines and
            # text removed before anyone could read them). It cannot hold such a version
            # anyway: it reloads the published story and follows on from there.
            return [*owed, Reset(current, messages.reset(current)), Close(CLOSE_NORMAL, RESET)]
        for frame in subscription.backlog:
            if frame.kind == NEWSROOM and not self.drafts:
                continue  # a submission's or a scheduled item's: readers never learn of it
            if frame.kind == "reset":
                return [*owed, Reset(frame.version, frame.text), Close(CLOSE_NORMAL, RESET)]
            owed.append(Event(frame.version, frame.text))
        return owed

    async def frames(self) -> AsyncGenerator[LiveFrame, None]:
        """Every frame of the session, in order; the last one is always a :class:`Close`."""
        for owed in self.opening():
            yield owed
            if isinstance(owed, Close):
                return
        # Served: nothing of it is left for a redaction to rewrite (docs/redaction.md).
        self.subscription.subscriber.backlog = []
        while True:
            frame = await self._next()
            if isinstance(frame, Close):
                yield frame
                return
            if frame.kind == NEWSROOM and not self.drafts:
                continue
            yield _live(frame)

    async def interrupted(self) -> Close:
        """Return once the session must end whatever its writer is doing: its queue overflowed
        (4008) or its token lapsed (4401). For transports whose writes can stall."""
        return await asyncio.shield(self._watching())

    def _watching(self) -> asyncio.Task[Close]:
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        return self._watcher

    async def _watch(self) -> Close:
        overflow = self.subscription.subscriber.overflow
        if self._recheck is None:
            await overflow.wait()
            return Close(CLOSE_TOO_SLOW, TOO_SLOW)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._recheck_every):
                    await overflow.wait()
            if overflow.is_set():
                return Close(CLOSE_TOO_SLOW, TOO_SLOW)
            lapsed = await self._recheck()
            if lapsed is not None:
                return Close(CLOSE_UNAUTHENTICATED, lapsed)

    async def _next(self) -> Frame | Close:
        """The next frame of the reader's queue, or the close that comes first."""
        subscriber = self.subscription.subscriber
        if self._recheck is None:
            # Readers without a token (nearly all of them) wait on their queue alone: an
            # overflow wakes it too, and nothing else can end the session from here.
            try:
                frame = await subscriber.next()
            except Overflow:
                return Close(CLOSE_TOO_SLOW, TOO_SLOW)
            assert frame is not None  # no timeout: next() waits for a frame
            return frame
        watcher = self._watching()
        if watcher.done():
            return watcher.result()
        waiting = asyncio.ensure_future(subscriber.next())
        try:
            await asyncio.wait((waiting, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
        if watcher.done():
            # A lapsed token wins over a frame that arrived at the same moment: nothing more
            # goes to a token that is no longer valid.
            if waiting.done() and not waiting.cancelled():
                waiting.exception()  # retrieved, so asyncio does not log an Overflow
            return watcher.result()
        try:
            frame = waiting.result()
        except Overflow:
            return Close(CLOSE_TOO_SLOW, TOO_SLOW)
        assert frame is not None
        return frame


def close_code_for(error: LiveblogError) -> int:
    """The WebSocket close code that says ``error`` (4400 for any other)."""
    return next((code for kind, code in CLOSE_CODES.items() if isinstance(error, kind)), 4400)


def sse(frame: LiveFrame) -> str | None:
    """``frame`` as a Server-Sent Event (``id:`` for events only, so ``Last-Event-ID`` is
    always a story version); ``None`` for a :class:`Close`, which SSE says by ending."""
    match frame:
        case Event():
            return f"id: {frame.version}\nevent: event\ndata: {frame.text}\n\n"
        case Hello():
            return f"event: hello\ndata: {frame.text}\n\n"
        case Reset():
            return f"event: reset\ndata: {frame.text}\n\n"
        case Heartbeat():
            return f"event: heartbeat\ndata: {frame.text}\n\n"
        case Close():
            return None
        case _:
            assert_never(frame)


def _live(frame: Frame) -> Event | Heartbeat:
    """The typed frame for a message the hub queued (only events and heartbeats are queued)."""
    if frame.kind in ("event", NEWSROOM):
        return Event(frame.version, frame.text)
    if frame.kind == "heartbeat":
        return Heartbeat(frame.version, frame.text)
    raise ValueError(f"the hub queued a {frame.kind!r} message")
