"""Publishing to the GRIP tier (``LIVEBLOG_LIVE_TIER=grip``; the protocol: :mod:`liveblog.live.grip`).

Each commit's events are published by the process that committed them (the application's
``on_recorded``), once to each endpoint of ``LIVEBLOG_GRIP_PUBLISH_URLS`` (``POST
<url>publish/``, Pushpin's and Fanout's HTTP publish API). Other processes, woken by the bus,
publish nothing: every event is published once, whichever process wrote it.

Never on the write's critical path: :meth:`GripPublisher.recorded` only queues the events; one
background task encodes and publishes them in commit order (the message of each event is
encoded once, as the hub does: :func:`liveblog.live.messages.event`, then
:func:`~liveblog.live.session.sse`), so a process's events reach the proxy in order. A publish
that fails (an error status, no answer, no connection) is retried with exponential backoff up
to ``attempts`` times. One given up is not lost for held streams (the proxy sees the next
message's ``prev-id`` does not follow and recovers from the origin), and WebSocket readers of
that story are closed (4008) by the next publish that gets through, so they resume with
``after`` (the limits that remain: docs/deploy.md).

The publisher also ends the connections of tokens that lapse: :meth:`watch` notes the token
of each connection this process admitted; every ``recheck_every`` seconds each noted token is
checked, and a close is published to ``token:<id>`` once it is revoked or expired.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import httpx

from liveblog.application import Application, decode
from liveblog.domain import StoryState, evolve
from liveblog.domain.events import SCHEDULING_EVENTS, StoryPublished, is_internal
from liveblog.domain.values import StoryStatus
from liveblog.live import grip, messages
from liveblog.live.session import CLOSE_TOO_SLOW, CLOSE_UNAUTHENTICATED, RECHECK_SECONDS, TOO_SLOW, Event, sse
from liveblog.store import tokens
from liveblog.store.event_store import RecordedEvent

log = logging.getLogger("liveblog.grip")
STATES = 256


class GripPublisher:
    """Publishes this process's events and token closes to ``urls``; see the module docstring."""

    def __init__(
        self,
        urls: list[str],
        application: Application,
        *,
        attempts: int = 6,
        first_delay: float = 0.2,
        max_delay: float = 10.0,
        timeout: float = 10.0,
        recheck_every: float = RECHECK_SECONDS,
        token: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.urls = [url if url.endswith("/") else url + "/" for url in urls]
        self.application = application
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.recheck_every = recheck_every
        self._headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        self.clock = clock or application.clock
        self._queue: asyncio.Queue[list[dict[str, Any]] | Sequence[RecordedEvent]] = asyncio.Queue()
        self._states: OrderedDict[str, StoryState] = OrderedDict()
        self._gaps: set[tuple[str, str]] = set()
        """(url, story): a publish to ``url`` about ``story`` was given up; its WebSocket
        readers are closed before the next one."""
        self._tokens: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self.published = 0
        """Publish requests the tier acknowledged (for tests and logs)."""

    # ------------------------------------------------------------------ the hooks

    def recorded(self, events: Sequence[RecordedEvent]) -> None:
        """A commit here appended ``events`` (one story, in order): publish them soon."""
        self._queue.put_nowait(events)

    def watch(self, token_id: str) -> None:
        """A connection was admitted with token ``token_id``: close it when the token lapses."""
        self._tokens.add(token_id)

    def close_token(self, token_id: str, reason: str) -> None:
        """End every connection opened with token ``token_id``, held by any proxy."""
        self._queue.put_nowait([grip.close_item(grip.token_channel(token_id), CLOSE_UNAUTHENTICATED, reason)])

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._run(), name="grip-publisher"),
            asyncio.create_task(self._recheck(), name="grip-tokens"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def drained(self) -> None:
        """Wait until everything queued so far has been published or given up (for tests)."""
        await self._queue.join()

    # ------------------------------------------------------------------ encoding

    async def items(self, events: Sequence[RecordedEvent]) -> tuple[str, list[dict[str, Any]]]:
        """The story of ``events`` and the publish items for them: each event on the
        newsroom channel, and on the readers' channel once the story is published."""
        slug = events[0].stream
        state = self._states.pop(slug, None)
        if state is None or state.version != events[0].version - 1:
            async with self.application.database.read() as connection:
                state = await self.application.load_at(connection, slug, events[0].version - 1)
        items: list[dict[str, Any]] = []
        for recorded in events:
            event = decode(recorded)
            after = evolve(state, event)
            if after is None:
                continue
            state = after
            text = messages.event(state, event)
            frame = sse(Event(state.version, text))
            assert frame is not None
            items.append(
                grip.event_item(grip.story_channel(slug, newsroom=True), state.version, sse=frame, ws=text)
            )
            if state.status is not StoryStatus.DRAFT and not isinstance(event, StoryPublished):
                # Never the draft period, nor the publication itself (docs/live-drafts.md):
                # readers' streams start at or after it.
                # A submission's or a scheduled item's event is the newsroom's: readers get
                # the id chain only.
                newsroom_only = is_internal(event) or event.type in SCHEDULING_EVENTS
                items.append(
                    grip.event_item(
                        grip.story_channel(slug, newsroom=False),
                        state.version,
                        sse=grip.QUIET_SSE if newsroom_only else frame,
                        ws=None if newsroom_only else text,
                    )
                )
        if state is not None:
            self._states[slug] = state
            while len(self._states) > STATES:
                self._states.popitem(last=False)
        return slug, items

    # ------------------------------------------------------------------ the tasks

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, headers=self._headers) as client:
            while True:
                work = await self._queue.get()
                try:
                    await self._publish_work(client, work)
                except Exception:
                    log.warning("grip: could not publish", exc_info=True)
                finally:
                    self._queue.task_done()

    async def _publish_work(
        self, client: httpx.AsyncClient, work: list[dict[str, Any]] | Sequence[RecordedEvent]
    ) -> None:
        if work and isinstance(work[0], RecordedEvent):
            slug, items = await self.items(work)  # type: ignore[arg-type]
        else:
            slug, items = "", list(work)  # type: ignore[arg-type]
        if not items:
            return
        for url in self.urls:
            if slug and (url, slug) in self._gaps:
                closes = [
                    grip.close_item(
                        grip.story_channel(slug, newsroom=newsroom), CLOSE_TOO_SLOW, TOO_SLOW, streams=False
                    )
                    for newsroom in (False, True)
                ]
                if not await self._post(client, url, closes):
                    continue
                self._gaps.discard((url, slug))
            if not await self._post(client, url, items) and slug:
                self._gaps.add((url, slug))

    async def _post(self, client: httpx.AsyncClient, url: str, items: list[dict[str, Any]]) -> bool:
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                response = await client.post(url + "publish/", json={"items": items})
                if 200 <= response.status_code < 300:
                    self.published += 1
                    return True
                failure = f"status {response.status_code}"
            except httpx.HTTPError as error:
                failure = f"{type(error).__name__}: {error}"
            if attempt == self.attempts:
                log.warning("grip: gave up publishing to %s after %d attempts (%s)", url, attempt, failure)
                return False
            await asyncio.sleep(delay)
            delay = min(self.max_delay, delay * 2)
        return False  # pragma: no cover (the loop returns)

    async def _recheck(self) -> None:
        while True:
            await asyncio.sleep(self.recheck_every)
            if not self._tokens:
                continue
            try:
                async with self.application.database.read() as connection:
                    lapsed = {
                        token_id: reason
                        for token_id in list(self._tokens)
                        if (reason := await tokens.refusal_by_id(connection, token_id, now=self.clock()))
                        is not None
                    }
            except Exception:
                log.warning("grip: could not re-check tokens", exc_info=True)
                continue
            for token_id, reason in lapsed.items():
                self._tokens.discard(token_id)
                self.close_token(token_id, reason)
