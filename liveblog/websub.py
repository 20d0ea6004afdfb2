"""WebSub publishing: tell the hub (``LIVEBLOG_WEBSUB_HUB_URL``) that feeds changed.

When a story that readers can see changes, its two feeds and the two feeds of every story
(``/feed.atom``, ``/feed.json``, under ``LIVEBLOG_PUBLIC_URL``: the URLs the feeds name as
``self``, so the topics subscribers know) are announced to the hub with the usual publish
ping, one ``POST`` per topic: ``hub.mode=publish&hub.url=<topic>``
(form-encoded). The hub then fetches the feed and pushes it to its subscribers.

Never on the write's critical path: :meth:`HubPinger.wake` (the application's ``on_commit``)
only notes the story and sets an event; a background task does the rest. Changes that come
while it works are merged into its next round, so a burst of posts is one ping per topic. A
ping that fails (an error status, no answer in time, no connection) is retried with
exponential backoff up to ``attempts`` times, then given up with a warning: the next
change pings again, and the hub's subscribers also poll. A draft story is never announced
(its feeds are 404). Self-contained on purpose: outbound webhooks (issue #14) are separate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import httpx

from liveblog.domain.values import StoryStatus
from liveblog.projections import story_view
from liveblog.store.database import Database

log = logging.getLogger("liveblog.websub")


class HubPinger:
    """Pings ``hub_url`` about the feeds under ``public_url``; see the module docstring."""

    def __init__(
        self,
        hub_url: str,
        public_url: str,
        database: Database,
        *,
        attempts: int = 6,
        first_delay: float = 1.0,
        max_delay: float = 60.0,
        timeout: float = 10.0,
    ) -> None:
        self.hub_url = hub_url
        self.public_url = public_url.rstrip("/")
        self.database = database
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self._pending: set[str] = set()
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.delivered: list[str] = []
        """The topics pinged successfully, in order (the last 100; for tests and logs)."""

    def wake(self, story: str, version: int) -> None:
        """Story ``story`` reached ``version``: announce its feeds soon. Returns at once."""
        self._pending.add(story)
        self._woken.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="websub-pinger")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def topics(self, slugs: list[str]) -> list[str]:
        """The feed URLs that change when stories ``slugs`` (visible to readers) change."""
        found = [
            f"{self.public_url}/stories/{slug}/feed.{kind}"
            for slug in sorted(slugs)
            for kind in ("atom", "json")
        ]
        if found:
            found += [f"{self.public_url}/feed.atom", f"{self.public_url}/feed.json"]
        return found

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            while True:
                await self._woken.wait()
                self._woken.clear()
                stories, self._pending = self._pending, set()
                try:
                    visible = await self._visible(stories)
                except Exception:  # the database is down: try these again with the next change
                    log.warning("websub: could not read stories %s", sorted(stories), exc_info=True)
                    self._pending |= stories
                    continue
                for topic in self.topics(visible):
                    await self._ping(client, topic)

    async def _visible(self, stories: set[str]) -> list[str]:
        visible = []
        async with self.database.read() as connection:
            for slug in stories:
                header = await story_view.read_header(connection, slug)
                if header is not None and header["status"] != StoryStatus.DRAFT.value:
                    visible.append(slug)
        return visible

    async def _ping(self, client: httpx.AsyncClient, topic: str) -> None:
        delay = self.first_delay
        for attempt in range(1, self.attempts + 1):
            try:
                response = await client.post(self.hub_url, data={"hub.mode": "publish", "hub.url": topic})
                if 200 <= response.status_code < 300:
                    self.delivered = [*self.delivered[-99:], topic]
                    return
                failure = f"status {response.status_code}"
            except httpx.HTTPError as error:
                failure = f"{type(error).__name__}: {error}"
            if attempt == self.attempts:
                log.warning(
                    "websub: gave up pinging %s about %s after %d attempts (%s)",
                    self.hub_url,
                    topic,
                    attempt,
                    failure,
                )
                return
            await asyncio.sleep(delay)
            delay = min(self.max_delay, delay * 2)
