"""POST /updates throughput and latency, side by side with the database's raw INSERT rate.

For each backend (SQLite, PostgreSQL) this creates a fresh database, runs ``liveblog migrate``,
creates an editor token, starts ``liveblog serve`` as a subprocess and opens one published
story. Then, for each concurrency N (1, 4, 16 by default) it runs two phases back to back:

* **API**: N concurrent editors, sharing one ``httpx.AsyncClient`` pool, each POST
  ``/api/v1/stories/bench/updates`` in a loop. Every response must be 201; anything else
  is counted as an error. Reported: successful requests per second, p50 and p99 latency.
* **raw**: N connections to the same database, each doing single-row INSERTs into a
  simple table (``id``, ``stream``, ``data``), every INSERT its own autocommitted
  transaction: asyncpg for PostgreSQL, aiosqlite (WAL, ``synchronous=NORMAL``, like the
  app) for SQLite. Reported: transactions per second.

The ratio API/raw says how much of the database's single-row commit rate the API keeps.
The goal: at 16 editors on PostgreSQL, API throughput of at least 0.5 x the raw rate.

Each phase first runs ``--warmup`` seconds unmeasured, then ``--duration`` seconds measured
(requests *started* in that window count; the window ends when the last of them finishes).
CPU use during the measured window is sampled from ``/proc`` (Linux only): the server
process, this process (the load generator, and for raw SQLite also SQLite itself) and all
PostgreSQL server processes on the host (including other people's, if they are busy).

The results go to stdout as Markdown and to ``bench/results/latest.md``; progress goes to
stderr. Exit status: 0, or 1 if any request or INSERT failed, 2 if the run could not be done.

    .venv/bin/python bench/api_throughput.py [--duration 5] [--backends sqlite,postgresql]
                                             [--concurrency 1,4,16]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
import httpx

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "latest.md"
LIVEBLOG = Path(sys.executable).with_name("liveblog")
BACKENDS = ("sqlite", "postgresql")
SLUG = "bench"
GOAL_BACKEND, GOAL_EDITORS, GOAL_RATIO = "postgresql", 16, 0.5
SERVER_START_TIMEOUT = 30.0
REQUEST_TIMEOUT = 30.0
UPDATE_BODY = (
    "Bench update {n} from editor {editor}: the minister has left the building and is expected "
    "to speak to reporters shortly. *More to follow.*"
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The benchmark cannot go on; the message says why and what to do."""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- measuring ------------------------------------------------------------------------------


@dataclass
class Phase:
    """One measured phase: the latency of each successful operation, and the failures."""

    elapsed: float
    latencies: list[float]
    errors: Counter[str]
    cpu: dict[str, float | None]

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, p: float) -> float:
        """The nearest-rank ``p``-th percentile latency in milliseconds (NaN without data)."""
        if not self.latencies:
            return math.nan
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (raises OSError once it is gone)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds so far of every process on this host named ``postgres``."""
    seen: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                seen[int(entry.name)] = process_cpu_seconds(int(entry.name))
        except OSError:
            continue  # the process ended while we looked
    return seen


@dataclass
class CpuProbe:
    """CPU time of the server, of this process and of PostgreSQL, between two samples."""

    server_pid: int | None
    watch_postgres: bool
    _wall: float = 0.0
    _server: float = 0.0
    _own: float = 0.0
    _postgres: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        self._wall = time.perf_counter()
        self._own = self._own_seconds()
        self._server = process_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        self._postgres = postgres_cpu_seconds() if self.watch_postgres else {}

    def stop(self) -> dict[str, float | None]:
        """CPU use since ``start`` in percent of one core, per process group (None: not watched)."""
        wall = time.perf_counter() - self._wall
        used: dict[str, float | None] = {
            "client": self._own_seconds() - self._own,
            "server": process_cpu_seconds(self.server_pid) - self._server if self.server_pid else None,
            "postgres": None,
        }
        if self.watch_postgres:
            now = postgres_cpu_seconds()
            used["postgres"] = sum(seconds - self._postgres.get(pid, 0.0) for pid, seconds in now.items())
        return {name: None if s is None else 100 * s / wall for name, s in used.items()}

    @staticmethod
    def _own_seconds() -> float:
        times = os.times()
        return times.user + times.system


Operation = Callable[[int], Awaitable[None]]


async def measure(
    operations: Sequence[Operation], *, warmup: float, duration: float, probe: CpuProbe
) -> Phase:
    """Run each operation in its own loop until the window closes; time the measured ones.

    ``operations[i]`` is called with a running counter; it raises to report a failure.
    """
    measure_from = time.perf_counter() + warmup
    stop_at = measure_from + duration
    latencies: list[float] = []
    errors: Counter[str] = Counter()

    async def loop(operation: Operation) -> None:
        n = 0
        while (started := time.perf_counter()) < stop_at:
            n += 1
            try:
                await operation(n)
            except Exception as exc:  # noqa: BLE001 - a benchmark counts every failure
                first_line = str(exc).strip().splitlines()[:1]
                errors[": ".join([type(exc).__name__, *first_line])[:160]] += 1
                continue
            if started >= measure_from:
                latencies.append(time.perf_counter() - started)

    async def sample() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        probe.start()

    sampler = asyncio.create_task(sample())
    await asyncio.gather(*(loop(operation) for operation in operations))
    await sampler
    cpu = probe.stop()
    return Phase(elapsed=time.perf_counter() - measure_from, latencies=latencies, errors=errors, cpu=cpu)


# --- the API phase --------------------------------------------------------------------------


class UnexpectedStatus(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}: {response.text[:100]}")


async def api_phase(
    base_url: str, token: str, editors: int, *, warmup: float, duration: float, probe: CpuProbe
) -> Phase:
    limits = httpx.Limits(max_connections=editors, max_keepalive_connections=editors)
    async with httpx.AsyncClient(
        base_url=base_url,
        headers={"Authorization": f"Bearer {token}"},
        limits=limits,
        timeout=REQUEST_TIMEOUT,
    ) as client:

        def editor(index: int) -> Operation:
            async def post(n: int) -> None:
                body = {"body": UPDATE_BODY.format(n=n, editor=index)}
                response = await client.post(f"/api/v1/stories/{SLUG}/updates", json=body)
                if response.status_code != 201:
                    raise UnexpectedStatus(response)

            return post

        return await measure(
            [editor(i) for i in range(editors)], warmup=warmup, duration=duration, probe=probe
        )


# --- the raw phase --------------------------------------------------------------------------


def raw_row(connection: int, n: int) -> tuple[str, str]:
    """A ``(stream, data)`` row about the size of an UpdatePosted event."""
    data = {"update_id": secrets.token_urlsafe(9), "body": UPDATE_BODY.format(n=n, editor=connection)}
    return SLUG, json.dumps(data)


async def raw_postgres_phase(
    dsn: str, connections: int, *, warmup: float, duration: float, probe: CpuProbe
) -> Phase:
    opened = [await asyncpg.connect(dsn) for _ in range(connections)]
    try:
        await opened[0].execute(
            "CREATE TABLE IF NOT EXISTS bench_raw "
            "(id bigserial PRIMARY KEY, stream text NOT NULL, data jsonb NOT NULL)"
        )

        def inserter(index: int, connection: asyncpg.Connection) -> Operation:
            async def insert(n: int) -> None:
                await connection.execute(
                    "INSERT INTO bench_raw (stream, data) VALUES ($1, $2::jsonb)", *raw_row(index, n)
                )

            return insert

        return await measure(
            [inserter(i, c) for i, c in enumerate(opened)], warmup=warmup, duration=duration, probe=probe
        )
    finally:
        for connection in opened:
            await connection.close()


async def raw_sqlite_phase(
    path: Path, connections: int, *, warmup: float, duration: float, probe: CpuProbe
) -> Phase:
    opened: list[aiosqlite.Connection] = []
    try:
        for _ in range(connections):
            connection = await aiosqlite.connect(path, isolation_level=None)
            opened.append(connection)
            # The app's settings (liveblog/store/database.py).
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                await connection.execute(f"PRAGMA {pragma}")
        await opened[0].execute(
            "CREATE TABLE IF NOT EXISTS bench_raw "
            "(id INTEGER PRIMARY KEY, stream TEXT NOT NULL, data TEXT NOT NULL)"
        )

        def inserter(index: int, connection: aiosqlite.Connection) -> Operation:
            async def insert(n: int) -> None:
                await connection.execute(
                    "INSERT INTO bench_raw (stream, data) VALUES (?, ?)", raw_row(index, n)
                )

            return insert

        return await measure(
            [inserter(i, c) for i, c in enumerate(opened)], warmup=warmup, duration=duration, probe=probe
        )
    finally:
        for connection in opened:
            await connection.close()


# --- databases and the server ---------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A fresh database: its SQLAlchemy URL for the app, and how to reach it raw."""

    backend: str
    url: str
    raw_dsn: str | None = None  # PostgreSQL: a libpq URL for asyncpg
    raw_path: Path | None = None  # SQLite: the file

    async def raw_phase(self, connections: int, *, warmup: float, duration: float, probe: CpuProbe) -> Phase:
        if self.raw_dsn is not None:
            return await raw_postgres_phase(
                self.raw_dsn, connections, warmup=warmup, duration=duration, probe=probe
            )
        assert self.raw_path is not None
        return await raw_sqlite_phase(
            self.raw_path, connections, warmup=warmup, duration=duration, probe=probe
        )


async def check_postgres(admin_dsn: str) -> str:
    """The server's version and commit settings, or a BenchError saying it cannot be reached."""
    try:
        connection = await asyncpg.connect(admin_dsn, timeout=5)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise BenchError(
            f"PostgreSQL is unreachable at {admin_dsn}: {exc or type(exc).__name__}\n"
            "Start it (for example `pg_ctlcluster 15 main start`), pass --postgres-dsn, "
            "or run only --backends sqlite."
        ) from exc
    try:
        settings = [
            f"{name}={await connection.fetchval(f'SHOW {name}')}" for name in ("synchronous_commit", "fsync")
        ]
        return f"PostgreSQL {await connection.fetchval('SHOW server_version')} ({', '.join(settings)})"
    finally:
        await connection.close()


@asynccontextmanager
async def sqlite_database(workdir: Path) -> AsyncIterator[Database]:
    path = workdir / "bench.db"
    yield Database(backend="sqlite", url=f"sqlite+aiosqlite:///{path}", raw_path=path)


@asynccontextmanager
async def postgres_database(admin_dsn: str) -> AsyncIterator[Database]:
    """A new ``liveblog_bench_*`` database beside ``admin_dsn``'s, dropped on the way out."""
    name = f"liveblog_bench_{secrets.token_hex(4)}"
    await admin_execute(admin_dsn, f'CREATE DATABASE "{name}"')
    progress(f"[postgresql] created database {name}")
    raw_dsn = urlunsplit(urlsplit(admin_dsn)._replace(path=f"/{name}"))
    try:
        yield Database(
            backend="postgresql",
            url="postgresql+asyncpg://" + raw_dsn.split("://", 1)[1],
            raw_dsn=raw_dsn,
        )
    finally:
        try:
            await admin_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            progress(f"[postgresql] dropped database {name}")
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            progress(f"[postgresql] could not drop database {name}: {exc}; drop it by hand")


async def admin_execute(admin_dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def run_cli(database: Database, workdir: Path, *args: str) -> str:
    """Run ``liveblog ARGS`` against ``database``; its stdout, or a BenchError with its stderr."""
    done = subprocess.run(
        [str(LIVEBLOG), *args],
        env={**os.environ, "LIVEBLOG_DATABASE_URL": database.url},
        cwd=workdir,  # away from any .env file in the working tree
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(f"`liveblog {' '.join(args)}` failed ({done.returncode}):\n{done.stderr.strip()}")
    return done.stdout.strip()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(f"the server exited ({self.process.returncode}); its log:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@asynccontextmanager
async def running_server(database: Database, workdir: Path) -> AsyncIterator[Server]:
    """``liveblog serve`` on a free port, answering; stopped (killed if need be) on the way out."""
    port = free_port()
    log = workdir / "server.log"
    with log.open("wb") as log_file:
        # A plain Popen: instant to spawn, and its pid stays in /proc until we reap it.
        process = subprocess.Popen(  # noqa: ASYNC220
            [str(LIVEBLOG), "serve", "--port", str(port)],
            env={
                **os.environ,
                "LIVEBLOG_DATABASE_URL": database.url,
                "LIVEBLOG_LOG_LEVEL": "warning",
                # One bench token writes far faster than any editor: lift the per-token limit.
                "LIVEBLOG_WRITE_RATE_PER_MINUTE": "100000000",
                "LIVEBLOG_WRITE_BURST": "100000000",
            },
            cwd=workdir,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Server(process=process, base_url=f"http://127.0.0.1:{port}", log=log)
    try:
        await wait_until_ready(server)
        progress(f"[{database.backend}] server pid {process.pid} answering on {server.base_url}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            server.check_alive()
            try:
                if (await client.get("/api/v1/stories")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise BenchError(
        f"the server did not answer within {SERVER_START_TIMEOUT:.0f} s; its log:\n{server.log_tail()}"
    )


async def open_story(server: Server, token: str) -> None:
    async with httpx.AsyncClient(base_url=server.base_url, timeout=REQUEST_TIMEOUT) as client:
        response = await client.post(
            "/api/v1/stories",
            json={"title": "Benchmark story", "slug": SLUG, "publish": True},
            headers={"Authorization": f"Bearer {token}"},
        )
    if response.status_code != 201:
        raise BenchError(f"opening the story failed: HTTP {response.status_code} {response.text[:300]}")


# --- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    backend: str
    editors: int
    api: Phase
    raw: Phase

    @property
    def ratio(self) -> float:
        return self.api.rate / self.raw.rate if self.raw.rate > 0 else math.nan


async def bench_backend(database: Database, workdir: Path, args: argparse.Namespace) -> list[Row]:
    name = database.backend
    progress(f"[{name}] liveblog migrate")
    run_cli(database, workdir, "migrate")
    token = run_cli(database, workdir, "token", "create", "--role", "editor", "--name", "bench")
    rows: list[Row] = []
    async with running_server(database, workdir) as server:
        await open_story(server, token)
        watch_postgres = name == "postgresql"
        for editors in args.concurrency:
            seconds = f"{args.warmup:g}+{args.duration:g} s"
            progress(f"[{name}] {editors:>2} editors: POST /updates for {seconds} ...")
            api = await api_phase(
                server.base_url,
                token,
                editors,
                warmup=args.warmup,
                duration=args.duration,
                probe=CpuProbe(server.process.pid, watch_postgres),
            )
            server.check_alive()
            progress(f"[{name}] {editors:>2} editors: {describe(api, 'req/s')}")
            progress(f"[{name}] {editors:>2} connections: raw INSERT for {seconds} ...")
            raw = await database.raw_phase(
                editors,
                warmup=args.warmup,
                duration=args.duration,
                probe=CpuProbe(None, watch_postgres),
            )
            progress(f"[{name}] {editors:>2} connections: {describe(raw, 'tx/s')}")
            rows.append(Row(name, editors, api, raw))
    return rows


def describe(phase: Phase, unit: str) -> str:
    cpu = ", ".join(f"{name} {value:.0f}%" for name, value in phase.cpu.items() if value is not None)
    errors = sum(phase.errors.values())
    return (
        f"{phase.rate:,.0f} {unit}, p50 {phase.percentile_ms(50):.1f} ms, "
        f"p99 {phase.percentile_ms(99):.1f} ms, {errors} errors; CPU {cpu}"
    )


async def run(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """The measured rows, and what was measured: the source, Python and each database server."""
    if not LIVEBLOG.exists():
        raise BenchError(f"{LIVEBLOG} not found: run this with the project's virtualenv python")
    setup = [f"liveblog {source_revision()}", f"Python {platform.python_version()}"]
    if "sqlite" in args.backends:
        setup.append(f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)")
    if "postgresql" in args.backends:
        setup.append(await check_postgres(args.postgres_dsn))
        progress(f"{setup[-1]} reachable at {args.postgres_dsn}")
    rows: list[Row] = []
    for backend in args.backends:
        async with AsyncExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="liveblog-bench-")))
            if backend == "sqlite":
                database = await stack.enter_async_context(sqlite_database(workdir))
            else:
                database = await stack.enter_async_context(postgres_database(args.postgres_dsn))
            rows += await bench_backend(database, workdir, args)
    return rows, setup


async def run_until_stopped(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """``run``, cancelled by SIGTERM as asyncio.run cancels it on Ctrl-C, so cleanup still happens."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await run(args)


def source_revision() -> str:
    """The liveblog source measured: its git commit, and whether tracked files differ from it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=BENCH_DIR, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "source outside git"
    return f"commit {head}" + (" with uncommitted changes" if changed else "")


def fmt(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def cpu_cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}%"


def report(rows: Sequence[Row], setup: Sequence[str], args: argparse.Namespace) -> str:
    lines = [
        "# liveblog: POST /updates throughput vs raw INSERT rate",
        "",
        (
            f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC} on {platform.node()} ({os.cpu_count()} cores): "
            f"{'; '.join(setup)}; each phase {args.warmup:g} s warm-up + {args.duration:g} s measured."
        ),
        "",
        "| backend | editors | API req/s | p50 ms | p99 ms | raw INSERT tx/s | ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row.backend} | {row.editors} | {fmt(row.api.rate, 0)} | {fmt(row.api.percentile_ms(50), 1)} "
            f"| {fmt(row.api.percentile_ms(99), 1)} | {fmt(row.raw.rate, 0)} | {fmt(row.ratio, 2)} |"
        )
    goal = [row for row in rows if (row.backend, row.editors) == (GOAL_BACKEND, GOAL_EDITORS)]
    if goal:
        met = "met" if goal[0].ratio >= GOAL_RATIO else "NOT met"
        lines += [
            "",
            (
                f"Goal: at {GOAL_EDITORS} editors on {GOAL_BACKEND}, API >= {GOAL_RATIO} x raw: "
                f"**{met}** (ratio {fmt(goal[0].ratio, 2)})."
            ),
        ]
    lines += [
        "",
        "CPU during the measured windows, in % of one core (postgres: every `postgres` process on the host):",
        "",
        "| backend | editors | API: server | API: load generator | API: postgres | raw: client | raw: postgres |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        api, raw = row.api.cpu, row.raw.cpu
        lines.append(
            f"| {row.backend} | {row.editors} | {cpu_cell(api['server'])} | {cpu_cell(api['client'])} "
            f"| {cpu_cell(api['postgres'])} | {cpu_cell(raw['client'])} | {cpu_cell(raw['postgres'])} |"
        )
    lines += ["", *error_lines(rows)]
    return "\n".join(lines) + "\n"


def error_lines(rows: Sequence[Row]) -> list[str]:
    total = sum(len(row.api.latencies) + sum(row.api.errors.values()) for row in rows)
    failures = [
        f"- {row.backend}, {row.editors} {kind}: {count} x {message}"
        for row in rows
        for kind, phase in (("editors (API)", row.api), ("connections (raw)", row.raw))
        for message, count in phase.errors.most_common()
    ]
    if not failures:
        return [f"Every API response was 201 ({total:,} measured requests); no raw INSERT failed."]
    return ["Failures (responses other than 201, or errors):", "", *failures]


def backend_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}"
        )
    return names


def concurrency_list(text: str) -> list[int]:
    try:
        levels = [int(level) for level in text.split(",") if level.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from exc
    if any(level < 1 for level in levels):
        raise argparse.ArgumentTypeError("every concurrency must be at least 1")
    return levels


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--duration", type=float, default=5.0, metavar="SECONDS", help="measured time per phase [5]"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, metavar="SECONDS", help="unmeasured time before each phase [1]"
    )
    parser.add_argument(
        "--backends",
        type=backend_list,
        default=list(BACKENDS),
        metavar="LIST",
        help="comma-separated, from sqlite,postgresql [both]",
    )
    parser.add_argument(
        "--concurrency",
        type=concurrency_list,
        default=[1, 4, 16],
        metavar="LIST",
        help="comma-separated numbers of concurrent editors (and raw connections) [1,4,16]",
    )
    parser.add_argument(
        "--postgres-dsn",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        metavar="URL",
        help="an admin connection; liveblog_bench_* databases are created and dropped beside it "
        "[postgresql://postgres@127.0.0.1:5432/postgres]",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    if not args.backends or not args.concurrency:
        parser.error("--backends and --concurrency need at least one value")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        rows, setup = asyncio.run(run_until_stopped(args))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted (the server was stopped and the database removed)", file=sys.stderr)
        return 130
    text = report(rows, setup, args)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text)
    print(text, end="")
    progress(f"written to {RESULTS}")
    failed = any(row.api.errors or row.raw.errors for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
