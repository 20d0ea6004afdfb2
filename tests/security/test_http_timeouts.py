"""Connections cannot be held for nothing: a real ``liveblog serve`` (small timeouts, a small
connection cap) against raw sockets. Idle, slow-header, slow-body and kept-alive idle
connections are closed; past the cap a client gets 503 and the server recovers; live
connections (WebSocket, Server-Sent Events) outlive every timeout; the descriptor limit is
raised to the hard limit at start.

Waits are bounded generously (ten times the timeout): the machine is shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.protocol import State

from liveblog import demo
from tests.live.processes import free_port

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
KEEPALIVE_TIMEOUT = 1.0
MAX_CONNECTIONS = 4
LONGEST = max(HEADER_TIMEOUT, BODY_TIMEOUT, KEEPALIVE_TIMEOUT)
START_TIMEOUT = 90.0
LOW_SOFT_LIMIT = 256


@dataclass(frozen=True)
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


# The server starts with a low soft limit on open files (the hard one unchanged), set by a
# small launcher that then becomes `liveblog serve` (exec: the same process).
LAUNCHER = f"""
import os, resource, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min({LOW_SOFT_LIMIT}, hard), hard))
os.execv(sys.executable, [sys.executable, "-m", "liveblog.cli", *sys.argv[1:]])
"""


def start_server(directory: Path, *extra: str, database_url: str | None = None) -> Server:
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": database_url or f"sqlite+aiosqlite:///{directory}/liveblog.db",
        "LIVEBLOG_SIGNING_KEY_PATH": str(directory / "signing.key"),
        "LIVEBLOG_LOG_LEVEL": "warning",
        "LIVEBLOG_HTTP_HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "LIVEBLOG_HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
        "LIVEBLOG_HTTP_KEEPALIVE_TIMEOUT": str(KEEPALIVE_TIMEOUT),
        "LIVEBLOG_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS),
        "LIVEBLOG_LIVE_CONNECTIONS_PER_ADDRESS": "1000",
    }
    log = directory / f"server-{time.monotonic_ns()}.log"
    for _attempt in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-c", LAUNCHER, "serve", "--port", str(port), *extra],
                env=environment,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, killed whole afterwards
            )
        server = Server(port, process, log)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            try:
                if httpx.get(f"{server.url}/api/v1/keys", timeout=2).status_code == 200:
                    return server
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        stop_server(server)
        if "address already in use" not in log.read_text(errors="replace").lower():
            break
    raise AssertionError(f"liveblog serve did not start:\n{log.read_text(errors='replace')[-4000:]}")


def stop_server(server: Server) -> None:
    try:
        os.killpg(server.process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the module, with the reference story (its live connections need one)."""
    running = start_server(tmp_path_factory.mktemp("http-timeouts"), "--demo")
    try:
        yield running
    finally:
        stop_server(running)


def read_until_closed(connection: socket.socket, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and how long that took; fails if it
    keeps the connection open longer than ``within`` seconds."""
    started = time.monotonic()
    received = b""
    connection.settimeout(0.2)
    while time.monotonic() - started < within:
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    else:
        raise AssertionError(f"still open after {within} s; received {received!r}")
    return received, time.monotonic() - started


def trickle(
    connection: socket.socket, data: bytes, within: float, every: float = 0.25
) -> tuple[bytes, float]:
    """Send ``data`` one byte every ``every`` seconds until the server closes (or it is all
    sent); then read what it answered. Fails if the connection outlives ``within``."""
    started = time.monotonic()
    connection.settimeout(every)
    received = b""
    for byte in data:
        if time.monotonic() - started > within:
            raise AssertionError(f"still open after {within} s")
        try:
            connection.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            chunk = connection.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        received += chunk
    rest, _ = read_until_closed(connection, max(0.5, within - (time.monotonic() - started)))
    return received + rest, time.monotonic() - started


def problem_of(response: bytes) -> tuple[int, dict[str, str], dict[str, object]]:
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, json.loads(body)


def test_an_idle_connection_is_closed_after_the_header_timeout(server: Server) -> None:
    with server.connect() as connection:
        received, took = read_until_closed(connection, within=10 * HEADER_TIMEOUT)
    assert received == b""  # nothing was asked, nothing is answered
    assert took >= HEADER_TIMEOUT * 0.5


def test_a_head_sent_one_byte_at_a_time_is_cut_off_with_408(server: Server) -> None:
    head = b"GET /api/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"
    with server.connect() as connection:
        received, took = trickle(connection, head, within=10 * HEADER_TIMEOUT)
    status, headers, document = problem_of(received)
    assert status == 408 and headers["connection"] == "close"
    assert headers["content-type"] == "application/problem+json"
    assert "request head" in str(document["detail"])
    assert took < 10 * HEADER_TIMEOUT


def test_a_body_sent_one_byte_at_a_time_is_cut_off_with_408(server: Server) -> None:
    body = b"x" * 400
    head = (
        b"POST /api/v1/stories HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    with server.connect() as connection:
        connection.sendall(head)
        received, _took = trickle(connection, body, within=10 * BODY_TIMEOUT)
    status, headers, document = problem_of(received)
    assert status == 408 and headers["connection"] == "close"
    assert "request body" in str(document["detail"])


def test_a_kept_alive_connection_is_closed_once_idle(server: Server) -> None:
    with server.connect() as connection:
        connection.sendall(b"GET /api/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        received, _took = read_until_closed(connection, within=10 * (KEEPALIVE_TIMEOUT + HEADER_TIMEOUT))
    assert received.startswith(b"HTTP/1.1 200 ")
    assert received.count(b"HTTP/1.1") == 1  # no 408 after an answered request


def test_a_second_request_on_a_kept_alive_connection_is_served(server: Server) -> None:
    with server.connect() as connection:
        for _ in range(2):
            connection.sendall(b"GET /api/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            time.sleep(KEEPALIVE_TIMEOUT / 4)
        received, _ = read_until_closed(connection, within=10 * (KEEPALIVE_TIMEOUT + HEADER_TIMEOUT))
    assert received.count(b"HTTP/1.1 200 ") == 2


def _sse(server: Server) -> socket.socket:
    connection = server.connect()
    connection.sendall(
        f"GET /api/v1/stories/{demo.SLUG}/live HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    connection.settimeout(10)
    first = connection.recv(65536)
    assert first.startswith(b"HTTP/1.1 200 "), first
    return connection


def _still_open(connection: socket.socket) -> bool:
    connection.settimeout(0.1)
    try:
        return connection.recv(65536) != b""  # a frame: open
    except TimeoutError:
        return True
    except OSError:
        return False


def test_past_the_cap_a_client_gets_503_and_the_server_recovers(server: Server) -> None:
    held = [_sse(server) for _ in range(MAX_CONNECTIONS)]
    try:
        with server.connect() as connection:
            connection.sendall(b"GET /api/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received, _ = read_until_closed(connection, within=10 * HEADER_TIMEOUT)
        status, headers, document = problem_of(received)
        assert status == 503 and headers["retry-after"] == "1" and headers["connection"] == "close"
        assert headers["content-type"] == "application/problem+json"
        assert f"limit of {MAX_CONNECTIONS} connections" in str(document["detail"])
        assert all(_still_open(connection) for connection in held)  # the earlier ones are served on
    finally:
        for connection in held:
            connection.close()
    deadline = time.monotonic() + 10 * HEADER_TIMEOUT
    while True:
        status = httpx.get(f"{server.url}/api/v1/keys", timeout=5).status_code
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert status == 200


def test_websockets_do_not_count_against_the_http_cap(server: Server) -> None:
    """Live readers past the HTTP cap leave the page and the API served (uvicorn's own set of
    connections counts upgraded WebSockets: counted there, two readers more than the cap
    would turn every editor away)."""

    async def readers_then_a_read() -> None:
        url = f"ws://127.0.0.1:{server.port}/api/v1/stories/{demo.SLUG}/live"
        sockets = [await connect(url, open_timeout=10) for _ in range(MAX_CONNECTIONS + 2)]
        try:
            for websocket in sockets:
                assert json.loads(await asyncio.wait_for(websocket.recv(), timeout=10))["type"] == "hello"
            async with httpx.AsyncClient(timeout=10) as client:
                for _ in range(3):
                    assert (await client.get(f"{server.url}/api/v1/keys")).status_code == 200
        finally:
            for websocket in sockets:
                await websocket.close()

    asyncio.run(readers_then_a_read())


def test_live_connections_outlive_every_timeout(server: Server) -> None:
    async def websocket_and_sse() -> None:
        url = f"ws://127.0.0.1:{server.port}/api/v1/stories/{demo.SLUG}/live"
        sse = _sse(server)
        try:
            async with connect(url, open_timeout=10) as websocket:
                hello = json.loads(await asyncio.wait_for(websocket.recv(), timeout=10))
                assert hello["type"] == "hello"
                await asyncio.sleep(3 * LONGEST + 1)
                # Still open: a frame comes or the wait times out, where a closed connection
                # would raise ConnectionClosed. (Pings are no test: the server answers them
                # only as the application reads.)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(websocket.recv(), timeout=1)
                assert websocket.state is State.OPEN
            assert _still_open(sse)
        finally:
            sse.close()

    asyncio.run(websocket_and_sse())


def _limits(pid: int) -> tuple[int, int]:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return int(soft), int(hard)
    raise AssertionError("no open-files line")


def test_the_descriptor_limit_is_raised_to_the_hard_limit(server: Server) -> None:
    soft, hard = _limits(server.process.pid)
    assert hard > LOW_SOFT_LIMIT, "the hard limit leaves nothing to raise"
    assert soft == hard  # started with LOW_SOFT_LIMIT (see LAUNCHER)


@pytest.mark.postgres
def test_every_worker_gets_the_same_timeouts(postgres_url: str, tmp_path: Path) -> None:
    """``serve --workers 2``: each worker process applies the header timeout and the raised
    descriptor limit (connections are spread over both, so several are tried)."""
    running = start_server(tmp_path, "--workers", "2", database_url=postgres_url)
    try:
        for _ in range(4):
            with running.connect() as connection:
                connection.sendall(b"GET /api/v1/keys HTTP/1.1\r\n")  # and nothing more
                received, _took = read_until_closed(connection, within=10 * HEADER_TIMEOUT)
            assert received.startswith(b"HTTP/1.1 408 ")
        children = subprocess.run(
            ["pgrep", "-g", str(running.process.pid)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert len(children) >= 3  # the supervisor and two workers
        for pid in children:
            soft, hard = _limits(int(pid))
            assert soft == hard
    finally:
        stop_server(running)


def test_a_slow_head_after_an_answered_request_is_cut_off_with_408(server: Server) -> None:
    with server.connect() as connection:
        connection.sendall(b"GET /api/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        head = b"GET /api/v1/keys HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"
        received, _took = trickle(connection, head, within=10 * HEADER_TIMEOUT)
    first, _, second = received.partition(b"HTTP/1.1 408 ")
    assert first.startswith(b"HTTP/1.1 200 ") and second, received
