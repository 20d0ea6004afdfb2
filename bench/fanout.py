"""WebSocket fan-out: liveblog's live delivery next to a plain ``websockets`` ``broadcast()``.

The acceptance text: "`bench/` script: 1k, 5k and 10k WebSocket readers of one story on one
server process (the readers in a separate process), one update posted: p50/p99 from POST
accepted to frame received, and server CPU seconds per delivered frame, side by side in the
same run with a plain `websockets` library server calling `broadcast()` with the same message
size to the same number of readers. Goals on this 2-core machine: p99 <= 1 s at 10k readers;
server CPU per frame <= 1.25 x the plain broadcast."

It creates a fresh SQLite database, runs ``liveblog migrate``, creates an editor token and
opens one published story. One update is posted with one reader listening, to capture an
event frame as liveblog sends it: the plain server broadcasts exactly that text, so both
servers send the same bytes. Then, for each number of readers N (1,000, 5,000 and 10,000 by
default) and each ``--round``, it measures both servers, one after the other (the order
alternates), each started afresh on a free port:

* **liveblog**: ``liveblog serve`` (uvicorn, ``ws="websockets-sansio"``, no per-message
  deflate). A trigger is ``POST /api/v1/stories/bench/updates`` (201); "accepted" is when the
  response has arrived.
* **plain**: this script as a ``websockets.asyncio.server.serve`` server (``compression=None``,
  the library's default pings, like uvicorn's) that sends each new connection a hello and,
  on ``GET /broadcast``, answers 202 and then calls ``broadcast(server.connections, frame)``.

For each server: N readers connect from ``--reader-processes`` separate processes (the
``websockets`` asyncio client, ``compression=None``, at most ``--connect-concurrency``
handshakes at a time per process) and each waits for its hello. After 21 s (so that the
servers' keepalive pings, every 20 s per connection, run at their steady rate), one warm-up
update is triggered and delivered; then ``--posts`` updates are triggered, each after
``--interval`` seconds of quiet, each waiting until every reader has its frame and then until
the server is back to its background CPU rate (at most ``--settle`` seconds).

* Latency: for every (reader, update) pair, from "trigger accepted" to the moment the
  reader's ``recv`` returned the frame. The reader processes and this one share one clock:
  ``time.monotonic_ns()`` is ``CLOCK_MONOTONIC``, the same for every process on the host.
* Server CPU: every thread of the server process (``/proc/PID/task/*/schedstat``, ns
  resolution), from just before each trigger until the server is back to its background
  rate after every reader has the frame (work an update leaves behind, such as garbage
  collection, can run after the last frame went out), minus the idle rate over the same
  time, divided by the frames delivered. The idle rate (keepalive pings, liveblog's 2 s
  sweep) is measured in the quiet gaps between those windows.

CPU of the reader processes and of the whole machine is sampled over the same windows, so
the report can say how much the readers and other people's processes took from the 2 cores.
With ``--profile``, ``py-spy record --native`` samples each server during its measured phase
(this costs the server CPU: do not quote the CPU figures of a profiled run).

The results go to stdout as Markdown and to ``bench/results/fanout.md``; progress goes to
stderr. Exit status: 0, or 1 if any frame was lost or duplicated, 2 if the run could not be
done (for example connections could not be opened).

    .venv/bin/python bench/fanout.py [--readers 1000,5000,10000] [--posts 5]
                                     [--reader-processes 2] [--rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import math
import os
import platform
import re
import resource
import signal
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import httpx
from harness import (
    CLOCK_TICKS,
    LIVEBLOG,
    REQUEST_TIMEOUT,
    RESULTS_DIR,
    SLUG,
    BenchError,
    Database,
    Server,
    execute,
    fmt,
    free_port,
    fresh_database,
    int_list,
    log_tail,
    open_story,
    percentile,
    prepare,
    process_cpu_seconds,
    progress,
    publish,
    running_server,
    smoke_note,
    source_revision,
    spawn_server,
    stop_process,
    table,
    wait_for_http,
)
from harness import parse_args as parse_bench_args
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.version import version as websockets_version

RESULTS = RESULTS_DIR / "fanout.md"
SERVERS = ("liveblog", "plain")
GOAL_READERS, GOAL_P99_MS, GOAL_CPU_RATIO = 10_000, 1000.0, 1.25
EVENT_PREFIX = '{"type":"event"'
HELLO_PREFIX = '{"type":"hello"'
PING_SECONDS = 20.0  # uvicorn's ws_ping_interval and websockets' ping_interval, both defaults
HEARTBEAT_SECONDS = 15.0  # liveblog.api.live.HEARTBEAT_SECONDS: a reader's timer restarts with every frame
FD_HEADROOM = 256
POST_COST_SAMPLES = 3
UPDATE_BODY = (
    "Fan-out bench update {n:06d}: the minister has left the building and is expected to speak "
    "to reporters shortly. Officials say the talks *will resume tomorrow*; a spokesperson "
    "declined to comment on the draft. More to follow."
)
# Run as `python -c LAUNCHER PROGRAM ARGS...`: raise the open-file limit, ask for SIGTERM if
# this benchmark dies, then become PROGRAM (same pid, so /proc/PID is the server itself).
LAUNCHER = (
    "import ctypes, os, resource, signal, sys\n"
    "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))\n"
    "try:\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG\n"
    "except Exception:\n"
    "    pass\n"
    "os.execv(sys.argv[1], sys.argv[1:])\n"
)
SCHEDSTAT = Path("/proc/self/schedstat").exists()
PYTHON_FRAME = re.compile(r"\.py:\d+\)$|\(liveblog:\d+\)$")
GC_LABEL = "[CPython cyclic GC: gc_collect_main]"
IDLE_LEAF = re.compile(
    r"^(EpollSelector\.select|Condition\.wait|Queue\.get|Event\.wait \(threading"
    r"|Thread\._wait_for_tstate_lock|_connection_worker_thread \(aiosqlite/core\.py:59\))"
)


# --- processes and CPU ----------------------------------------------------------------------


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = int(Path("/proc/sys/fs/nr_open").read_text())
    if soft == resource.RLIM_INFINITY or soft >= hard:
        return hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def die_with_parent() -> None:
    """Ask Linux to send SIGTERM to this process when the benchmark that started it dies."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def cpu_ns(pid: int) -> int:
    """CPU time (user + system) of every live thread of ``pid``, in ns (raises OSError once it is gone).

    ``schedstat`` has ns resolution where ``/proc/PID/stat`` counts 10 ms ticks, which matters
    for windows of a few tens of ms. (Threads that ended are not counted; liveblog's SQLite
    threads live as long as their pooled connections.)
    """
    if not SCHEDSTAT:
        return int(process_cpu_seconds(pid) * 1e9)
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            total += int(Path(f"/proc/{pid}/task/{tid}/schedstat").read_text().split()[0])
    return total


def machine_busy_ns() -> int:
    """CPU time all cores of the host have spent not idle, in ns (10 ms resolution)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(values) - values[3] - values[4]) * 1_000_000_000 // CLOCK_TICKS


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


@dataclass(frozen=True)
class Sample:
    wall: int
    server: int
    readers: int
    own: int
    machine: int

    @classmethod
    def take(cls, server_pid: int, reader_pids: Sequence[int]) -> Sample:
        return cls(
            wall=time.monotonic_ns(),
            server=cpu_ns(server_pid),
            readers=sum(cpu_ns(pid) for pid in reader_pids),
            own=cpu_ns(os.getpid()),
            machine=machine_busy_ns(),
        )


@dataclass(frozen=True)
class Window:
    """One trigger: when it was sent and accepted, the server CPU used from before it was sent
    until it was back to its background rate, and everyone's CPU during
    the delivery itself (until every reader had the frame)."""

    start: int
    sent: int
    accepted: int
    wall: int
    server: int
    delivery: dict[str, int]  # wall, server, readers, own, machine: from before the trigger to the last frame
    complete: bool

    @classmethod
    def between(
        cls, before: Sample, delivered: Sample, after: Sample, sent: int, accepted: int, complete: bool
    ) -> Window:
        return cls(
            start=before.wall,
            sent=sent,
            accepted=accepted,
            wall=after.wall - before.wall,
            server=after.server - before.server,
            delivery={
                name: getattr(delivered, name) - getattr(before, name)
                for name in ("wall", "server", "readers", "own", "machine")
            },
            complete=complete,
        )


# --- the servers under test -----------------------------------------------------------------


@dataclass
class Target:
    """A running server under test: where readers connect, and how one update is triggered."""

    name: str
    pid: int
    reader_url: Callable[[], Awaitable[str]]  # asked once all no-reader triggers are done
    trigger: Callable[[int], Awaitable[None]]
    check_alive: Callable[[], None]
    log: Path


@asynccontextmanager
async def liveblog_server(
    database: Database, workdir: Path, token: str, max_readers: int
) -> AsyncIterator[tuple[Server, httpx.AsyncClient]]:
    """``liveblog serve`` on a free port, answering, with an editor's HTTP client; stopped on the way out."""
    env = {
        "LIVEBLOG_SIGNING_KEY_PATH": str(workdir / "liveblog-signing.key"),
        # Every reader comes from 127.0.0.1: allow them all, should the per-address cap apply.
        "LIVEBLOG_LIVE_CONNECTIONS_PER_ADDRESS": str(max_readers + 1000),
    }
    launcher = [sys.executable, "-c", LAUNCHER]
    async with (
        running_server(database, workdir, env=env, launcher=launcher) as server,
        httpx.AsyncClient(
            base_url=server.base_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=REQUEST_TIMEOUT,
            trust_env=False,
        ) as client,
    ):
        yield server, client


def liveblog_target(server: Server, client: httpx.AsyncClient) -> Target:
    port = server.base_url.rsplit(":", 1)[1]

    async def reader_url() -> str:
        # Readers start where the story is, as a page that has just loaded it would.
        return f"ws://127.0.0.1:{port}/api/v1/stories/{SLUG}/live?after={await current_version(server)}"

    async def post(n: int) -> None:
        response = await client.post(
            f"/api/v1/stories/{SLUG}/updates", json={"body": UPDATE_BODY.format(n=n)}
        )
        if response.status_code != 201:
            raise BenchError(f"POST /updates answered {response.status_code}: {response.text[:300]}")

    return Target(
        name="liveblog",
        pid=server.process.pid,
        reader_url=reader_url,
        trigger=post,
        check_alive=server.check_alive,
        log=server.log,
    )


@asynccontextmanager
async def plain_server(workdir: Path, frame: str) -> AsyncIterator[Target]:
    """This script as a plain ``websockets`` broadcast server on a free port; stopped on the way out."""
    port = free_port()
    message_file = workdir / "frame.json"
    message_file.write_text(frame)
    command = [sys.executable, str(Path(__file__).resolve()), "_plain", str(port), str(message_file)]
    server = spawn_server(command, port, workdir, os.environ, "plain websockets server")
    try:
        await wait_for_http(server, "/ready")
        async with httpx.AsyncClient(
            base_url=server.base_url, timeout=REQUEST_TIMEOUT, trust_env=False
        ) as client:

            async def trigger(n: int) -> None:
                response = await client.get("/broadcast")
                if response.status_code != 202:
                    raise BenchError(f"GET /broadcast answered {response.status_code}: {response.text[:300]}")

            async def plain_url() -> str:
                return f"ws://127.0.0.1:{port}/"

            yield Target(
                name="plain",
                pid=server.process.pid,
                reader_url=plain_url,
                trigger=trigger,
                check_alive=server.check_alive,
                log=server.log,
            )
    finally:
        stop_process(server.process)


async def plain_main(port: int, message_file: Path) -> None:
    """The plain server: a hello on connect; ``GET /broadcast`` -> 202, then ``broadcast()``."""
    raise_fd_limit()
    die_with_parent()
    frame = message_file.read_text()
    hello = json.dumps({"type": "hello", "story": SLUG, "version": 0}, separators=(",", ":"))
    loop = asyncio.get_running_loop()
    servers: list[Any] = []

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/broadcast":
            # Answer first, broadcast right after, as liveblog answers the POST and then fans out.
            loop.call_soon(lambda: broadcast(servers[0].connections, frame))
            return connection.respond(202, "accepted\n")
        if request.path == "/ready":
            return connection.respond(200, "ready\n")
        return None

    async def handler(connection: ServerConnection) -> None:
        await connection.send(hello)
        await connection.wait_closed()

    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, stop.set_result, None)
    loop.add_signal_handler(signal.SIGINT, stop.set_result, None)
    async with serve(
        handler, "127.0.0.1", port, compression=None, process_request=process_request, backlog=2048
    ) as server:
        servers.append(server)
        await stop


# --- the readers ----------------------------------------------------------------------------


def emit(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def reader_main(url: str, count: int, concurrency: int, open_timeout: float) -> None:
    """One reader process: open ``count`` connections, then record when each event frame arrives.

    Talks to the benchmark by lines of JSON: ``{"connected": ...}`` once, ``{"complete": k}``
    when every open connection has its k-th event frame, ``{"report": ...}`` when asked
    (``report`` on stdin); exits on ``exit`` or when stdin closes.
    """
    raise_fd_limit()
    die_with_parent()
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    semaphore = asyncio.Semaphore(concurrency)
    tally = Counter[str]()

    async def open_one() -> Any:
        try:
            ws = await open_connection()
        except BaseException:
            tally["failed"] += 1
            raise
        tally["opened"] += 1
        return ws

    async def tell_progress() -> None:
        while True:
            emit({"opening": tally["opened"], "failed": tally["failed"]})
            await asyncio.sleep(1)

    async def open_connection() -> Any:
        async with semaphore:
            ws = await connect(
                url, compression=None, open_timeout=open_timeout, ping_interval=None, proxy=None
            )
            try:
                first = await asyncio.wait_for(ws.recv(), open_timeout)
            except BaseException:
                ws.transport.abort()
                raise
            if not isinstance(first, str) or not first.startswith(HELLO_PREFIX):
                ws.transport.abort()
                raise RuntimeError(f"the first message was not a hello: {str(first)[:100]!r}")
            return ws

    started = time.monotonic()
    teller = asyncio.create_task(tell_progress())
    opened = await asyncio.gather(*(open_one() for _ in range(count)), return_exceptions=True)
    teller.cancel()
    sockets = [ws for ws in opened if not isinstance(ws, BaseException)]
    errors = Counter(
        f"{type(exc).__name__}: {str(exc).strip()[:200]}" for exc in opened if isinstance(exc, BaseException)
    )
    times: list[list[int]] = [[] for _ in sockets]
    others = [0] * len(sockets)
    late: list[int] = []  # when other frames (heartbeats) came, once the warm-up frame was in
    sizes: list[int] = []
    counts: list[int] = []
    announced = 0
    live = len(sockets)
    closed: Counter[str] = Counter()

    def announce() -> None:
        nonlocal announced
        while announced < len(counts) and counts[announced] >= live:
            emit({"complete": announced})
            announced += 1

    async def follow(index: int, ws: Any) -> None:
        nonlocal live
        record = times[index]
        try:
            async for message in ws:
                now = time.monotonic_ns()
                if isinstance(message, str) and message.startswith(EVENT_PREFIX):
                    k = len(record)
                    record.append(now)
                    if k == len(counts):
                        counts.append(0)
                    counts[k] += 1
                    if index == 0:
                        sizes.append(len(message.encode()))
                    if k == announced and counts[k] >= live:
                        announce()
                else:
                    others[index] += 1
                    if record:
                        late.append(now)
        except ConnectionClosed:
            pass
        finally:
            live -= 1
            closed[str(ws.close_code)] += 1
            announce()

    emit(
        {
            "connected": len(sockets),
            "failed": sum(errors.values()),
            "errors": dict(errors.most_common(5)),
            "seconds": time.monotonic() - started,
        }
    )
    followers = [asyncio.create_task(follow(i, ws)) for i, ws in enumerate(sockets)]
    while line := (await commands.readline()).strip():
        if line == b"report":
            emit(
                {
                    "report": {
                        "times": times,
                        "others": others,
                        "late": late,
                        "closed": dict(closed),
                        "sizes": sizes,
                    }
                }
            )
        elif line == b"exit":
            break
    del followers
    sys.stdout.flush()
    os._exit(0)  # the kernel closes every socket at once; the servers see the readers go


@dataclass
class ReaderProcess:
    process: asyncio.subprocess.Process
    log: Path
    count: int
    connected: asyncio.Future[dict[str, Any]]
    report: asyncio.Future[dict[str, Any]] | None = None
    completed: set[int] = field(default_factory=set)
    opening: tuple[int, int] = (0, 0)  # connections opened and failed so far
    pump: asyncio.Task[None] | None = None
    gone: bool = False

    def failure(self) -> BenchError:
        return BenchError(
            f"reader process {self.process.pid} exited ({self.process.returncode}); "
            f"its log:\n{log_tail(self.log)}"
        )


class ReaderFleet:
    """N readers in several processes, all following one URL."""

    def __init__(self, url: str, count: int, processes: int, concurrency: int, workdir: Path) -> None:
        self.url = url
        self.count = count
        self.shares = [count // processes + (1 if i < count % processes else 0) for i in range(processes)]
        self.shares = [share for share in self.shares if share]
        self.concurrency = concurrency
        self.workdir = workdir
        self.readers: list[ReaderProcess] = []
        self.changed = asyncio.Event()

    @property
    def pids(self) -> list[int]:
        return [reader.process.pid for reader in self.readers]

    async def __aenter__(self) -> Self:
        loop = asyncio.get_running_loop()
        try:
            for index, share in enumerate(self.shares):
                log = self.workdir / f"readers-{os.getpid()}-{time.monotonic_ns()}-{index}.log"
                with log.open("wb") as log_file:
                    process = await asyncio.create_subprocess_exec(
                        sys.executable,
                        str(Path(__file__).resolve()),
                        "_reader",
                        self.url,
                        str(share),
                        str(self.concurrency),
                        stdin=asyncio.subprocess.PIPE,
                        stdout=asyncio.subprocess.PIPE,
                        stderr=log_file,
                        limit=1 << 28,
                    )
                reader = ReaderProcess(process=process, log=log, count=share, connected=loop.create_future())
                reader.pump = asyncio.create_task(self._pump(reader))
                self.readers.append(reader)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def __aexit__(self, *_: object) -> None:
        for reader in self.readers:
            if reader.process.returncode is None and reader.process.stdin is not None:
                with contextlib.suppress(OSError, RuntimeError):
                    reader.process.stdin.write(b"exit\n")
                    reader.process.stdin.close()
        for reader in self.readers:
            try:
                await asyncio.wait_for(reader.process.wait(), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    reader.process.kill()
                await reader.process.wait()
            if reader.pump is not None:
                reader.pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader.pump

    async def _pump(self, reader: ReaderProcess) -> None:
        assert reader.process.stdout is not None
        async for line in reader.process.stdout:
            message = json.loads(line)
            if "opening" in message:
                reader.opening = (message["opening"], message["failed"])
            elif "connected" in message:
                reader.opening = (message["connected"], message["failed"])
                reader.connected.set_result(message)
            elif "complete" in message:
                reader.completed.add(message["complete"])
                self.changed.set()
            elif "report" in message and reader.report is not None and not reader.report.done():
                reader.report.set_result(message["report"])
        await reader.process.wait()
        reader.gone = True
        self.changed.set()
        for future in (reader.connected, reader.report):
            if future is not None and not future.done():
                future.set_exception(reader.failure())

    async def wait_connected(self, stall_timeout: float, label: str) -> float:
        """Wait until every process has opened its connections; the seconds that took. A
        BenchError says what went wrong if any connection could not be opened, or if no new
        one was opened for ``stall_timeout`` seconds."""
        started = last_change = last_told = time.monotonic()
        seen = (-1, -1)
        while not all(reader.connected.done() for reader in self.readers):
            now = time.monotonic()
            opened = sum(reader.opening[0] for reader in self.readers)
            failed = sum(reader.opening[1] for reader in self.readers)
            if (opened, failed) != seen:
                seen, last_change = (opened, failed), now
            elif now - last_change > stall_timeout:
                raise BenchError(
                    f"{label} no reader connection was opened for {stall_timeout:g} s: {opened:,} of "
                    f"{self.count:,} are open ({failed:,} failed); see the server's log and the "
                    f"readers' logs, or allow longer with --connect-timeout"
                )
            if now - last_told >= 30:
                progress(f"{label} ... {opened:,} of {self.count:,} open after {now - started:.0f} s")
                last_told = now
            for reader in self.readers:
                if reader.gone:
                    raise reader.failure()
            await asyncio.sleep(0.5)
        results = [reader.connected.result() for reader in self.readers]
        failed = sum(result["failed"] for result in results)
        if failed:
            errors: Counter[str] = Counter()
            for result in results:
                errors.update(result["errors"])
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            listing = "\n".join(f"  {count} x {message}" for message, count in errors.most_common(5))
            raise BenchError(
                f"only {self.count - failed:,} of {self.count:,} WebSocket connections to {self.url} "
                f"could be opened:\n{listing}\n"
                f"Check the open-file limits (here soft {soft}, hard {hard}; `Too many open files` "
                f"means a process ran out), the server's log, net.core.somaxconn and "
                f"net.ipv4.ip_local_port_range; or use fewer --readers / more --reader-processes."
            )
        return time.monotonic() - started

    async def wait_complete(self, k: int, timeout: float) -> bool:
        """Wait until every reader has its ``k``-th event frame (False after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while True:
            self.changed.clear()
            if all(k in reader.completed for reader in self.readers):
                return True
            for reader in self.readers:
                if reader.gone:
                    raise reader.failure()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def collect(self) -> dict[str, Any]:
        """Every reader's arrival times (one list per connection), other frames, closes, sizes."""
        loop = asyncio.get_running_loop()
        for reader in self.readers:
            reader.report = loop.create_future()
            assert reader.process.stdin is not None
            reader.process.stdin.write(b"report\n")
            await reader.process.stdin.drain()
        reports = await asyncio.wait_for(asyncio.gather(*(r.report for r in self.readers if r.report)), 120)
        closed: Counter[str] = Counter()
        for report in reports:
            closed.update(report["closed"])
        return {
            "times": [times for report in reports for times in report["times"]],
            "others": sum(sum(report["others"]) for report in reports),
            "late": [at for report in reports for at in report["late"]],
            "closed": dict(closed),
            "sizes": reports[0]["sizes"] if reports else [],
        }


# --- one measurement ------------------------------------------------------------------------


@dataclass
class Measurement:
    """One server with N readers: the windows of its triggers and what the readers saw."""

    server: str
    readers: int
    round: int
    connect_seconds: float = math.nan
    rss_mib: float = math.nan
    load_before: float = math.nan
    trigger_cost_ns: list[int] = field(default_factory=list)  # server CPU per trigger, no readers
    idle_rate: float = 0.0  # server CPU ns per wall ns in the gaps between the windows
    gaps: list[tuple[int, int]] = field(default_factory=list)  # (start, end) of those gaps
    settle_seconds: list[float] = field(
        default_factory=list
    )  # how long each window stayed open after delivery
    windows: list[Window] = field(default_factory=list)  # the measured triggers, 1..posts
    latencies: list[int] = field(default_factory=list)  # ns from "accepted" to frame received
    from_sent: list[int] = field(default_factory=list)  # ns from "sent" to frame received
    spans: list[int] = field(default_factory=list)  # ns from "accepted" to the last reader's frame
    delivered: int = 0  # measured frames received (warm-up excluded)
    expected: int = 0
    extra: int = 0  # event frames beyond one per trigger (duplicates)
    other_frames: int = 0  # hello excluded: heartbeats
    idle_heartbeats: int = 0  # heartbeats that arrived in the gaps between the windows
    window_heartbeats: int = 0  # and in the measured windows
    closed_early: dict[str, int] = field(default_factory=dict)
    frame_sizes: list[int] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.expected - self.delivered

    def latency_ms(self, p: float) -> float:
        return percentile(self.latencies, p) / 1e6

    @property
    def server_cpu_ns(self) -> float:
        """Server CPU in the windows, less what the server spends idle over the same time."""
        return sum(w.server for w in self.windows) - self.idle_rate * sum(w.wall for w in self.windows)

    @property
    def cpu_ms_per_1k(self) -> float:
        """Server CPU in ms per 1,000 delivered frames (idle subtracted)."""
        return self.server_cpu_ns / self.delivered / 1e6 * 1000 if self.delivered else math.nan

    @property
    def fanout_cpu_ns(self) -> float:
        """``server_cpu_ns`` less what the triggers cost with no reader connected."""
        return self.server_cpu_ns - percentile(self.trigger_cost_ns, 50) * len(self.windows)

    @property
    def fanout_ms_per_1k(self) -> float:
        return self.fanout_cpu_ns / self.delivered / 1e6 * 1000 if self.delivered else math.nan

    def share(self, name: str) -> float:
        """CPU of ``name`` (server, readers, own, machine) while updates were being delivered,
        in % of one core."""
        wall = sum(w.delivery["wall"] for w in self.windows)
        return 100 * sum(w.delivery[name] for w in self.windows) / wall if wall else math.nan

    @property
    def idle_part(self) -> float:
        """How much of the server's CPU in the windows was subtracted as idle, in %."""
        used = sum(w.server for w in self.windows)
        return 100 * self.idle_rate * sum(w.wall for w in self.windows) / used if used else math.nan

    @property
    def others_share(self) -> float:
        """Every other process on the host during delivery, in % of one core."""
        return self.share("machine") - self.share("server") - self.share("readers") - self.share("own")


@dataclass
class Profiler:
    """py-spy recording one server while it is measured (``--profile``), with native frames,
    so that time in CPython's cyclic garbage collector shows as such."""

    process: subprocess.Popen[bytes] | None
    output: Path
    log: Path

    @classmethod
    def start(cls, enabled: bool, pid: int, output: Path) -> Profiler:
        log = output.with_suffix(".log")
        if not enabled:
            return cls(None, output, log)
        output.unlink(missing_ok=True)
        py_spy = Path(sys.executable).with_name("py-spy")
        command = [str(py_spy), "record", "--pid", str(pid), "--native", "--format", "raw"]
        with log.open("wb") as log_file:
            process = subprocess.Popen(
                [*command, "--rate", "200", "--output", str(output)],
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        return cls(process, output, log)

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.output.exists():
            progress(f"py-spy wrote no profile; its log ({self.log}):\n{log_tail(self.log)}")


async def settled(pid: int, reader_pids: Sequence[int], background: float, limit: float) -> Sample:
    """Wait until the server is back to its background rate (work an update left behind, such
    as garbage collection, has run), or ``limit`` seconds; the sample taken then.

    Back to background: a 100 ms stretch in which the server used at most twice the rate of
    the quiet gap before the update, and at most 5% of a core more than that."""
    deadline = time.monotonic() + limit
    previous = Sample.take(pid, reader_pids)
    while time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        current = Sample.take(pid, reader_pids)
        rate = (current.server - previous.server) / (current.wall - previous.wall)
        if rate <= max(2 * background, background + 0.05):
            return current
        previous = current
    return Sample.take(pid, reader_pids)


async def measure(
    target: Target,
    readers: int,
    round_number: int,
    counter: list[int],
    args: argparse.Namespace,
    workdir: Path,
) -> Measurement:
    """Connect ``readers`` readers to ``target``, warm up, then time ``args.posts`` triggers."""
    result = Measurement(server=target.name, readers=readers, round=round_number)
    # A smoke run has no time to let the pings settle: its figures are not measurements anyway.
    ping_wait = 0.0 if args.smoke else PING_SECONDS + 1
    label = f"[{target.name:<8} {readers:>6,}]"
    result.load_before = os.getloadavg()[0]

    def next_number() -> int:
        counter[0] += 1
        return counter[0]

    # What one trigger costs the server with nobody to deliver to (HTTP, auth, the write...).
    for _ in range(POST_COST_SAMPLES):
        used = cpu_ns(target.pid)
        await target.trigger(next_number())
        await asyncio.sleep(0.05)
        result.trigger_cost_ns.append(cpu_ns(target.pid) - used)

    progress(
        f"{label} connecting {readers:,} readers from {min(readers, args.reader_processes)} processes ..."
    )
    url = await target.reader_url()
    async with ReaderFleet(url, readers, args.reader_processes, args.connect_concurrency, workdir) as fleet:
        result.connect_seconds = await fleet.wait_connected(args.connect_timeout, label)
        target.check_alive()
        result.rss_mib = rss_mib(target.pid)
        progress(
            f"{label} connected in {result.connect_seconds:.1f} s; server RSS {result.rss_mib:,.0f} MiB; "
            f"load average {os.getloadavg()[0]:.2f}; waiting {ping_wait:g} s for the keepalive "
            "pings to reach their steady rate ..."
        )
        # Both servers ping every connection every 20 s, the first time 20 s after it opened.
        # Past that, they run at their steady rate in the gaps and the measured windows alike.
        await asyncio.sleep(ping_wait)
        target.check_alive()
        profile_path = args.results.with_name(f"fanout-profile-{target.name}-{readers}.txt")
        profiler = Profiler.start(args.profile, target.pid, profile_path)
        try:
            # Warm-up: also restarts every liveblog reader's heartbeat timer, so none falls due
            # between the measured updates (all < 15 s apart) unless delivery is very slow.
            await target.trigger(next_number())
            if not await fleet.wait_complete(0, args.timeout):
                raise BenchError(
                    f"{label} the warm-up frame did not reach every reader in {args.timeout:g} s"
                )
            progress(f"{label} posting {args.posts} updates, each after {args.interval:g} s of quiet ...")
            # Work an update leaves behind (the garbage collector's, mostly) can run after the
            # last reader has the frame: the window stays open until the server is back to its
            # background rate (at most ``--settle`` seconds). The
            # idle rate comes from the quiet gaps between the windows: the same stretch of
            # time, so the same mix of keepalive pings (which follow the pattern in which the
            # connections opened, every 20 s) and of liveblog's 2 s sweeps.
            await asyncio.sleep(args.settle)
            idle_cpu = 0
            for k in range(1, args.posts + 1):
                quiet = Sample.take(target.pid, fleet.pids)
                await asyncio.sleep(args.interval)
                before = Sample.take(target.pid, fleet.pids)
                result.gaps.append((quiet.wall, before.wall))
                idle_cpu += before.server - quiet.server
                background = (before.server - quiet.server) / (before.wall - quiet.wall)
                sent = time.monotonic_ns()
                await target.trigger(next_number())
                accepted = time.monotonic_ns()
                complete = await fleet.wait_complete(k, args.timeout)
                delivered = Sample.take(target.pid, fleet.pids)
                after = await settled(target.pid, fleet.pids, background, args.settle)
                result.settle_seconds.append((after.wall - delivered.wall) / 1e9)
                result.windows.append(Window.between(before, delivered, after, sent, accepted, complete))
                if not complete:
                    progress(f"{label} update {k}: not every reader had its frame after {args.timeout:g} s")
        finally:
            profiler.stop()
        gap_wall = sum(end - start for start, end in result.gaps)
        result.idle_rate = idle_cpu / gap_wall if gap_wall else 0.0
        target.check_alive()
        report = await fleet.collect()

    posts = args.posts
    result.expected = posts * readers
    result.other_frames = report["others"]
    result.closed_early = report["closed"]
    result.frame_sizes = report["sizes"]
    for at in report["late"]:
        if any(start <= at <= end for start, end in result.gaps):
            result.idle_heartbeats += 1
        elif any(w.start <= at <= w.start + w.wall for w in result.windows):
            result.window_heartbeats += 1
    arrivals: list[list[int]] = [[] for _ in range(posts)]
    for times in report["times"]:
        result.extra += max(0, len(times) - (posts + 1))
        for k in range(1, min(len(times), posts + 1)):
            arrivals[k - 1].append(times[k])
    for window, received in zip(result.windows, arrivals, strict=True):
        result.delivered += len(received)
        result.latencies += [at - window.accepted for at in received]
        result.from_sent += [at - window.sent for at in received]
        if received:
            result.spans.append(max(received) - window.accepted)
    progress(
        f"{label} p50 {result.latency_ms(50):.1f} ms, p99 {result.latency_ms(99):.1f} ms; "
        f"server {fmt(result.cpu_ms_per_1k, 1)} ms CPU per 1k frames, busy {fmt(result.share('server'), 0)}% "
        f"of a core, readers {fmt(result.share('readers'), 0)}%, others {fmt(result.others_share, 0)}%; "
        f"windows open {statistics.mean(result.settle_seconds or [math.nan]):.1f} s on average after "
        "delivery; "
        f"{result.lost} lost, {result.extra} extra; heartbeats in the gaps/windows "
        f"{result.idle_heartbeats}/{result.window_heartbeats}"
    )
    return result


# --- the run --------------------------------------------------------------------------------


async def capture_frame(database: Database, workdir: Path, token: str, max_readers: int) -> str:
    """Open the story and post one update with one reader listening: the event frame it got."""
    async with liveblog_server(database, workdir, token, max_readers) as (server, client):
        await open_story(server, token)
        target = liveblog_target(server, client)
        async with connect(
            await target.reader_url(), compression=None, proxy=None, open_timeout=REQUEST_TIMEOUT
        ) as ws:
            await ws.recv()  # hello
            await target.trigger(0)
            while True:
                message = await asyncio.wait_for(ws.recv(), REQUEST_TIMEOUT)
                if isinstance(message, str) and message.startswith(EVENT_PREFIX):
                    return message


async def current_version(server: Server) -> int:
    """The story's version, from the hello of a reader that has everything (``after`` = a lot)."""
    port = server.base_url.rsplit(":", 1)[1]
    url = f"ws://127.0.0.1:{port}/api/v1/stories/{SLUG}/live?after=0"
    async with connect(url, compression=None, proxy=None, open_timeout=REQUEST_TIMEOUT, max_size=None) as ws:
        hello = json.loads(await ws.recv())
    return int(hello["version"])


def preflight(args: argparse.Namespace) -> str:
    """Raise the open-file limit (inherited by every process started from here) and check it,
    and the ephemeral port range, against the largest number of readers."""
    if not sys.platform.startswith("linux"):
        raise BenchError("this benchmark reads /proc: it runs on Linux only")
    if not LIVEBLOG.exists():
        raise BenchError(f"{LIVEBLOG} not found: run this with the project's virtualenv python")
    if args.profile and not Path(sys.executable).with_name("py-spy").exists():
        raise BenchError("--profile needs py-spy in the virtualenv: .venv/bin/pip install py-spy")
    limit = raise_fd_limit()
    most = max(args.readers)
    per_process = math.ceil(most / args.reader_processes)
    need = max(most, per_process) + FD_HEADROOM
    if limit < need:
        raise BenchError(
            f"the open-file limit is {limit} (the hard limit; `ulimit -Hn`), but a server with "
            f"{most:,} readers needs about {need:,} descriptors. Raise the hard limit "
            f"(limits.conf, systemd LimitNOFILE, or `ulimit -Hn` as root) or use fewer --readers."
        )
    low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    if high - low + 1 < most + FD_HEADROOM:
        raise BenchError(
            f"net.ipv4.ip_local_port_range ({low}-{high}) has fewer ports than {most:,} readers need"
        )
    somaxconn = Path("/proc/sys/net/core/somaxconn").read_text().strip()
    return f"open-file limit {limit}, ports {low}-{high}, somaxconn {somaxconn}"


async def run(args: argparse.Namespace) -> tuple[list[Measurement], dict[str, Any]]:
    limits = preflight(args)
    setup: dict[str, Any] = {
        "source": f"liveblog {source_revision()}",
        "python": f"Python {platform.python_version()}",
        "websockets": f"websockets {websockets_version}",
        "uvicorn": f"uvicorn {uvicorn_version()}",
        "sqlite": f"SQLite {sqlite3.sqlite_version}",
        "limits": limits,
        "load_start": os.getloadavg(),
    }
    progress(f"load average {fmt_load(setup['load_start'])}; {limits}")
    measurements: list[Measurement] = []
    counter = [0]
    async with fresh_database("sqlite", "") as (database, workdir):
        token = prepare(database, workdir, "fanout")
        progress("open the story, capture one event frame ...")
        max_readers = max(args.readers)
        frame = await capture_frame(database, workdir, token, max_readers)
        setup["frame_bytes"] = len(frame.encode())
        progress(f"liveblog's event frame is {setup['frame_bytes']:,} bytes; the plain server sends the same")
        for round_number in range(1, args.rounds + 1):
            for index, readers in enumerate(args.readers):
                order = SERVERS if (round_number + index) % 2 else SERVERS[::-1]
                for name in order:
                    if name == "liveblog":
                        async with liveblog_server(database, workdir, token, max_readers) as (server, client):
                            target = liveblog_target(server, client)
                            progress(
                                f"[liveblog {readers:>6,}] round {round_number}: server pid {target.pid}"
                            )
                            measurements.append(
                                await measure(target, readers, round_number, counter, args, workdir)
                            )
                    else:
                        async with plain_server(workdir, frame) as target:
                            progress(
                                f"[plain    {readers:>6,}] round {round_number}: server pid {target.pid}"
                            )
                            measurements.append(
                                await measure(target, readers, round_number, counter, args, workdir)
                            )
    setup["load_end"] = os.getloadavg()
    return measurements, setup


def uvicorn_version() -> str:
    import uvicorn

    return uvicorn.__version__


# --- the report -----------------------------------------------------------------------------


def fmt_load(load: Sequence[float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


@dataclass
class Pooled:
    """Every round of one (server, readers) pooled: all latencies, all windows."""

    runs: list[Measurement]

    def latency_ms(self, p: float) -> float:
        return percentile([lat for run in self.runs for lat in run.latencies], p) / 1e6

    @property
    def cpu_ms_per_1k(self) -> float:
        delivered = sum(run.delivered for run in self.runs)
        cpu = sum(run.server_cpu_ns for run in self.runs)
        return cpu / delivered / 1e6 * 1000 if delivered else math.nan

    @property
    def fanout_ms_per_1k(self) -> float:
        delivered = sum(run.delivered for run in self.runs)
        cpu = sum(run.fanout_cpu_ns for run in self.runs)
        return cpu / delivered / 1e6 * 1000 if delivered else math.nan


def pooled(measurements: Sequence[Measurement], server: str, readers: int) -> Pooled:
    return Pooled([m for m in measurements if m.server == server and m.readers == readers])


def report(measurements: Sequence[Measurement], setup: dict[str, Any], args: argparse.Namespace) -> str:
    sizes = sorted(dict.fromkeys(m.readers for m in measurements))
    rounds = f"{args.rounds} rounds, pooled" if args.rounds > 1 else "1 round"
    lines = [
        "# liveblog: WebSocket fan-out vs a plain `websockets` broadcast()",
        "",
        (
            f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.node()} ({os.cpu_count()} cores): "
            f"{setup['source']}; {setup['python']}; {setup['uvicorn']} (ws=websockets-sansio, no "
            f"per-message deflate); {setup['websockets']}; {setup['sqlite']}. One story; readers in "
            f"{args.reader_processes} separate processes; per server and size 1 warm-up + {args.posts} "
            f"updates, each after {args.interval:g} s of quiet, each CPU window closing when the server is "
            f"back to its background rate (at most {args.settle:g} s after the last reader had the frame); "
            f"{setup['frame_bytes']:,}-byte text frames; {rounds}."
            + (" **Profiled with py-spy: CPU figures include its overhead.**" if args.profile else "")
        ),
        "",
        (
            f"Load average (1/5/15 min) at the start {fmt_load(setup['load_start'])}, "
            f"at the end {fmt_load(setup['load_end'])}."
        ),
        "",
        *smoke_note(args),
    ]
    ratios: dict[int, float] = {}
    rows: list[list[str]] = []
    for readers in sizes:
        live, plain = pooled(measurements, "liveblog", readers), pooled(measurements, "plain", readers)
        ratio = live.cpu_ms_per_1k / plain.cpu_ms_per_1k if plain.cpu_ms_per_1k > 0 else math.nan
        ratios[readers] = ratio
        latencies = [fmt(one.latency_ms(p), 1) for one in (live, plain) for p in (50, 99)]
        cpu = [fmt(live.cpu_ms_per_1k, 1), fmt(plain.cpu_ms_per_1k, 1), fmt(ratio, 2)]
        rows.append([f"{readers:,}", *latencies, *cpu])
    header = ["readers", "liveblog p50 ms", "liveblog p99 ms", "plain p50 ms", "plain p99 ms"]
    cpu_header = ["liveblog CPU ms / 1k frames", "plain CPU ms / 1k frames", "CPU ratio"]
    lines += table([*header, *cpu_header], "rrrrrrrr", rows)
    lines.append("")
    if GOAL_READERS in sizes:
        p99 = pooled(measurements, "liveblog", GOAL_READERS).latency_ms(99)
        met = "met" if p99 <= GOAL_P99_MS else "NOT met"
        lines.append(
            f"Goal: p99 <= {GOAL_P99_MS / 1000:g} s at {GOAL_READERS:,} readers: **{met}** "
            f"(liveblog p99 {fmt(p99, 0)} ms)."
        )
    measured = {readers: ratio for readers, ratio in ratios.items() if not math.isnan(ratio)}
    if measured:
        met = "met" if all(ratio <= GOAL_CPU_RATIO for ratio in measured.values()) else "NOT met"
        listing = ", ".join(f"{ratio:.2f} at {readers:,}" for readers, ratio in measured.items())
        lines.append(
            f"Goal: server CPU per frame <= {GOAL_CPU_RATIO} x the plain broadcast: **{met}** "
            f"(ratio {listing})."
        )
    lines += [
        "",
        (
            "Each measurement. CPU shares are in % of one core while updates were being delivered "
            "(from just before each trigger until every reader had the frame); `server idle` is the "
            "server's rate in the quiet gaps, which is subtracted from the windows:"
        ),
        "",
    ]
    header = ["readers", "server", "round", "connect s", "server RSS MiB", "trigger RTT ms"]
    header += ["p50 ms", "p99 ms", "max ms", "CPU ms / 1k frames", "less trigger: ms / 1k frames"]
    header += ["server busy", "server idle (part of window CPU)", "window open after delivery s"]
    header += ["readers", "others", "heartbeats in gaps/windows", "load 1 min", "lost", "extra"]
    rows = []
    for m in sorted(measurements, key=lambda m: (m.readers, m.server, m.round)):
        rtt = percentile([w.accepted - w.sent for w in m.windows], 50) / 1e6
        settle = fmt(statistics.mean(m.settle_seconds), 1) if m.settle_seconds else "n/a"
        rows.append(
            [
                *(f"{m.readers:,}", m.server, str(m.round), fmt(m.connect_seconds, 1), fmt(m.rss_mib, 0)),
                *(fmt(rtt, 1), *(fmt(m.latency_ms(p), 1) for p in (50, 99, 100))),
                *(fmt(m.cpu_ms_per_1k, 1), fmt(m.fanout_ms_per_1k, 1), f"{fmt(m.share('server'), 0)}%"),
                *(f"{fmt(100 * m.idle_rate, 1)}% ({fmt(m.idle_part, 0)}%)", settle),
                *(f"{fmt(m.share('readers'), 0)}%", f"{fmt(m.others_share, 0)}%"),
                *(
                    f"{m.idle_heartbeats}/{m.window_heartbeats}",
                    fmt(m.load_before, 2),
                    str(m.lost),
                    str(m.extra),
                ),
            ]
        )
    lines += table(header, "rlr" + "r" * (len(header) - 3), rows)
    costs = {
        name: percentile([c for m in measurements if m.server == name for c in m.trigger_cost_ns], 50) / 1e6
        for name in SERVERS
    }
    lines += [
        "",
        (
            f"A trigger with no reader connected costs the server {fmt(costs['liveblog'], 2)} ms CPU for "
            f"liveblog (the POST: HTTP, auth, append, read model, commit) and {fmt(costs['plain'], 2)} ms "
            "for the plain server (median); it is part of the per-frame figures above, and taken "
            "out of the `less trigger` column."
        ),
    ]
    marginal = []
    for readers in sizes:
        live, plain = pooled(measurements, "liveblog", readers), pooled(measurements, "plain", readers)
        if plain.fanout_ms_per_1k > 0:
            marginal.append(f"{live.fanout_ms_per_1k / plain.fanout_ms_per_1k:.2f} at {readers:,}")
    if marginal:
        lines.append(
            f"Without the triggers' own cost, the CPU ratio liveblog/plain is {', '.join(marginal)}."
        )
    sizes_seen = sorted({s for m in measurements if m.server == "liveblog" for s in m.frame_sizes})
    if sizes_seen:
        lines.append(
            f"liveblog's measured event frames were {sizes_seen[0]:,}-{sizes_seen[-1]:,} bytes; "
            f"the plain server sent {setup['frame_bytes']:,}."
        )
    mixed = [m for m in measurements if m.idle_heartbeats or m.window_heartbeats]
    if mixed:
        which = ", ".join(f"{m.server} {m.readers:,} (round {m.round})" for m in mixed)
        lines.append(
            f"Heartbeats fell between or inside the measured windows of {which}: updates took so "
            "long to reach every reader that 15 s heartbeat timers ran out. Their CPU figures mix "
            "heartbeat frames in (those in the gaps are subtracted with the idle rate, those in "
            "the windows are not counted as frames)."
        )
    closed = Counter[str]()
    for m in measurements:
        closed.update(m.closed_early)
    if closed:
        lines.append(f"Connections closed during a measurement (close code: count): {dict(closed)}.")
    failures = [m for m in measurements if m.lost or m.extra]
    lines += [""]
    if failures:
        lines += ["Frames lost or duplicated:", ""]
        lines += [
            f"- {m.server}, {m.readers:,} readers, round {m.round}: {m.lost} lost, {m.extra} extra"
            for m in failures
        ]
    else:
        total = sum(m.delivered for m in measurements)
        lines.append(f"Every reader received every measured frame exactly once ({total:,} frames).")
    if args.profile:
        lines += ["", *profile_summary(sizes, args.results)]
    return "\n".join(lines) + "\n"


def profile_summary(sizes: Sequence[int], results: Path, top: int = 15) -> list[str]:
    """Where each profiled server's CPU went: the innermost Python function of each sample
    (time in the cyclic garbage collector counted apart), and the functions with callees.

    py-spy counts some threads as busy while they wait (the event loop in ``select``,
    aiosqlite's threads on their queue): samples whose innermost Python frame is such a wait,
    and not the garbage collector, are left out."""
    lines: list[str] = ["## Profiles (py-spy --native, on-CPU samples; waits left out)"]
    for readers in sizes:
        for name in SERVERS:
            path = results.with_name(f"fanout-profile-{name}-{readers}.txt")
            if not path.exists():
                continue
            own: Counter[str] = Counter()
            total: Counter[str] = Counter()
            samples = 0
            for line in path.read_text().splitlines():
                stack, _, text = line.rpartition(" ")
                if not text.isdigit():
                    continue
                count = int(text)
                raw = [frame for frame in stack.split(";") if PYTHON_FRAME.search(frame)]
                in_gc = "gc_collect" in stack
                if not in_gc and raw and IDLE_LEAF.search(raw[-1]):
                    continue
                python = [re.sub(r":\d+\)$", ")", frame) for frame in raw]
                innermost = python[-1] if python else "(no Python frame)"
                samples += count
                own[GC_LABEL if in_gc else innermost] += count
                for frame in {*python, *([GC_LABEL] if in_gc else [])}:
                    total[frame] += count
            if not samples:
                continue
            lines += [
                "",
                f"### {name}, {readers:,} readers ({samples:,} samples; raw stacks in `{path.name}`)",
                "",
                "| own % | innermost Python function | | with callees % | function |",
                "|---:|---|---|---:|---|",
            ]
            # Leave out the frames nearly every sample passes through (click, uvicorn.run, the loop).
            inner = Counter({frame: count for frame, count in total.items() if count < 0.8 * samples})
            for (f1, c1), (f2, c2) in zip(own.most_common(top), inner.most_common(top), strict=False):
                lines.append(f"| {100 * c1 / samples:.1f} | `{f1}` | | {100 * c2 / samples:.1f} | `{f2}` |")
    return lines


# --- arguments ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--readers",
        type=int_list,
        default=[1000, 5000, 10000],
        metavar="LIST",
        help="comma-separated numbers of readers [1000,5000,10000]",
    )
    parser.add_argument("--posts", type=int, default=5, help="measured updates per server and size [5]")
    parser.add_argument(
        "--reader-processes",
        type=int,
        default=2,
        metavar="N",
        help="processes the readers are spread over [2]",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure every size and server this many times, alternating [1]"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="quiet time before each measured update (the idle rate is measured in it) [2]",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=3.0,
        metavar="SECONDS",
        help="longest a CPU window stays open after the last reader has the frame, waiting for the "
        "server to return to its background rate [3]",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long an update may take to reach every reader [30]",
    )
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=50,
        metavar="N",
        help="WebSocket handshakes in flight per reader process [50]",
    )
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up when no reader connection has opened for this long [60]",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="record each server with py-spy during its measured phase (inflates the CPU figures)",
    )
    # Few readers, in two processes, two measured updates each: every path, in seconds.
    smoke = {"readers": [20], "posts": 2, "interval": 0.2, "settle": 0.2, "connect_timeout": 30.0}
    args = parse_bench_args(parser, argv, smoke=smoke, results=RESULTS)
    if args.posts < 1 or args.reader_processes < 1 or args.rounds < 1 or args.connect_concurrency < 1:
        parser.error("--posts, --reader-processes, --rounds and --connect-concurrency must be at least 1")
    if args.interval <= 0 or args.timeout <= 0 or args.settle < 0:
        parser.error("--interval and --timeout must be positive, --settle not negative")
    if args.interval + args.settle + 3 >= HEARTBEAT_SECONDS:
        parser.error(
            f"keep --interval + --settle under {HEARTBEAT_SECONDS - 3:g} s: liveblog's heartbeats "
            "would fall between the updates"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_reader"]:
        url, count, concurrency = argv[1], int(argv[2]), int(argv[3])
        asyncio.run(reader_main(url, count, concurrency, open_timeout=60.0))
        return 0
    if argv[:1] == ["_plain"]:
        asyncio.run(plain_main(int(argv[1]), Path(argv[2])))
        return 0
    args = parse_args(argv)
    measurements, setup = execute(run(args), stopped="the servers and readers were stopped")
    publish(report(measurements, setup, args), args.results)
    return 1 if any(m.lost or m.extra for m in measurements) else 0


if __name__ == "__main__":
    sys.exit(main())
