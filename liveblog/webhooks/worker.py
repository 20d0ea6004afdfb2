"""The delivery worker: one background task per server process, one delivery loop per
endpoint across all of them.

* **Off the write path.** The :class:`Dispatcher` is started with the app's services and
  runs beside them. A commit only calls :meth:`Dispatcher.wake` (sets events, no I/O); the
  workers then read the change feed themselves. A lost wake-up costs latency, never an
  event: each worker also polls every ``LIVEBLOG_WEBHOOK_POLL_SECONDS``.
* **One worker per endpoint.** On PostgreSQL the dispatcher holds, on a dedicated
  connection (application name ``liveblog-webhooks <pid>``), a session advisory lock per endpoint
  it delivers to (``pg_try_advisory_lock``); other processes skip an endpoint whose lock is
  taken, and pick it up when its holder stops or dies (the server releases a dead
  session's locks). When that connection is lost, every worker of the process stops before
  its next attempt, and the locks are tried again after reconnecting. SQLite serves from
  one process, whose dispatcher is the only one.
* **In order, at least once.** An endpoint's deliveries are strictly sequential in feed
  order (so in order per story); the endpoint's cursor moves past an event only once the
  receiver accepted it (2xx) or the filters skip it. A crash between the receiver's 2xx and
  the cursor's update resends that one event (same ``webhook-id``).
* **Retries and pause.** A failed attempt counts one more consecutive failure and waits
  :meth:`RetryPolicy.delay` (exponential, with jitter); at ``LIVEBLOG_WEBHOOK_MAX_FAILURES``
  the endpoint is paused with the reason. Resuming it starts again from the cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from liveblog.domain.values import rfc3339
from liveblog.errors import LiveblogError
from liveblog.store import webhooks as store
from liveblog.store.database import Database
from liveblog.webhooks import policy
from liveblog.webhooks.policy import RetryPolicy
from liveblog.webhooks.sender import Outcome, Sender
from liveblog.webhooks.source import FeedEntry, FeedSource

log = logging.getLogger("liveblog.webhooks")
APPLICATION_NAME = "liveblog-webhooks"
LOCK_CLASS = 0x6C62_7768  # "lbwh": the first key of every endpoint's advisory lock
BATCH = 100
HELD_BACK_POLL = 0.05  # seconds


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    retry: RetryPolicy
    timeout_seconds: float
    allow_private: bool
    poll_seconds: float


def lock_key(endpoint_id: str) -> int:
    """The second key of ``endpoint_id``'s advisory lock (a signed 32-bit int). Two
    endpoints that share one are merely delivered by the same process."""
    value = zlib.crc32(endpoint_id.encode())
    return value - (1 << 32) if value >= 1 << 31 else value


class Leases:
    """Which endpoints this process may deliver to: every one on SQLite; on PostgreSQL
    those whose advisory lock it holds on its dedicated connection."""

    def __init__(self, dsn: str | None) -> None:
        self.dsn = dsn
        self.connection: asyncpg.Connection | None = None
        self.held: set[str] = set()

    async def healthy(self) -> bool:
        """Whether the held leases still hold (reconnecting, with none held, if not)."""
        if self.dsn is None:
            return True
        try:
            if self.connection is None or self.connection.is_closed():
                self.held.clear()
                # The process id in the name tells operators (and tests) which server holds what.
                self.connection = await asyncpg.connect(
                    self.dsn,
                    timeout=10,
                    server_settings={"application_name": f"{APPLICATION_NAME} {os.getpid()}"},
                )
                return False
            await self.connection.execute("SELECT 1", timeout=5)
            return True
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("the webhook lease connection is unusable (%s); reconnecting", exc)
            if self.connection is not None:
                self.connection.terminate()
            self.connection = None
            self.held.clear()
            return False

    async def acquire(self, endpoint_id: str) -> bool:
        if self.dsn is None:
            self.held.add(endpoint_id)
            return True
        if self.connection is None:
            return False
        taken = await self.connection.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", LOCK_CLASS, lock_key(endpoint_id), timeout=5
        )
        if taken:
            self.held.add(endpoint_id)
        return bool(taken)

    async def release(self, endpoint_id: str) -> None:
        if endpoint_id not in self.held:
            return
        self.held.discard(endpoint_id)
        if self.connection is not None and not self.connection.is_closed():
            await self.connection.execute(
                "SELECT pg_advisory_unlock($1, $2)", LOCK_CLASS, lock_key(endpoint_id), timeout=5
            )

    async def close(self) -> None:
        self.held.clear()
        if self.connection is not None and not self.connection.is_closed():
            await self.connection.close()
        self.connection = None


class Dispatcher:
    """Starts and stops a delivery loop for each active endpoint this process leases."""

    def __init__(
        self,
        database: Database,
        source: FeedSource,
        config: WorkerConfig,
        *,
        clock: Callable[[], datetime],
        sender_factory: Callable[[], Sender] | None = None,
    ) -> None:
        self.database = database
        self.source = source
        self.config = config
        self.clock = clock
        self.sender_factory = sender_factory or (
            lambda: Sender(timeout=config.timeout_seconds, allow_private=config.allow_private)
        )
        dsn = (
            None
            if database.is_sqlite
            else database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        self.leases = Leases(dsn)
        self._workers: dict[str, tuple[asyncio.Task[None], asyncio.Event]] = {}
        self._refresh = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # The shell's hooks -------------------------------------------------------------

    def wake(self, _story: str | None = None, _version: int | None = None) -> None:
        """New events may be in the feed: every worker of this process looks. No I/O."""
        for _task, event in self._workers.values():
            event.set()

    def refresh(self) -> None:
        """Endpoints were added, resumed, paused or removed: look at the list again now."""
        self._refresh.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="webhook-dispatcher")

    async def stop(self) -> None:
        tasks = [task for task, _event in self._workers.values()]
        if self._task is not None:
            tasks.append(self._task)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._workers.clear()
        await self.leases.close()

    # The dispatcher's loop -------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._reconcile()
            except (LiveblogError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("webhook dispatcher: %s", exc)
            except Exception:  # whatever went wrong, deliveries must live on
                log.exception("webhook dispatcher: unexpected error")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._refresh.wait(), self.config.poll_seconds)
            self._refresh.clear()

    async def _reconcile(self) -> None:
        """Start a worker for each active endpoint this process can lease; forget finished ones."""
        for endpoint_id, (task, _event) in list(self._workers.items()):
            if task.done():
                del self._workers[endpoint_id]
                await self.leases.release(endpoint_id)
        if not await self.leases.healthy():
            # The locks went with the connection: no worker of this process may go on.
            await self._stop_workers()
            if not await self.leases.healthy():
                return
        async with self.database.read() as connection:
            active = await store.active_ids(connection)
        for endpoint_id in active:
            if endpoint_id not in self._workers and await self.leases.acquire(endpoint_id):
                event = asyncio.Event()
                event.set()
                task = asyncio.create_task(
                    self._deliver_loop(endpoint_id, event), name=f"webhook-{endpoint_id}"
                )
                self._workers[endpoint_id] = (task, event)

    async def _stop_workers(self) -> None:
        workers, self._workers = self._workers, {}
        for task, _event in workers.values():
            task.cancel()
        for task, _event in workers.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # One endpoint ----------------------------------------------------------------------

    async def _deliver_loop(self, endpoint_id: str, wake: asyncio.Event) -> None:
        sender = self.sender_factory()
        try:
            while endpoint_id in self.leases.held:
                try:
                    if not await self._one_pass(endpoint_id, wake, sender):
                        return
                except (LiveblogError, OSError) as exc:
                    log.warning("webhook %s: %s; trying again shortly", endpoint_id, exc)
                    await asyncio.sleep(self.config.poll_seconds)
                except Exception:  # one endpoint's trouble must not end its deliveries
                    log.exception("webhook %s: unexpected error; trying again shortly", endpoint_id)
                    await asyncio.sleep(self.config.poll_seconds)
        finally:
            await sender.aclose()
            self.refresh()  # the dispatcher releases the lease

    async def _one_pass(self, endpoint_id: str, wake: asyncio.Event, sender: Sender) -> bool:
        """Deliver what the feed has after the endpoint's cursor, or wait for more.
        ``False`` once the endpoint is gone or paused (the worker then ends)."""
        async with self.database.read() as connection:
            endpoint = await store.get(connection, endpoint_id)
        if endpoint is None or endpoint.status is not store.Status.ACTIVE:
            return False
        wake.clear()
        page = await self.source.read(endpoint.cursor, BATCH)
        if not page.entries and page.cursor == (endpoint.cursor or page.cursor):
            # Caught up. An older transaction still open holds events back below the
            # horizon: look again soon rather than wait for a wake-up that came already.
            wait = HELD_BACK_POLL if page.held_back else self.config.poll_seconds
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)
            return True
        for entry in page.entries:
            if not endpoint.wants(entry.story, entry.type):
                continue  # the cursor moves past it with the next delivery or below
            delivered = await self._deliver(endpoint, entry, sender)
            if delivered is None:
                return False
            endpoint = delivered
        if page.cursor != endpoint.cursor:
            # Past what the filters skipped and what the feed hides from readers.
            async with store.transaction(self.database) as connection:
                await store.advance(connection, endpoint_id, page.cursor)
        return True

    async def _deliver(
        self, endpoint: store.Endpoint, entry: FeedEntry, sender: Sender
    ) -> store.Endpoint | None:
        """Send ``entry`` until the receiver accepts it; the endpoint as it then is, or
        ``None`` if it was paused or removed first (or this process lost its lease)."""
        message_id = policy.message_id(entry.story, entry.version)
        while True:
            if endpoint.id not in self.leases.held:
                return None
            at = self.clock()
            body = policy.encode(policy.payload(entry.item, entry.cursor, rfc3339(at) or ""))
            outcome: Outcome = await sender.send(endpoint.url, endpoint.secret, message_id, body, at=at)
            async with store.transaction(self.database) as connection:
                if outcome.ok:
                    await store.record_success(connection, endpoint.id, entry.cursor, now=at)
                    current = await store.get(connection, endpoint.id)
                    return current if current is not None and current.status is store.Status.ACTIVE else None
                current = await store.record_failure(
                    connection,
                    endpoint.id,
                    outcome.error or "failed",
                    pause_after=self.config.retry.max_failures,
                    now=at,
                )
            if current is None or current.status is not store.Status.ACTIVE:
                if current is not None:
                    log.warning("webhook %s paused: %s", endpoint.id, current.paused_reason)
                return None
            await asyncio.sleep(self.config.retry.delay(current.failures))
            async with self.database.read() as connection:
                refreshed = await store.get(connection, endpoint.id)  # rotated secret, paused...
            if refreshed is None or refreshed.status is not store.Status.ACTIVE:
                return None
            endpoint = refreshed
