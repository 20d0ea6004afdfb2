"""The bus between server processes: PostgreSQL LISTEN/NOTIFY carrying ``"<story> <version>"``.

Appends on PostgreSQL send ``NOTIFY liveblog_events`` inside their own transaction, so a
notification goes out exactly when the events commit (see :mod:`liveblog.store.event_store`).
Each process listens on a dedicated connection outside the pool. When that connection drops,
the listener reconnects with backoff and then asks the hub to catch up every active story,
because notifications sent while it was away are gone. SQLite needs no bus: it runs one
process, whose own commits wake its hub directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable

import asyncpg

from liveblog.store.event_store import NOTIFY_CHANNEL

log = logging.getLogger("liveblog.live")
APPLICATION_NAME = "liveblog-listener"  # how operators (and tests) find the LISTEN connections


def parse(payload: str) -> tuple[str, int] | None:
    story, _, version = payload.rpartition(" ")
    return (story, int(version)) if story and version.isdigit() else None


class PostgresListener:
    """LISTEN on a dedicated connection that reconnects by itself."""

    def __init__(
        self,
        dsn: str,
        *,
        on_wake: Callable[[str, int], None],
        on_reconnect: Callable[[], None],
        check_every: float = 1.0,
    ) -> None:
        self.dsn = dsn
        self.on_wake = on_wake
        self.on_reconnect = on_reconnect
        self.check_every = check_every
        self.connection: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.connected.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.connection is not None and not self.connection.is_closed():
            await self.connection.close()

    def _notified(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        parsed = parse(payload)
        if parsed is not None:
            self.on_wake(*parsed)

    async def _run(self) -> None:
        delay = 0.1
        first = True
        while True:
            try:
                self.connection = await asyncpg.connect(
                    self.dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
                )
                await self.connection.add_listener(NOTIFY_CHANNEL, self._notified)
            except Exception as exc:  # noqa: BLE001 (whatever the failure, the listener must live on)
                log.warning("cannot listen for new events (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay * (1 + random.random()))
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.1
            self.connected.set()
            if not first:
                self.on_reconnect()
            first = False
            while not self.connection.is_closed():
                await asyncio.sleep(self.check_every)
                try:
                    # A query notices a connection that died quietly (killed, network gone).
                    await self.connection.execute("SELECT 1", timeout=5)
                except Exception:  # noqa: BLE001 (a dead connection: asyncpg raises several kinds)
                    self.connection.terminate()
            self.connected.clear()
            log.warning("the LISTEN connection was lost; reconnecting")
