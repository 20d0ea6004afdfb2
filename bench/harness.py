"""What the benchmark scripts share: databases, the ``liveblog`` command and server, CPU
readings from ``/proc``, percentiles, Markdown tables, and the run itself (arguments with a
``--smoke`` mode, SIGTERM handled like Ctrl-C, the report written and printed).

The scripts import this module by its plain name (``from harness import ...``): Python puts
a script's own directory first on ``sys.path``, and mypy finds it the same way.
"""

from __future__ import annotations

import argparse
import asyncio
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
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
LIVEBLOG = Path(sys.executable).with_name("liveblog")
BACKENDS = ("sqlite", "postgresql")
DEFAULT_POSTGRES_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SLUG = "bench"
SERVER_START_TIMEOUT = 30.0
SERVER_STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

T = TypeVar("T")


class BenchError(Exception):
    """The benchmark cannot go on; the message says why and what to do."""


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- figures and tables ---------------------------------------------------------------------


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of ``values``, in their unit (NaN without data)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def percentile_ms(seconds: Sequence[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of durations in seconds, in ms (NaN without data)."""
    return 1000 * percentile(seconds, p)


def fmt(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}"


def table(header: Sequence[str], align: str, rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table; ``align`` has one letter per column: ``l`` (text) or ``r`` (figures)."""
    if len(align) != len(header):
        raise ValueError(f"{len(header)} columns but {len(align)} alignments")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
    ]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row of {len(row)} cells in a table of {len(header)} columns")
        lines.append("| " + " | ".join(row) + " |")
    return lines


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (raises OSError once it is gone)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


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


# --- databases ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """A fresh database: its SQLAlchemy URL for the app, and how to reach it raw."""

    backend: str
    url: str
    raw_dsn: str | None = None  # PostgreSQL: a libpq URL for asyncpg
    raw_path: Path | None = None  # SQLite: the file


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


async def describe_setup(backends: Sequence[str], postgres_dsn: str) -> list[str]:
    """What is measured: the source, Python and each database (checking PostgreSQL is there)."""
    if not LIVEBLOG.exists():
        raise BenchError(f"{LIVEBLOG} not found: run this with the project's virtualenv python")
    setup = [f"liveblog {source_revision()}", f"Python {platform.python_version()}"]
    if "sqlite" in backends:
        setup.append(f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)")
    if "postgresql" in backends:
        setup.append(await check_postgres(postgres_dsn))
        progress(f"{setup[-1]} reachable at {postgres_dsn}")
    return setup


@asynccontextmanager
async def fresh_database(backend: str, postgres_dsn: str) -> AsyncIterator[tuple[Database, Path]]:
    """A new database of ``backend`` and a temporary working directory; both gone on the way out.

    SQLite: a file in that directory. PostgreSQL: ``liveblog_bench_<random>`` beside
    ``postgres_dsn``'s database, dropped at the end (also on an error, Ctrl-C or SIGTERM).
    """
    with tempfile.TemporaryDirectory(prefix=f"liveblog-bench-{backend}-") as directory:
        workdir = Path(directory)
        if backend == "sqlite":
            path = workdir / "bench.db"
            yield Database(backend="sqlite", url=f"sqlite+aiosqlite:///{path}", raw_path=path), workdir
            return
        name = f"liveblog_bench_{secrets.token_hex(4)}"
        await admin_execute(postgres_dsn, f'CREATE DATABASE "{name}"')
        progress(f"[postgresql] created database {name}")
        raw_dsn = urlunsplit(urlsplit(postgres_dsn)._replace(path=f"/{name}"))
        try:
            url = "postgresql+asyncpg://" + raw_dsn.split("://", 1)[1]
            yield Database(backend="postgresql", url=url, raw_dsn=raw_dsn), workdir
        finally:
            try:
                await admin_execute(postgres_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                progress(f"[postgresql] dropped database {name}")
            except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
                progress(f"[postgresql] could not drop database {name}: {exc}; drop it by hand")


async def admin_execute(admin_dsn: str, statement: str) -> None:
    connection = await asyncpg.connect(admin_dsn, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


# --- the liveblog command and server --------------------------------------------------------


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


def prepare(database: Database, workdir: Path, token_name: str) -> str:
    """``liveblog migrate``, then ``liveblog token create --role editor``: the editor's token."""
    progress(f"[{database.backend}] liveblog migrate, token create")
    run_cli(database, workdir, "migrate")
    return run_cli(database, workdir, "token", "create", "--role", "editor", "--name", token_name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def log_tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def stop_process(process: subprocess.Popen[bytes], timeout: float = SERVER_STOP_TIMEOUT) -> None:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds; always reaped."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Server:
    """A server process the benchmark started, where it answers and where its output goes."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path
    what: str = "liveblog serve"

    @property
    def port(self) -> int:
        return int(self.base_url.rsplit(":", 1)[1])

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise BenchError(
                f"{self.what} exited ({self.process.returncode}); its log:\n{log_tail(self.log)}"
            )


def spawn_server(
    command: Sequence[str], port: int, workdir: Path, env: Mapping[str, str], what: str
) -> Server:
    """Start ``command`` (a server that will listen on ``port``), its output in a log file."""
    log = workdir / f"{what.split()[0]}-{port}.log"
    with log.open("wb") as log_file:
        # A plain Popen (also from async code): instant to spawn, and its pid stays in /proc
        # until it is reaped, which the CPU probes rely on.
        process = subprocess.Popen(
            list(command), env=dict(env), cwd=workdir, stdout=log_file, stderr=subprocess.STDOUT
        )
    return Server(process=process, base_url=f"http://127.0.0.1:{port}", log=log, what=what)


async def wait_for_http(server: Server, path: str, expect: int = 200) -> None:
    """Wait until ``GET path`` answers ``expect``; a BenchError with the log if it never does."""
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2, trust_env=False) as client:
        while time.monotonic() < deadline:
            server.check_alive()
            try:
                if (await client.get(path)).status_code == expect:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise BenchError(
        f"{server.what} did not answer within {SERVER_START_TIMEOUT:.0f} s; its log:\n{log_tail(server.log)}"
    )


@asynccontextmanager
async def running_server(
    database: Database,
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    launcher: Sequence[str] = (),
) -> AsyncIterator[Server]:
    """``liveblog serve`` on a free port, answering; stopped (killed if need be) on the way out.

    ``env`` adds to the server's environment; ``launcher`` comes before the ``liveblog``
    command (a program that sets the process up and then ``exec``s it, keeping the pid).
    """
    port = free_port()
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": database.url,
        "LIVEBLOG_LOG_LEVEL": "warning",
        # One bench token writes far faster than any editor: lift the per-token limit.
        "LIVEBLOG_WRITE_RATE_PER_MINUTE": "100000000",
        "LIVEBLOG_WRITE_BURST": "100000000",
        **(env or {}),
    }
    command = [*launcher, str(LIVEBLOG), "serve", "--port", str(port)]
    server = spawn_server(command, port, workdir, environment, "liveblog serve")
    try:
        await wait_for_http(server, "/api/v1/stories")
        progress(f"[{database.backend}] server pid {server.process.pid} answering on {server.base_url}")
        yield server
    finally:
        stop_process(server.process)


async def open_story(server: Server, token: str, slug: str = SLUG, title: str = "Benchmark story") -> None:
    """Open and publish story ``slug`` through the API."""
    async with httpx.AsyncClient(
        base_url=server.base_url, timeout=REQUEST_TIMEOUT, trust_env=False
    ) as client:
        response = await client.post(
            "/api/v1/stories",
            json={"title": title, "slug": slug, "publish": True},
            headers={"Authorization": f"Bearer {token}"},
        )
    if response.status_code != 201:
        raise BenchError(f"opening the story failed: HTTP {response.status_code} {response.text[:300]}")


# --- arguments and the run ------------------------------------------------------------------


def backend_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = sorted(set(names) - set(BACKENDS))
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(BACKENDS)}"
        )
    return names


def int_list(text: str) -> list[int]:
    """A comma-separated list of positive integers."""
    try:
        values = [int(value) for value in text.split(",") if value.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a comma-separated list of integers: {text!r}") from exc
    if not values or any(value < 1 for value in values):
        raise argparse.ArgumentTypeError("every value must be at least 1")
    return values


def add_backend_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--backends",
        type=backend_list,
        default=list(BACKENDS),
        metavar="LIST",
        help="comma-separated, from sqlite,postgresql [both]",
    )
    parser.add_argument(
        "--postgres-dsn",
        default=DEFAULT_POSTGRES_DSN,
        metavar="URL",
        help="an admin connection; liveblog_bench_* databases are created and dropped beside it "
        f"[{DEFAULT_POSTGRES_DSN}]",
    )


def parse_args(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    *,
    smoke: Mapping[str, Any],
    results: Path,
) -> argparse.Namespace:
    """Parse ``argv`` after adding ``--smoke`` and ``--results`` to ``parser``.

    ``--smoke`` swaps in the ``smoke`` defaults (tiny sizes: seconds, not minutes). It still
    runs every code path and prints every table, which is what the test suite checks; flags
    given explicitly still win. Its report goes to ``<name>-smoke.md`` by default, so that a
    smoke run never replaces real figures.
    """
    smoke_results = results.with_name(f"{results.stem}-smoke{results.suffix}")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a quick check that the benchmark works, on tiny sizes; its figures mean nothing",
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"where the report is written [{results.relative_to(BENCH_DIR.parent)}; "
        f"with --smoke {smoke_results.relative_to(BENCH_DIR.parent)}]",
    )
    given = list(sys.argv[1:] if argv is None else argv)
    if "--smoke" in given:
        parser.set_defaults(**smoke)
    args = parser.parse_args(given)
    if args.results is None:
        args.results = smoke_results if args.smoke else results
    return args


def smoke_note(args: argparse.Namespace) -> list[str]:
    """The report's warning that a smoke run's figures are not measurements."""
    if not args.smoke:
        return []
    return [
        "**Smoke run** (`--smoke`, tiny sizes): it checks that the benchmark runs; its figures mean nothing.",
        "",
    ]


async def _until_stopped(work: Coroutine[Any, Any, T]) -> T:
    """``work``, cancelled by SIGTERM as asyncio.run cancels it on Ctrl-C, so cleanup still happens."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await work


def execute(work: Coroutine[Any, Any, T], *, stopped: str) -> T:
    """Run the benchmark ``work``; exit with status 2 if it cannot be done, 130 if interrupted.

    ``stopped`` says what was cleaned up on an interruption (the servers, the database...).
    """
    try:
        return asyncio.run(_until_stopped(work))
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"interrupted ({stopped})", file=sys.stderr)
        raise SystemExit(130) from None


def publish(text: str, path: Path) -> None:
    """Write the report to ``path`` and print it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(text, end="", flush=True)
    progress(f"written to {path}")


Load = tuple[float, float]  # the 1-minute load average before and after the measurement


def measure_and_publish(
    args: argparse.Namespace,
    work: Coroutine[Any, Any, tuple[T, list[str]]],
    report: Callable[[T, Sequence[str], argparse.Namespace, Load], str],
    *,
    stopped: str,
) -> int:
    """The tail of a script's ``main``: run ``work`` (as :func:`execute` does), say how long it
    took, and publish ``report(outcome, setup, args, load)`` to ``args.results``; returns 0.

    ``load`` is the machine's load average before and after, for the report to show.
    """
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    outcome, setup = execute(work, stopped=stopped)
    progress(f"measured in {time.monotonic() - started:.0f} s")
    publish(report(outcome, setup, args, (load_before, os.getloadavg()[0])), args.results)
    return 0
