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
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite
import asyncpg
import httpx
from harness import (
    REQUEST_TIMEOUT,
    RESULTS_DIR,
    SLUG,
    Database,
    add_backend_arguments,
    describe_setup,
    execute,
    fmt,
    fresh_database,
    int_list,
    open_story,
    percentile_ms,
    prepare,
    process_cpu_seconds,
    progress,
    publish,
    running_server,
    smoke_note,
    table,
)
from harness import parse_args as parse_bench_args

RESULTS = RESULTS_DIR / "latest.md"
GOAL_BACKEND, GOAL_EDITORS, GOAL_RATIO = "postgresql", 16, 0.5
UPDATE_BODY = (
    "Bench update {n} from editor {editor}: the minister has left the building and is expected "
    "to speak to reporters shortly. *More to follow.*"
)
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
        return percentile_ms(self.latencies, p)


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


async def raw_phase(
    database: Database, connections: int, *, warmup: float, duration: float, probe: CpuProbe
) -> Phase:
    """The raw phase on ``database``'s backend."""
    if database.raw_dsn is not None:
        return await raw_postgres_phase(
            database.raw_dsn, connections, warmup=warmup, duration=duration, probe=probe
        )
    assert database.raw_path is not None
    return await raw_sqlite_phase(
        database.raw_path, connections, warmup=warmup, duration=duration, probe=probe
    )


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
    token = prepare(database, workdir, "bench")
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
            raw = await raw_phase(
                database,
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
    setup = await describe_setup(args.backends, args.postgres_dsn)
    rows: list[Row] = []
    for backend in args.backends:
        async with fresh_database(backend, args.postgres_dsn) as (database, workdir):
            rows += await bench_backend(database, workdir, args)
    return rows, setup


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
        *smoke_note(args),
        *table(
            ["backend", "editors", "API req/s", "p50 ms", "p99 ms", "raw INSERT tx/s", "ratio"],
            "lrrrrrr",
            (
                [
                    row.backend,
                    str(row.editors),
                    fmt(row.api.rate, 0),
                    fmt(row.api.percentile_ms(50), 1),
                    fmt(row.api.percentile_ms(99), 1),
                    fmt(row.raw.rate, 0),
                    fmt(row.ratio, 2),
                ]
                for row in rows
            ),
        ),
    ]
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
        *table(
            [
                "backend",
                "editors",
                "API: server",
                "API: load generator",
                "API: postgres",
                "raw: client",
                "raw: postgres",
            ],
            "lrrrrrr",
            (
                [
                    row.backend,
                    str(row.editors),
                    *(cpu_cell(row.api.cpu[name]) for name in ("server", "client", "postgres")),
                    *(cpu_cell(row.raw.cpu[name]) for name in ("client", "postgres")),
                ]
                for row in rows
            ),
        ),
    ]
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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--duration", type=float, default=5.0, metavar="SECONDS", help="measured time per phase [5]"
    )
    parser.add_argument(
        "--warmup", type=float, default=1.0, metavar="SECONDS", help="unmeasured time before each phase [1]"
    )
    parser.add_argument(
        "--concurrency",
        type=int_list,
        default=[1, 4, 16],
        metavar="LIST",
        help="comma-separated numbers of concurrent editors (and raw connections) [1,4,16]",
    )
    add_backend_arguments(parser)
    # One level of two editors (concurrent, and one shared pool), a second per phase.
    smoke = {"duration": 0.7, "warmup": 0.3, "concurrency": [2]}
    args = parse_bench_args(parser, argv, smoke=smoke, results=RESULTS)
    if args.duration <= 0 or args.warmup < 0:
        parser.error("--duration must be positive and --warmup not negative")
    if not args.backends:
        parser.error("--backends needs at least one value")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    rows, setup = execute(run(args), stopped="the server was stopped and the database removed")
    publish(report(rows, setup, args), args.results)
    failed = any(row.api.errors or row.raw.errors for row in rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
