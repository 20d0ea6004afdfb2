"""Interrupting pytest leaves no server running: a pytest run whose test has a real
``liveblog serve`` up (started with ``tests.process_guard.spawn``) is sent SIGINT (Ctrl-C) or
SIGTERM (what ``make`` passes on when it is terminated); the server's process group must be
gone once pytest has exited, and the fixture's teardown must have run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.process_guard import spawn, stop

REPOSITORY = Path(__file__).resolve().parents[1]
WAIT = 120.0  # seconds; generous bounds for a shared machine, not timing assertions

INNER_TEST = """
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.process_guard import spawn, stop

OUT = Path(os.environ["GUARD_OUT"])


@pytest.fixture
def server():
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": f"sqlite+aiosqlite:///{OUT / 'liveblog.db'}",
        "LIVEBLOG_SIGNING_KEY_PATH": str(OUT / "signing.key"),
        "LIVEBLOG_LOG_LEVEL": "warning",
    }
    with (OUT / "server.log").open("wb") as log:
        process = spawn(
            [sys.executable, "-m", "liveblog.cli", "serve", "--port", os.environ["GUARD_PORT"]],
            env=environment,
            cwd=OUT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    (OUT / "server.pid").write_text(str(process.pid))
    yield process
    stop(process)
    (OUT / "torn-down").write_text("yes")


def test_waits_to_be_interrupted(server):
    (OUT / "ready").write_text("yes")
    time.sleep(600)
"""


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # the group id was reused by someone else's process
        return False
    return True


def wait_for(condition: Callable[[], bool], what: str, log: Path) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} within {WAIT:g} s; the inner run printed:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.1)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupted_run_leaves_no_server_behind(signum: signal.Signals, tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not the repository's configuration
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "GUARD_OUT": str(tmp_path),
        "GUARD_PORT": str(port),
        "PYTHONPATH": os.pathsep.join([str(REPOSITORY), os.environ.get("PYTHONPATH", "")]),
    }
    log = tmp_path / "pytest.log"
    with log.open("wb") as output:
        inner = spawn(
            [sys.executable, "-m", "pytest", "-q", "-p", "tests.process_guard", "-p", "no:cacheprovider"],
            env=environment,
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: (tmp_path / "ready").exists(), "the inner test did not start", log)
        server = int((tmp_path / "server.pid").read_text())
        assert group_alive(server)
        os.kill(inner.pid, signum)
        try:
            inner.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"pytest did not exit on {signum.name}:\n{log.read_text()[-4000:]}"
            ) from None
        wait_for(lambda: not group_alive(server), f"the server (pid {server}) was not gone", log)
    finally:
        stop(inner)
    assert inner.returncode == pytest.ExitCode.INTERRUPTED, log.read_text()[-4000:]
    assert (tmp_path / "torn-down").exists(), "the fixture's teardown did not run"
