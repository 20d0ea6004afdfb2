"""Helpers of the client's tests: real liveblog servers as subprocesses, the client's CLI.

The server is the ``liveblog`` command installed next to this Python (or ``python -m
liveblog.cli``); nothing of it is imported. PostgreSQL is never skipped: when it cannot be
reached, every test that needs it fails with the reason. ``LIVEBLOG_TEST_POSTGRES_URL``
names another server (the tests create and drop their own ``liveblog_client_*`` databases).

(A module name of its own, so that it cannot clash with the server suite's modules when
both suites run in one pytest session.)
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

# The repository's process guard (tests/process_guard.py, standard library only), shared with
# the server's suite: servers in sessions of their own, killed on teardown, Ctrl-C, SIGTERM.
# The repository root is on sys.path when both suites run together; not when this one runs
# from clients/python.
REPOSITORY = Path(__file__).resolve().parents[3]
if str(REPOSITORY) not in sys.path:
    sys.path.append(str(REPOSITORY))

from tests import process_guard  # noqa: E402 - needs the path above

POSTGRES_URL = os.environ.get("LIVEBLOG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BIN = Path(sys.executable).parent
REFERENCE_SLUG = "belgorod-captive-soldiers"
START_TIMEOUT = 60.0


def liveblog_command() -> list[str]:
    """How to run the server's command line: its script beside this Python, or the module."""
    script = BIN / "liveblog"
    return [str(script)] if script.exists() else [sys.executable, "-m", "liveblog.cli"]


def client_command() -> list[str]:
    """How to run ``liveblog-client`` (installed with this package)."""
    script = BIN / "liveblog-client"
    return [str(script)] if script.exists() else [sys.executable, "-m", "liveblog_client.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -------------------------------------------------------------------- PostgreSQL


def _postgres(sql: str) -> None:
    """Run one statement on the PostgreSQL server (asyncpg comes with the liveblog server)."""
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    # On a thread of its own: a test's event loop may already be running here.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


def create_postgres_database() -> str:
    """A new empty database; its SQLAlchemy URL. Fails the test when PostgreSQL is unreachable."""
    name = f"liveblog_client_{uuid.uuid4().hex[:12]}"
    import asyncpg

    try:
        _postgres(f'CREATE DATABASE "{name}"')
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_URL}: {exc!r}", pytrace=False)
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


def drop_postgres_database(url: str) -> None:
    name = url.rpartition("/")[2]
    _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ------------------------------------------------------------------------ server


@dataclass
class Server:
    """A ``liveblog serve`` process with its own database, signing key and port.

    :meth:`token` makes a token of a role with ``liveblog token create`` when first asked.
    """

    backend: str
    database_url: str
    workdir: Path
    port: int = field(default_factory=free_port)
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def signing_key(self) -> Path:
        return self.workdir / "signing.key"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "LIVEBLOG_DATABASE_URL": self.database_url,
            "LIVEBLOG_SIGNING_KEY_PATH": str(self.signing_key),
            "LIVEBLOG_LOG_LEVEL": "warning",
        }

    def cli(self, *args: str) -> str:
        """Run ``liveblog ARGS`` against this server's database; its standard output."""
        done = subprocess.run(
            [*liveblog_command(), *args],
            env=self.env(),
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            pytest.fail(
                f"liveblog {' '.join(args)} failed ({done.returncode}):\n{done.stderr}", pytrace=False
            )
        return done.stdout

    def prepare(self) -> None:
        """Migrate the database (PostgreSQL needs it first; SQLite too, to be alike)."""
        self.cli("migrate")

    def token(self, role: str) -> str:
        """A token of ``role`` (editor, auditor, admin), named "Client <role>"."""
        if role not in self.tokens:
            self.tokens[role] = self.cli(
                "token", "create", "--role", role, "--name", f"Client {role}"
            ).strip()
        return self.tokens[role]

    def start(self) -> None:
        log = (self.workdir / "server.log").open("ab")
        self.process = process_guard.spawn(
            [*liveblog_command(), "serve", "--port", str(self.port)],
            env=self.env(),
            cwd=self.workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the server exited at start:\n{self.log()}", pytrace=False)
            try:
                if httpx.get(f"{self.url}/api/v1/keys", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the server did not answer within {START_TIMEOUT} s:\n{self.log()}", pytrace=False)

    def stop(self) -> None:
        """Stop the server as an operator would (SIGTERM), killing it if it lingers."""
        if self.process is None:
            return
        process_guard.stop(self.process, timeout=20)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""


def make_server(backend: str, workdir: Path) -> Server:
    workdir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'liveblog.db'}"
    else:
        url = create_postgres_database()
    return Server(backend=backend, database_url=url, workdir=workdir)


def discard(server: Server) -> None:
    server.stop()
    if server.backend == "postgresql":
        drop_postgres_database(server.database_url)
    shutil.rmtree(server.workdir, ignore_errors=True)


def run_client(
    *args: str, server: Server | None = None, token: str | None = None, timeout: float = 120, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run ``liveblog-client ARGS`` as a person would, with the URL and token in the
    environment; ``env`` adds variables. No config file from the home directory is read."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("LIVEBLOG_")}
    environment["LIVEBLOG_CLIENT_CONFIG"] = os.devnull
    if server is not None:
        environment["LIVEBLOG_URL"] = server.url
    if token is not None:
        environment["LIVEBLOG_TOKEN"] = token
    environment.update(env)
    return subprocess.run(
        [*client_command(), *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
