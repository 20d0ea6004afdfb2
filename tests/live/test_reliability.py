"""Live delivery across real server processes on PostgreSQL (docs/api.md "Live delivery").

Two ``liveblog serve`` processes share one fresh database; events written through either
reach the readers of both through the LISTEN/NOTIFY bus (and, by default, the sweep). Every
test checks the promise of docs/api.md exactly: each reader receives every version after its
``after``, once, in order, and nothing else.

No assertion depends on timing. Waits have generous deadlines and also give up when no
reader has made progress for a while; a failure then names the readers that fell short and
the versions they are missing rather than hanging; the servers' logs (some errors are
logged only when a server stops) follow in the teardown output.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from liveblog.live.bus import APPLICATION_NAME
from liveblog.store import tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.conftest import POSTGRES_URL
from tests.live.processes import ServerGroup, ServerProcess

pytestmark = pytest.mark.postgres

SLUG = "border-raid"
OPENED = 2  # opening a published story records versions 1 (opened) and 2 (published)
EARLY = 2  # updates posted before readers connect (versions 3 and 4): some readers are owed them
EDITORS = 4
UPDATES = 100  # 4 editors x 25
HTTP_TIMEOUT = 60.0
CONNECT_TIMEOUT = 60.0
DEADLINE = 120.0  # the longest any one wait may take
STALL = 30.0  # ... and the longest it waits while no reader makes any progress


# ---------------------------------------------------------------------------------------
# Fixtures and helpers: servers, editors, readers


def asyncpg_dsn(database_url: str) -> str:
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def editor_headers(database_url: str, count: int) -> list[dict[str, str]]:
    """Authorization headers of ``count`` editors (tokens stored in the servers' database)."""
    database = Database(database_url)
    try:
        headers = []
        async with database.write() as connection:
            for n in range(count):
                _, secret = await tokens.create(
                    connection, name=f"Editor {n}", role=Role.EDITOR, now=datetime.now(UTC)
                )
                headers.append({"Authorization": f"Bearer {secret}"})
        return headers
    finally:
        await database.dispose()


class Newsroom:
    """Editors posting through the servers' HTTP API."""

    def __init__(self, headers: list[dict[str, str]]) -> None:
        self.headers = headers
        self.http = httpx.AsyncClient(
            timeout=HTTP_TIMEOUT, trust_env=False, limits=httpx.Limits(max_connections=64)
        )
        self.posted = 0  # updates that got their 201 so far

    async def close(self) -> None:
        await self.http.aclose()

    async def open_story(self, server: ServerProcess) -> None:
        body = {"title": "Raid across the border", "slug": SLUG, "publish": True}
        response = await self.http.post(f"{server.url}/api/v1/stories", json=body, headers=self.headers[0])
        assert response.status_code == 201, response.text
        assert await self.version(server) == OPENED

    async def post(self, server: ServerProcess, editor: int, body: str) -> None:
        response = await self.http.post(
            f"{server.url}/api/v1/stories/{SLUG}/updates", json={"body": body}, headers=self.headers[editor]
        )
        assert response.status_code == 201, (
            f"posting through {server.name}: {response.status_code} {response.text}"
        )
        self.posted += 1

    async def version(self, server: ServerProcess) -> int:
        response = await self.http.get(f"{server.url}/api/v1/stories/{SLUG}")
        assert response.status_code == 200, response.text
        return int(response.json()["version"])

    async def burst(
        self,
        route: Callable[[int, int], ServerProcess],
        per_editor: int,
        *,
        body: Callable[[int, int], str] = lambda editor, n: f"Editor {editor}, update {n}.",
        first: int = 0,
        editors: int | None = None,
    ) -> None:
        """Every editor (or the first ``editors``) posts ``per_editor`` updates, all editors at
        once; ``route(editor, n)`` says which server takes the ``n``-th post of ``editor``."""

        async def editor_posts(editor: int) -> None:
            for n in range(first, first + per_editor):
                await self.post(route(editor, n), editor, body(editor, n))

        everyone = range(len(self.headers) if editors is None else editors)
        await asyncio.wait_for(asyncio.gather(*(editor_posts(editor) for editor in everyone)), DEADLINE * 2)


class ReaderFailed(AssertionError):
    pass


@dataclass
class Reader:
    """A WebSocket reader: every event version it received, over all its connections."""

    name: str
    after: int  # the version it first subscribed after
    versions: list[int] = field(default_factory=list)
    visits: list[str] = field(default_factory=list)  # "A after=7", one per connection
    connection: ClientConnection | None = None

    @property
    def last(self) -> int:
        """What it resumes after: the last version it received."""
        return self.versions[-1] if self.versions else self.after

    @property
    def highest(self) -> int:
        return max(self.versions, default=self.after)

    async def connect(self, server: ServerProcess, **options: Any) -> None:
        """Subscribe on ``server`` after the last version received, and read the hello."""
        after = self.last
        self.visits.append(f"{server.name} after={after}")
        options = {
            "open_timeout": CONNECT_TIMEOUT,
            "ping_interval": None,
            "proxy": None,
            "max_queue": None,
            **options,
        }
        self.connection = await connect(server.live_url(SLUG, after), **options)
        if options.get("max_queue") == 1:
            return  # a reader that does not read, not even its hello
        hello = await self.receive()
        if hello.get("type") != "hello" or hello.get("story") != SLUG or hello.get("version", -1) < after:
            raise ReaderFailed(f"{self.name}: expected a hello for {SLUG} at >= {after}, got {hello}")

    async def receive(self) -> dict[str, Any]:
        assert self.connection is not None
        try:
            return dict(json.loads(await asyncio.wait_for(self.connection.recv(), DEADLINE)))
        except ConnectionClosed as exc:
            raise ReaderFailed(
                f"{self.name}: closed unexpectedly ({describe_close(exc)}) after {self.last}"
            ) from exc
        except TimeoutError as exc:
            raise ReaderFailed(f"{self.name}: nothing received for {DEADLINE} s after {self.last}") from exc

    async def read(self, until: int, *, at_most: int | None = None) -> None:
        """Record events until one with version >= ``until`` arrives (or ``at_most`` events)."""
        taken = 0
        while self.highest < until and (at_most is None or taken < at_most):
            message = await self.receive()
            kind = message.get("type")
            if kind == "event":
                self.versions.append(int(message["version"]))
                taken += 1
            elif kind != "heartbeat":
                raise ReaderFailed(f"{self.name}: unexpected message after {self.last}: {message}")

    async def leave(self, *, abruptly: bool = False) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        if abruptly:
            connection.transport.abort()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(connection.close(), 15)


async def connect_all(readers: Sequence[Reader], servers: Sequence[ServerProcess]) -> None:
    """Connect ``readers[i]`` to ``servers[i]``, a few at a time."""
    gate = asyncio.Semaphore(16)

    async def one(reader: Reader, server: ServerProcess) -> None:
        async with gate:
            await reader.connect(server)

    await asyncio.wait_for(asyncio.gather(*map(one, readers, servers)), DEADLINE)


def spans(versions: Iterable[int]) -> str:
    """``[3, 4, 5, 9]`` -> ``"3-5, 9"`` (at most 12 spans)."""
    runs: list[list[int]] = []
    for version in sorted(versions):
        if runs and version == runs[-1][1] + 1:
            runs[-1][1] = version
        else:
            runs.append([version, version])
    text = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:12])
    return text + (f", ... ({len(runs)} spans)" if len(runs) > 12 else "")


def delivery_problem(reader: Reader, final: int) -> str | None:
    """What is wrong with ``reader``'s versions against exactly (after, final] in order."""
    expected = list(range(reader.after + 1, final + 1))
    if reader.versions == expected:
        return None
    counts = Counter(reader.versions)
    faults = []
    if missing := set(expected) - counts.keys():
        faults.append(f"missing {spans(missing)}")
    if duplicated := [v for v, n in counts.items() if n > 1]:
        faults.append(f"more than once {spans(duplicated)}")
    if unexpected := counts.keys() - set(expected):
        faults.append(f"not expected {spans(unexpected)}")
    disorder = next(
        (i for i in range(1, len(reader.versions)) if reader.versions[i] <= reader.versions[i - 1]), None
    )
    if disorder is not None:
        faults.append(f"out of order at {reader.versions[max(disorder - 2, 0) : disorder + 2]}")
    return f"{reader.name} (after={reader.after}, via {', '.join(reader.visits)}): {'; '.join(faults)}"


def assert_exactly_once(readers: Sequence[Reader], final: int) -> None:
    problems = [p for p in (delivery_problem(reader, final) for reader in readers) if p is not None]
    assert not problems, (
        f"{len(problems)} of {len(readers)} readers did not get every version up to {final} exactly once, "
        f"in order:\n" + "\n".join(problems[:20])
    )


async def wait_for_readers(
    readers: Sequence[Reader],
    tasks: Sequence[asyncio.Task[Any]],
    version: int,
    what: str,
    *,
    context: Callable[[], Awaitable[str]] | None = None,
) -> None:
    """Wait until every reader has seen ``version``; fail naming who misses what if that
    takes longer than ``DEADLINE``, or if nobody progresses for ``STALL`` seconds."""
    started = progressed = time.monotonic()
    seen = -1
    while True:
        crashed = [task for task in tasks if task.done() and not task.cancelled() and task.exception()]
        if crashed:
            errors = "\n".join(str(task.exception()) for task in crashed[:10])
            pytest.fail(f"{what}: {len(crashed)} tasks failed:\n{errors}", pytrace=False)
        behind = [reader for reader in readers if reader.highest < version]
        if not behind:
            return
        total = sum(len(reader.versions) for reader in readers)
        now = time.monotonic()
        if total != seen:
            seen, progressed = total, now
        if now - started > DEADLINE or now - progressed > STALL:
            lines = [
                f"{r.name} (after={r.after}, via {', '.join(r.visits)}) is at {r.highest}, "
                f"missing {spans(set(range(r.after + 1, version + 1)) - set(r.versions))}"
                for r in behind[:15]
            ]
            extra = await context() if context is not None else ""
            pytest.fail(
                f"{what}: {len(behind)} of {len(readers)} readers never got version {version} "
                f"(waited {now - started:.0f} s, {now - progressed:.0f} s without any progress):\n"
                + "\n".join(lines)
                + (f"\n{extra}" if extra else ""),
                pytrace=False,
            )
        await asyncio.sleep(0.1)


async def finish(tasks: Sequence[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def describe_close(exc: ConnectionClosed) -> str:
    if exc.rcvd is not None:
        return f"received close {exc.rcvd.code} {exc.rcvd.reason!r}"
    return f"no close frame received (sent: {exc.sent})"


# ---------------------------------------------------------------------------------------
# The tests


async def test_200_readers_on_two_servers_get_every_version_of_4_concurrent_editors_exactly_once(
    group: ServerGroup, postgres_url: str
) -> None:
    """100 readers on each server, subscribed after version 2, 3 or 4 (so some are owed a
    backlog); then 4 editors post 25 updates each at once, each alternating between servers."""
    a, b = await group.start(2)
    newsroom = Newsroom(await editor_headers(postgres_url, EDITORS))
    tasks: list[asyncio.Task[Any]] = []
    readers: list[Reader] = []
    try:
        await newsroom.open_story(a)
        await newsroom.burst(lambda editor, n: a, 1, editors=EARLY)
        # 100 readers per server; some are owed a backlog of up to 2 events.
        placement = [a, b] * 100
        readers = [Reader(f"{server.name}-{n}", after=OPENED + n % 3) for n, server in enumerate(placement)]
        await connect_all(readers, placement)
        burst_end = OPENED + EARLY + UPDATES
        final = burst_end + 1
        tasks = [asyncio.create_task(reader.read(final)) for reader in readers]

        # 4 editors, 25 updates each, all at once; every editor alternates between servers.
        await newsroom.burst(lambda editor, n: (a, b)[(editor + n) % 2], UPDATES // EDITORS)
        assert newsroom.posted == EARLY + UPDATES
        await wait_for_readers(readers, tasks, burst_end, "after the burst")
        # One more event once everyone has the burst: a duplicate of the burst's last
        # versions, delivered late, would arrive before it and be seen.
        await newsroom.post(b, 0, "The last word.")
        await wait_for_readers(readers, tasks, final, "after the last update")
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)

        assert await newsroom.version(a) == final
        assert await newsroom.version(b) == final
        assert_exactly_once(readers, final)
    finally:
        await finish(tasks)
        await asyncio.gather(*(reader.leave() for reader in readers))
        await newsroom.close()


async def test_readers_who_disconnect_at_random_and_resume_with_after_still_get_everything_once(
    group: ServerGroup, postgres_url: str
) -> None:
    """60 readers each leave 3 to 6 times during the burst, after a random number of events
    (some without a closing handshake), and come back to either server with ``after`` =
    the last version they received: what they get, put end to end, is every version once."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    servers = await group.start(2)
    a, b = servers
    newsroom = Newsroom(await editor_headers(postgres_url, EDITORS))
    tasks: list[asyncio.Task[Any]] = []
    readers: list[Reader] = []
    burst_end = OPENED + EARLY + UPDATES
    final = burst_end + 1

    async def hop_around(reader: Reader, plan: list[tuple[int, bool, ServerProcess, float]]) -> None:
        """Read a few events, leave (cleanly or not), come back (anywhere) after the last
        version received; then read to the end."""
        for at_most, abruptly, server, pause in plan:
            await reader.read(final, at_most=at_most)
            await reader.leave(abruptly=abruptly)
            if reader.highest >= final:
                return
            await asyncio.sleep(pause)
            await reader.connect(server)
        await reader.read(final)

    try:
        await newsroom.open_story(b)
        await newsroom.burst(lambda editor, n: b, 1, editors=EARLY)
        placement = [a, b] * 30
        readers = [Reader(f"{server.name}-{n}", after=OPENED + n % 3) for n, server in enumerate(placement)]
        await connect_all(readers, placement)
        plans = [
            [
                (rng.randint(1, 25), rng.random() < 0.3, rng.choice(servers), rng.random() * 0.05)
                for _ in range(rng.randint(3, 6))
            ]
            for _ in readers
        ]
        tasks = [asyncio.create_task(hop_around(r, plan)) for r, plan in zip(readers, plans, strict=True)]

        await newsroom.burst(lambda editor, n: (a, b)[(editor + n) % 2], UPDATES // EDITORS)
        await wait_for_readers(readers, tasks, burst_end, f"after the burst (seed {seed})")
        await newsroom.post(a, 0, "The last word.")
        await wait_for_readers(readers, tasks, final, f"after the last update (seed {seed})")
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)

        assert await newsroom.version(b) == final
        assert sum(len(r.visits) for r in readers) > 2 * len(readers), "readers should have reconnected"
        assert_exactly_once(readers, final)
    finally:
        await finish(tasks)
        await asyncio.gather(*(reader.leave() for reader in readers))
        await newsroom.close()


async def test_a_reader_who_never_reads_is_closed_with_4008_and_the_others_get_everything(
    group: ServerGroup, postgres_url: str
) -> None:
    """A reader that takes nothing from its socket: once the socket buffers and its 1 MiB
    hub queue are full, B closes it with 4008 (it reads that close afterwards), while the
    readers beside it get everything and it resumes where it was cut off.

    The burst must be over quickly: the server's close frame waits at most 30 s
    (``CLOSE_TIMEOUT``) for the stalled reader to take it, and uvicorn closes a connection
    whose keepalive ping goes unanswered for ~40 s with 1011."""
    a, b = await group.start(2)
    newsroom = Newsroom(await editor_headers(postgres_url, EDITORS))
    tasks: list[asyncio.Task[Any]] = []
    readers: list[Reader] = []
    stalled = Reader("stalled-B", after=OPENED)
    # Each message carries the body and its HTML, ~35 kB: ~7 MB in all, where the 1 MiB
    # hub queue and the socket buffers between B and the stalled reader (~3 MB measured,
    # 4 MB + 1 MiB at most with this kernel's tcp_wmem) overflow after ~150 at the latest.
    posts = 200
    body = "A long update that fills buffers. " * 500  # ~17 kB
    final = OPENED + posts
    try:
        await newsroom.open_story(a)
        placement = [b, b, a]
        readers = [Reader(f"{server.name}-{n}", after=OPENED) for n, server in enumerate(placement)]
        await connect_all(readers, placement)
        tasks = [asyncio.create_task(reader.read(final)) for reader in readers]
        # It takes nothing from its socket (max_queue=1: it stops at the hello), and sends no
        # pings of its own, which it could not see answered.
        await stalled.connect(b, max_queue=1)
        started = time.monotonic()

        # Half the updates through A: B learns of those through the bus.
        await newsroom.burst(
            lambda editor, n: (a, b)[editor % 2], posts // EDITORS, body=lambda editor, n: f"{n} {body}"
        )
        burst_seconds = time.monotonic() - started
        print(f"burst of {posts} large updates: {burst_seconds:.1f} s")

        # Now it reads what it was sent: a gap-free run of versions, then the 4008 close.
        async def drain() -> ConnectionClosed:
            hello = await stalled.receive()
            assert hello["type"] == "hello", hello
            try:
                await stalled.read(final)
            except ReaderFailed as failure:
                if isinstance(failure.__cause__, ConnectionClosed):
                    return failure.__cause__
                raise
            raise AssertionError(f"the stalled reader got all {final} versions and was never closed")

        draining = asyncio.create_task(drain())
        tasks.append(draining)
        await wait_for_readers(readers, tasks[:-1], final, "the readers beside the stalled one")
        await asyncio.wait_for(asyncio.gather(*tasks[:-1]), DEADLINE)
        assert_exactly_once(readers, final)

        closed = await asyncio.wait_for(draining, DEADLINE)
        assert closed.rcvd is not None and closed.rcvd.code == 4008, (
            f"the stalled reader was closed, but not with 4008: {describe_close(closed)} "
            f"(after {stalled.last}; the burst took {burst_seconds:.0f} s: over ~30 s a stalled "
            f"reader is dropped without its close frame, or closed 1011 by the keepalive)"
        )
        assert stalled.last < final
        print(f"the stalled reader was closed with 4008 after version {stalled.last}")
        assert stalled.versions == list(range(OPENED + 1, stalled.last + 1)), delivery_problem(
            stalled, stalled.last
        )

        # ... and resumes with after = the last version it saw (here on the other server).
        await stalled.leave()
        await stalled.connect(a)
        await asyncio.wait_for(stalled.read(final), DEADLINE)
        assert_exactly_once([stalled], final)
    finally:
        await finish(tasks)
        await asyncio.gather(*(reader.leave() for reader in [*readers, stalled]))
        await newsroom.close()


async def test_readers_get_everything_when_the_listen_connections_are_killed_mid_burst(
    group: ServerGroup, postgres_url: str
) -> None:
    """With the sweep out of the way (once an hour), B's readers learn of the events written
    on A only through the bus: its LISTEN connection, its reconnection, and the catch-up of
    every active story that must follow a reconnection (notifications sent while a listener
    is away are lost).

    The LISTEN connections are killed twice. First in the middle of a burst that goes on.
    Then while the database refuses new connections, and the rest of the burst is written
    during that outage: no notification of it can reach B then or later, so B's readers
    get it only if the hub catches up after the listener reconnects."""
    a, b = await group.start(2, sweep_seconds=3600)
    newsroom = Newsroom(await editor_headers(postgres_url, EDITORS))
    database = await asyncpg.connect(asyncpg_dsn(postgres_url), timeout=30)
    maintenance = await asyncpg.connect(POSTGRES_URL, timeout=30)  # not the test's database

    async def allow_connections(allow: bool) -> None:
        name = postgres_url.rpartition("/")[2]
        await maintenance.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allow).lower()}')

    tasks: list[asyncio.Task[Any]] = []
    readers: list[Reader] = []
    first_part, second_part = 60, 40  # updates, all posted through A
    burst_end = OPENED + first_part + second_part
    final = burst_end + 1
    history: list[str] = []

    async def listeners() -> list[int]:
        rows = await database.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
        return sorted(row["pid"] for row in rows)

    async def kill_listeners(when: str) -> None:
        """Terminate the LISTEN connections on this database (only), waiting until they are gone."""
        rows = await database.fetch(
            "SELECT pid, pg_terminate_backend(pid, 30000) AS gone FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",
            APPLICATION_NAME,
        )
        history.append(f"killed {[row['pid'] for row in rows]} {when}")
        assert len(rows) == 2 and all(row["gone"] for row in rows), f"expected to kill 2 listeners: {rows}"

    async def both_listening(what: str) -> None:
        deadline = time.monotonic() + STALL
        while len(await listeners()) < 2:
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: the servers did not LISTEN again within {STALL} s: {await bus_state()}")
            await asyncio.sleep(0.1)

    async def bus_state() -> str:
        return f"LISTEN connections: {'; '.join(history)}; now: {await listeners() or 'none'}"

    try:
        await newsroom.open_story(a)
        assert len(await listeners()) == 2, "each server should hold one LISTEN connection"
        placement = [b] * 40 + [a] * 10
        readers = [Reader(f"{server.name}-{n}", after=OPENED) for n, server in enumerate(placement)]
        on_b = readers[:40]
        await connect_all(readers, placement)
        tasks = [asyncio.create_task(reader.read(final)) for reader in readers]

        # First part, through A. Once B's readers show that A's events reach them (the bus
        # works: nothing else tells B), the listeners are killed while posting goes on.
        posting = asyncio.create_task(newsroom.burst(lambda editor, n: a, first_part // EDITORS))
        tasks.append(posting)
        while newsroom.posted < 20 and not posting.done():
            await asyncio.sleep(0.01)
        await wait_for_readers(on_b, tasks, OPENED + 10, "B's readers before any kill (the bus)")
        await kill_listeners(f"after {newsroom.posted} of {first_part} posts")
        await asyncio.wait_for(posting, DEADLINE)
        await wait_for_readers(
            readers, tasks, OPENED + first_part, "after the first LISTEN kill", context=bus_state
        )

        # Second part, while no listener can hear or reconnect.
        await both_listening("after the first LISTEN kill")
        await allow_connections(False)
        try:
            await kill_listeners("with new connections refused")
            await newsroom.burst(lambda editor, n: a, second_part // EDITORS, first=first_part // EDITORS)
            assert await listeners() == [], "a listener got back in while connections were refused"
            history.append(f"{second_part} posts while none listened")
        finally:
            await allow_connections(True)
        await wait_for_readers(readers, tasks, burst_end, "after the second LISTEN kill", context=bus_state)

        # A last event once all have caught up (a late duplicate would arrive before it).
        await newsroom.post(a, 0, "The last word.")
        await wait_for_readers(readers, tasks, final, "after the last update", context=bus_state)
        await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)
        assert await newsroom.version(b) == final
        assert_exactly_once(readers, final)
    finally:
        with contextlib.suppress(Exception):
            await allow_connections(True)
        await finish(tasks)
        await asyncio.gather(*(reader.leave() for reader in readers))
        await newsroom.close()
        await database.close()
        await maintenance.close()
