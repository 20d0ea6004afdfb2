"""Real ``liveblog serve`` processes sharing one PostgreSQL database (the pattern of
``tests/browser/conftest.py``, adapted: several servers, one database, the bus between them).

Every server of a group gets the same database URL and the same signing key file, which
the group creates before starting them (together). The ``group`` fixture (re-exported by
``tests/live/conftest.py``) is a group on the test's fresh database, stopped at the end.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from liveblog.audit.signing import Signer
from tests.process_guard import spawn
from tests.process_guard import stop as stop_process

START_TIMEOUT = 90.0  # seconds; generous, the machine is shared
STOP_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def server_environment(
    database_url: str, directory: Path, *, sweep_seconds: float | None = None
) -> dict[str, str]:
    """The environment of a ``liveblog serve`` on ``database_url`` (``postgresql+asyncpg://``)."""
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": database_url,
        "LIVEBLOG_SIGNING_KEY_PATH": str(directory / "signing.key"),
        "LIVEBLOG_LOG_LEVEL": "warning",
        # Every test reader comes from 127.0.0.1, and test editors post in bursts on purpose.
        "LIVEBLOG_LIVE_CONNECTIONS_PER_ADDRESS": "1000",
        "LIVEBLOG_WRITE_BURST": "10000",
    }
    if sweep_seconds is not None:
        environment["LIVEBLOG_LIVE_SWEEP_SECONDS"] = str(sweep_seconds)
    else:
        environment.pop("LIVEBLOG_LIVE_SWEEP_SECONDS", None)
    return environment


@dataclass
class ServerProcess:
    """One ``liveblog serve --port P`` subprocess."""

    name: str
    environment: dict[str, str]
    log: Path
    key_id: str  # of the signing key: /api/v1/keys lists it once this server is up
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def live_url(self, slug: str, after: int) -> str:
        return f"ws://127.0.0.1:{self.port}/api/v1/stories/{slug}/live?after={after}"

    def log_tail(self, characters: int = 4000) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return text[-characters:] if text else "(empty log)"

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        """Start the server and wait until it answers; raises with its log if it does not."""
        for attempt in range(3):  # the free port may be taken between probing and binding
            if attempt:
                self.port = free_port()
            self._spawn()
            if await self._wait_until_up(timeout):
                return
            if "address already in use" not in self.log_tail().lower():
                break
        self.stop()
        raise RuntimeError(f"server {self.name} did not start:\n{self.log_tail()}")

    def _spawn(self) -> None:
        with self.log.open("ab") as handle:
            handle.write(f"--- {self.name}: starting on port {self.port}\n".encode())
            handle.flush()
            self.process = spawn(
                [sys.executable, "-m", "liveblog.cli", "serve", "--port", str(self.port)],
                env=self.environment,
                cwd=self.log.parent,  # no stray .env file is read
                stdout=handle,
                stderr=subprocess.STDOUT,
            )

    async def _wait_until_up(self, timeout: float) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=5, trust_env=False) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    return False
                try:
                    # Our key, so not some other server that took the port meanwhile.
                    response = await http.get(f"{self.url}/api/v1/keys")
                    if response.status_code == 200 and self.key_id in response.text:
                        return True
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.2)
        return False

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, STOP_TIMEOUT)


@dataclass
class ServerGroup:
    """Servers on one database; every server started here is stopped by :meth:`stop_all`."""

    database_url: str
    directory: Path
    servers: list[ServerProcess] = field(default_factory=list)

    async def start(
        self, count: int, *, sweep_seconds: float | None = None, settings: dict[str, str] | None = None
    ) -> list[ServerProcess]:
        """Start ``count`` servers; ``settings`` are more environment variables for them."""
        environment = server_environment(self.database_url, self.directory, sweep_seconds=sweep_seconds)
        environment.update(settings or {})
        # The shared key exists before any server starts, so none races another to create it.
        key_id = Signer.from_file(Path(environment["LIVEBLOG_SIGNING_KEY_PATH"])).key_id
        started = []
        for _ in range(count):
            name = "AB"[len(self.servers)] if len(self.servers) < 2 else f"S{len(self.servers)}"
            server = ServerProcess(
                name=name, environment=environment, log=self.directory / f"server-{name}.log", key_id=key_id
            )
            self.servers.append(server)
            started.append(server)
        await asyncio.gather(*(server.start() for server in started))
        return started

    def logs(self) -> str:
        return "\n".join(f"=== server {s.name} (port {s.port}) log:\n{s.log_tail()}" for s in self.servers)

    def stop_all(self) -> None:
        """Stop every server, all at once (each may take seconds to close its connections)."""
        with ThreadPoolExecutor(max_workers=max(len(self.servers), 1)) as pool:
            list(pool.map(ServerProcess.stop, self.servers))


@pytest.fixture
async def group(postgres_url: str, tmp_path: Path) -> AsyncIterator[ServerGroup]:
    """Server processes on the test's fresh database (none started yet), all stopped at the end."""
    servers = ServerGroup(postgres_url, tmp_path)
    try:
        yield servers
    finally:
        await asyncio.to_thread(servers.stop_all)
        # Some errors are logged only on the way out (pytest shows this when a test fails).
        print(servers.logs())
