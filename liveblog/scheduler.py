"""The scheduler: a task of the server that publishes scheduled posts when they fall due.

Exactly once, with any number of server processes and across restarts, because firing is
a command like any other (:class:`~liveblog.domain.commands.FireSchedule`), decided under
the story's write lock against the story's state: the first process to fire an item
publishes it; any other, deciding after it, finds the item published (or cancelled, or
moved to a later time) and is refused (``ScheduleNotPending``, ``ScheduleNotDue``), which
this task takes as "done already" and records nothing. A cancel racing a fire is the same
race: whichever takes the lock first wins, the other gets a 409 or does nothing.

What is due is read from the scheduled-items read model (indexed by status and time). The
task wakes at the soonest ``publish_at``, but at least every ``granularity`` seconds (items
scheduled by other processes are found so), and at once when this process schedules or
reschedules something (:meth:`Scheduler.wake`). On start it fires whatever fell due while
no server ran; the domain marks an item published more than ``LATE_AFTER`` after its time
``late`` (with the time it was meant for) in its event, so the audit log says so.

An item the rules refuse for another reason (a scheduled update whose story is closed) is
left pending and tried again every ``retry_refused`` seconds: reopening the story publishes
it (late), cancelling it ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from liveblog.application import Application
from liveblog.domain import commands as c
from liveblog.errors import DomainError, ScheduleNotDue, ScheduleNotFound, ScheduleNotPending
from liveblog.projections import scheduled
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor, Role

SCHEDULER = Actor(id="scheduler", name="liveblog scheduler", role=Role.EDITOR)
"""The actor of every post the scheduler publishes (the event's ``actor`` in the log)."""

logger = logging.getLogger("liveblog.scheduler")

_NO_RESPONSE = StoredResponse(status=204, headers={}, body="")


class Scheduler:
    """Fires due items of every story; see the module."""

    def __init__(
        self,
        application: Application,
        *,
        granularity: float = 1.0,
        retry_refused: float = 60.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.application = application
        self.database = application.database
        self.granularity = granularity
        self.retry_refused = timedelta(seconds=retry_refused)
        self.clock = clock or application.clock
        self._wake = asyncio.Event()
        self._refused: dict[tuple[str, str], datetime] = {}
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Look again now (something was scheduled or moved in this process)."""
        self._wake.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="liveblog-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.fire_due()
                delay = await self._delay()
            except Exception:  # the database may be away for a while; the next round retries
                logger.exception("the scheduler failed; retrying in %s s", self.granularity)
                delay = self.granularity
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def _delay(self) -> float:
        async with self.database.read() as connection:
            soonest = await scheduled.next_due(connection)
        if soonest is None:
            return self.granularity
        ahead = (soonest - self.clock()).total_seconds()
        # Due already and still pending: refused, or fired by another process just now.
        return self.granularity if ahead <= 0 else min(self.granularity, ahead)

    async def fire_due(self) -> list[tuple[str, str]]:
        """Fire every item due now; the ``(story, item)`` pairs this call published."""
        now = self.clock()
        async with self.database.read() as connection:
            due = await scheduled.due(connection, now)
        fired = []
        for item in due:
            key = (item.story, item.id)
            if key in self._refused and self._refused[key] > now:
                continue
            command = c.FireSchedule(story=item.story, schedule_id=item.id, at=now)
            try:
                outcome = await self.application.handle(command, SCHEDULER, lambda _state: _NO_RESPONSE)
            except (ScheduleNotPending, ScheduleNotDue, ScheduleNotFound):
                continue  # fired, cancelled or moved by someone else first: nothing to do
            except DomainError as exc:
                logger.warning("scheduled item %s of %s not published: %s", item.id, item.story, exc.detail)
                self._refused[key] = now + self.retry_refused
                continue
            self._refused.pop(key, None)
            if outcome.recorded:
                fired.append(key)
                logger.info("published scheduled item %s of %s", item.id, item.story)
        return fired
