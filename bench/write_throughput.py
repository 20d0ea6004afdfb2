"""Write throughput: liveblog's ``POST /updates`` against the web stack's limit and raw INSERTs.

One run, on PostgreSQL, with rounds that alternate the configurations (so that the shared
machine's noise falls on all of them alike), reported as req/s, p50/p99 latency and ratios
to the minimal endpoint (bench/minimal_endpoint.py). See bench/README.md for the method.

    .venv/bin/python bench/write_throughput.py [--rounds 3] [--duration 10] [--smoke]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from harness import (
    BENCH_DIR,
    LIVEBLOG,
    RESULTS_DIR,
    SLUG,
    BenchError,
    Database,
    Server,
    admin_execute,
    describe_setup,
    fmt,
    free_port,
    fresh_database,
    measure_and_publish,
    open_story,
    parse_args,
    process_cpu_seconds,
    progress,
    smoke_note,
    spawn_server,
    stop_process,
    table,
    wait_for_http,
)
from minimal_endpoint import TABLE as MINIMAL_TABLE

from liveblog.audit.signing import Signer
from liveblog.store import schema, tokens
from liveblog.store.database import Database as Store
from liveblog.store.tokens import Role

LUA = BENCH_DIR / "write_throughput.lua"
STORIES = 16
GOAL_MINIMAL_RATIO = 0.5
GOAL_SCALING = 1.5
GOAL_P99_MS = 50.0


@dataclass(frozen=True)
class Config:
    name: str
    kind: str  # "minimal", "liveblog", "pgbench"
    stories: int = 1
    processes: int = 1  # liveblog: server processes; pgbench: 1 means one client


CONFIGS = (
    Config("minimal endpoint", "minimal"),
    Config("minimal endpoint on h11", "minimal-h11"),
    Config("liveblog, 1 story, 1 process", "liveblog", 1, 1),
    Config("liveblog, 16 stories, 1 process", "liveblog", STORIES, 1),
    Config("liveblog, 1 story, 2 processes", "liveblog", 1, 2),
    Config("liveblog, 16 stories, 2 processes", "liveblog", STORIES, 2),
    Config("pgbench raw INSERT", "pgbench"),
    # One client: commits one after another, each waiting for its own WAL flush, as the
    # writes to one story do (they are serialised); the ceiling for 16 editors on one story.
    Config("pgbench raw INSERT, 1 client", "pgbench", processes=1),
)


@dataclass
class Measurement:
    rate: float  # requests (or transactions) per second
    p50_ms: float
    p99_ms: float
    errors: int
    cpu_ms: float  # server CPU per request (NaN for pgbench)


@dataclass
class Results:
    rounds: dict[str, list[Measurement]] = field(default_factory=dict)

    def add(self, config: Config, measurement: Measurement) -> None:
        self.rounds.setdefault(config.name, []).append(measurement)


def tree_cpu_seconds(pid: int) -> float:
    """CPU of ``pid`` and its children (uvicorn's workers), from /proc."""
    total = process_cpu_seconds(pid)
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        with contextlib.suppress(OSError):  # a worker that has just exited
            total += tree_cpu_seconds(int(child))
    return total


@dataclass(frozen=True)
class WrkRun:
    requests: int
    seconds: float
    errors: int
    quantiles_ms: list[float]  # the 0.1st, 0.2nd ... 100th percentile


async def wrk_once(
    url: str, args: argparse.Namespace, connections: int, stories: Sequence[str], secrets_: Sequence[str]
) -> WrkRun:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (apt-get install -y wrk)")
    command = [
        wrk,
        f"-t{max(1, min(args.threads, connections))}",
        f"-c{connections}",
        f"-d{args.duration}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        url,
        "--",
        f"nonce={secrets.token_hex(4)}",
        *stories,
    ]
    if secrets_:
        command += ["--tokens", *secrets_]
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=False)
    found = re.search(r"^RESULT (.*)$", done.stdout, re.MULTILINE)
    if done.returncode != 0 or found is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    result = json.loads(found.group(1))
    return WrkRun(
        requests=result["requests"],
        seconds=result["duration_us"] / 1e6,
        errors=sum(result[k] for k in ("non2xx", "connect", "read", "write", "timeout")),
        quantiles_ms=[q / 1000 for q in result["quantiles_us"]],
    )


def combined_percentile(runs: Sequence[WrkRun], p: float) -> float:
    """The ``p``-th percentile of the runs' latencies together: each run's quantiles stand for
    its requests in equal shares (exact for one run, within 0.1 % of rank for several)."""
    weighted = sorted(
        (q, run.requests / len(run.quantiles_ms)) for run in runs for q in run.quantiles_ms if run.requests
    )
    total = sum(weight for _, weight in weighted)
    if not total:
        return math.nan
    reached = 0.0
    for value, weight in weighted:
        reached += weight
        if reached >= p / 100 * total - 1e-9:
            return value
    return weighted[-1][0]


async def run_wrk(
    servers: Sequence[Server], args: argparse.Namespace, stories: Sequence[str], secrets_: Sequence[str]
) -> Measurement:
    """wrk against ``servers`` at once, the connections (and tokens) shared out among them."""
    before = sum(tree_cpu_seconds(server.process.pid) for server in servers)
    share = len(servers)
    runs = await asyncio.gather(
        *(
            wrk_once(
                server.base_url,
                args,
                args.connections // share + (n < args.connections % share),
                stories,
                secrets_[n::share],
            )
            for n, server in enumerate(servers)
        )
    )
    cpu = sum(tree_cpu_seconds(server.process.pid) for server in servers) - before
    for server in servers:
        server.check_alive()
    requests = sum(run.requests for run in runs)
    return Measurement(
        rate=sum(run.requests / run.seconds for run in runs),
        p50_ms=combined_percentile(runs, 50),
        p99_ms=combined_percentile(runs, 99),
        errors=sum(run.errors for run in runs),
        cpu_ms=1000 * cpu / requests if requests else math.nan,
    )


PGBENCH_SCRIPT = (
    "\\set n random(1, 1000000000)\n"
    "INSERT INTO minimal_updates (story, update_id, body, posted_at) "
    "VALUES ('pgbench', 'u' || :n, 'A raw INSERT from pgbench.', now());\n"
)


async def run_pgbench(
    database: Database, args: argparse.Namespace, workdir: Path, clients: int
) -> Measurement:
    pgbench = shutil.which("pgbench") or "/usr/bin/pgbench"
    if not Path(pgbench).exists():
        raise BenchError("pgbench is not installed (apt-get install -y postgresql-client)")
    script = workdir / "insert.sql"
    script.write_text(PGBENCH_SCRIPT)
    assert database.raw_dsn is not None
    command = [
        pgbench, "-n", "-M", "prepared", f"-c{clients}", f"-j{min(args.threads, clients)}",
        f"-T{args.duration}", "-r", "-f", str(script), "-P", str(max(1, args.duration)), database.raw_dsn,
    ]  # fmt: skip
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, check=False)
    tps = re.search(r"^tps = ([\d.]+)", done.stdout, re.MULTILINE)
    average = re.search(r"^latency average = ([\d.]+) ms", done.stdout, re.MULTILINE)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    if done.returncode != 0 or tps is None:
        raise BenchError(f"pgbench failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return Measurement(
        rate=float(tps.group(1)),
        p50_ms=float(average.group(1)) if average else math.nan,  # pgbench gives the average
        p99_ms=math.nan,
        errors=int(failed.group(1)) if failed else 0,
        cpu_ms=math.nan,
    )


async def create_tokens(url: str, count: int, role: Role = Role.EDITOR) -> list[str]:
    """``count`` new tokens of ``role`` (migrating the database first): their secrets."""
    store = Store(url)
    try:
        await schema.upgrade(store)
        made = []
        async with store.write() as connection:
            for n in range(count):
                _, secret = await tokens.create(
                    connection, name=f"Bench {role.value} {n}", role=role, now=datetime.now(UTC)
                )
                made.append(secret)
        return made
    finally:
        await store.dispose()


def minimal_server(dsn: str, workdir: Path, http: str) -> Server:
    port = free_port()
    command = [sys.executable, str(BENCH_DIR / "minimal_endpoint.py"), "--dsn", dsn, "--port", str(port)]
    return spawn_server([*command, "--http", http], port, workdir, os.environ, f"minimal endpoint ({http})")


def liveblog_server(database: Database, workdir: Path, env: Mapping[str, str] | None = None) -> Server:
    """``liveblog serve`` on a free port (not yet answering); ``env`` adds to its environment."""
    port = free_port()
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": database.url,
        "LIVEBLOG_LOG_LEVEL": "warning",
        "LIVEBLOG_SIGNING_KEY_PATH": str(workdir / "signing.key"),
        "LIVEBLOG_WRITE_RATE_PER_MINUTE": "100000000",
        "LIVEBLOG_WRITE_BURST": "100000000",
        **(env or {}),
    }
    command = [str(LIVEBLOG), "serve", "--port", str(port)]
    return spawn_server(command, port, workdir, environment, "liveblog serve")


async def bench(args: argparse.Namespace) -> tuple[Results, list[str]]:
    setup = await describe_setup(["postgresql"], args.postgres_dsn)
    results = Results()
    async with fresh_database("postgresql", args.postgres_dsn) as (database, workdir):
        secrets_ = await create_tokens(database.url, args.connections)
        assert database.raw_dsn is not None
        # The signing key and the minimal endpoint's table exist before the servers start,
        # so that no two race to create them.
        Signer.from_file(workdir / "signing.key")
        await admin_execute(database.raw_dsn, MINIMAL_TABLE)
        minimal = minimal_server(database.raw_dsn, workdir, "auto")
        minimal_h11 = minimal_server(database.raw_dsn, workdir, "h11")
        # Two separate processes on two ports, each with its own wrk (see bench/README.md on
        # why not `--workers 2`); one-process configurations use the first alone.
        servers = [liveblog_server(database, workdir), liveblog_server(database, workdir)]
        try:
            for server in (minimal, minimal_h11):
                await wait_for_http(server, "/health")
            for server in servers:
                await wait_for_http(server, "/api/v1/stories")
            slugs = [SLUG] + [f"{SLUG}-{n}" for n in range(1, STORIES)]
            for slug in slugs:
                await open_story(servers[0], secrets_[0], slug=slug, title=f"Benchmark {slug}")
            # Warm-up, not measured: each process's caches (story heads, tokens), its
            # connection pool, and PostgreSQL's buffers for every story.
            warm = argparse.Namespace(**{**vars(args), "duration": args.warmup})
            await run_wrk([minimal], warm, slugs[:1], [])
            await run_wrk(servers, warm, slugs, secrets_)
            progress(f"servers up; {len(slugs)} stories open; {args.rounds} round(s) of {args.duration} s")
            for round_ in range(args.rounds):
                order = CONFIGS if round_ % 2 == 0 else tuple(reversed(CONFIGS))
                for config in order:
                    if config.kind == "minimal":
                        measurement = await run_wrk([minimal], args, slugs[:1], [])
                    elif config.kind == "minimal-h11":
                        measurement = await run_wrk([minimal_h11], args, slugs[:1], [])
                    elif config.kind == "liveblog":
                        chosen = servers[: config.processes]
                        measurement = await run_wrk(chosen, args, slugs[: config.stories], secrets_)
                    else:
                        clients = 1 if config.name.endswith("1 client") else args.connections
                        measurement = await run_pgbench(database, args, workdir, clients)
                    results.add(config, measurement)
                    progress(
                        f"round {round_ + 1}: {config.name}: {measurement.rate:,.0f}/s, "
                        f"p99 {fmt(measurement.p99_ms, 1)} ms, {measurement.errors} errors, "
                        f"CPU {fmt(measurement.cpu_ms, 2)} ms/request"
                    )
        finally:
            for server in (minimal, minimal_h11, *servers):
                stop_process(server.process)
    return results, setup


def median(values: Sequence[float]) -> float:
    finite = sorted(v for v in values if not math.isnan(v))
    if not finite:
        return math.nan
    middle = len(finite) // 2
    return finite[middle] if len(finite) % 2 else (finite[middle - 1] + finite[middle]) / 2


def report(results: Results, setup: Sequence[str], args: argparse.Namespace, load: Sequence[float]) -> str:
    lines = [
        "# Write throughput: POST /updates on PostgreSQL",
        "",
        *smoke_note(args),
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; " + "; ".join(setup) + ".",
        f"{args.rounds} round(s) of {args.duration} s per configuration, alternated; "
        f"{args.connections} connections (editors, one token each) over {args.threads} wrk threads; "
        f"a fresh Idempotency-Key per liveblog request. Load average {load[0]:.1f} before, "
        f"{load[1]:.1f} after. Figures are medians over rounds; ratios are per round, then the median.",
        "",
    ]

    def ratio(name: str, to: str = CONFIGS[0].name) -> float:
        return median(
            [a.rate / b.rate for a, b in zip(results.rounds[name], results.rounds[to], strict=True)]
        )

    rows = []
    for config in CONFIGS:
        measured = results.rounds[config.name]
        rows.append(
            [
                config.name,
                fmt(median([m.rate for m in measured]), 0),
                fmt(median([m.p50_ms for m in measured]), 1)
                + (" (mean)" if config.kind == "pgbench" else ""),
                fmt(median([m.p99_ms for m in measured]), 1),
                fmt(median([m.cpu_ms for m in measured]), 2),
                fmt(ratio(config.name), 2),
                str(sum(m.errors for m in measured)),
            ]
        )
    lines += table(
        ["configuration", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "x minimal", "errors"],
        "lrrrrrr",
        rows,
    )
    liveblog = [config for config in CONFIGS if config.kind == "liveblog"]
    one = ratio(liveblog[0].name)
    scaling = ratio(liveblog[3].name, liveblog[1].name)
    worst_p99 = max(median([m.p99_ms for m in results.rounds[c.name]]) for c in liveblog)
    met = {True: "**met**", False: "**not met**"}
    lines += [
        "",
        f"- ≥ {GOAL_MINIMAL_RATIO} x the minimal endpoint at 16 editors on one story, one process: "
        f"{one:.2f} x — {met[one >= GOAL_MINIMAL_RATIO]}",
        f"- 16 stories on two processes ≥ {GOAL_SCALING} x 16 stories on one: {scaling:.2f} x — "
        f"{met[scaling >= GOAL_SCALING]}",
        f"- p99 ≤ {GOAL_P99_MS:.0f} ms at 16 editors (worst liveblog configuration): {worst_p99:.1f} ms — "
        f"{met[worst_p99 <= GOAL_P99_MS]}",
        f"- for reference, liveblog at 16 editors on one story, one process, against serialised "
        f"commits (pgbench, 1 client): {ratio(liveblog[0].name, CONFIGS[-1].name):.2f} x",
        "",
        "Per round (req/s): "
        + "; ".join(
            f"{config.name}: " + ", ".join(f"{m.rate:,.0f}" for m in results.rounds[config.name])
            for config in CONFIGS
        ),
        "",
    ]
    return "\n".join(lines)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--postgres-dsn", default="postgresql://postgres@127.0.0.1:5432/postgres", metavar="URL"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per configuration and round [10]")
    parser.add_argument("--connections", type=int, default=16, help="concurrent editors [16]")
    parser.add_argument("--threads", type=int, default=2, help="wrk and pgbench threads [2]")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of unmeasured load first [3]")
    return parse_args(
        parser,
        argv,
        smoke={"rounds": 1, "duration": 1, "connections": 4, "warmup": 1},
        results=RESULTS_DIR / "write_throughput.md",
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    return measure_and_publish(
        args, bench(args), report, stopped="the servers were stopped and the database dropped"
    )


if __name__ == "__main__":
    raise SystemExit(main())
