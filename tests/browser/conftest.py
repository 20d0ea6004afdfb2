"""Real server processes and real headless Chromium (Debian's package, driven by Playwright).

Chromium is never downloaded: tests use ``/usr/bin/chromium`` (or ``LIVEBLOG_CHROMIUM``).
Where it is not installed the browser tests skip, and CI (which installs it and sets
``LIVEBLOG_FAIL_ON_SKIP=1``) fails on any skip. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page

from tests.conftest import CHROMIUM, CHROMIUM_FLAGS  # noqa: F401  (re-exported)
from tests.process_guard import spawn
from tests.process_guard import stop as stop_process

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LiveServer:
    """A ``liveblog serve`` process on a SQLite file of the test's own."""

    environment: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cli(self, *args: str) -> str:
        """Run ``liveblog ARGS`` against the server's database; returns its standard output."""
        done = subprocess.run(
            [sys.executable, "-m", "liveblog.cli", *args],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self) -> None:
        handle = self.log.open("ab")
        self.process = spawn(
            [sys.executable, "-m", "liveblog.cli", "serve", "--port", str(self.port)],
            env=self.environment,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/api/v1/keys", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the server did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
        self.process = None


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/liveblog.db",
        "LIVEBLOG_SIGNING_KEY_PATH": str(tmp_path / "signing.key"),
        "LIVEBLOG_MEDIA_DIR": str(tmp_path / "media"),
        "LIVEBLOG_LOG_LEVEL": "warning",
    }
    server = LiveServer(environment=environment, port=free_port(), log=tmp_path / "server.log")
    yield server
    server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(session_chromium: Browser) -> AsyncIterator[Browser]:
    """The run's Chromium, for this test: the contexts the test leaves open are closed after it."""
    before = set(session_chromium.contexts)
    yield session_chromium
    for context in session_chromium.contexts:
        if context not in before:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh page that records console errors (a CSP violation is one) in ``page.errors``."""
    context = await browser.new_context(viewport={"width": 390, "height": 844})
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.errors = errors  # type: ignore[attr-defined]
    yield opened
    await context.close()


async def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


async def recording_page(context: BrowserContext) -> Page:
    """A new page of ``context`` that records console errors in ``page.errors``, as the ``page``
    fixture's does (for tests that need a context of their own: no JavaScript, a time zone)."""
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.errors = errors  # type: ignore[attr-defined]
    return opened


def another_server(server: LiveServer) -> LiveServer:
    """A second ``liveblog serve`` on ``server``'s database, on a port of its own (not started)."""
    return LiveServer(
        environment=server.environment, port=free_port(), log=server.log.with_name("another-server.log")
    )
