"""Subprocesses of the tests (servers above all) that never outlive the test run.

Every long-running subprocess of the test suites is started with :func:`spawn` and stopped
with :func:`stop`. A spawned process gets a session, and so a process group, of its own:

* A Ctrl-C at the terminal goes to the terminal's foreground process group. Without a group
  of its own, a server would get that SIGINT at the same moment as pytest and might die
  before the test's teardown has used it (to read its log, to stop it in order), or, for a
  process that ignores it, not die at all.
* The whole group can be signalled: a server with workers or children, or a script with its
  commands, goes at once.

Nothing is left behind because every spawned process is recorded until it is stopped, and
the recorded groups are killed on every way out of pytest:

* fixture teardown, which calls :func:`stop`;
* SIGINT, which pytest turns into KeyboardInterrupt: it stops the run and still tears the
  fixtures down;
* SIGTERM (and SIGHUP), which by default would kill pytest on the spot and orphan the
  servers: :func:`install` makes them raise KeyboardInterrupt too, so they end the run as
  Ctrl-C does. A second one kills the recorded groups and exits at once;
* the end of the session (``pytest_unconfigure``) and interpreter exit (``atexit``), for
  anything a teardown missed.

Only SIGKILL of pytest itself escapes all this. This module is a pytest plugin (its
hooks call :func:`install` and :func:`kill_all`): the server suite loads it from
``tests/conftest.py``, the client's suite from ``clients/python/tests/conftest.py``. It needs
nothing but the standard library, so that the client's tests can use it as well.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from types import FrameType
from typing import IO, Any, Literal, overload

import pytest

STOP_TIMEOUT = 15.0  # seconds a process gets to exit on SIGTERM before SIGKILL
EXIT_TIMEOUT = 5.0  # the same when the whole run is going down

File = int | IO[Any] | None

_lock = threading.Lock()
_running: dict[int, subprocess.Popen[Any]] = {}  # pid (= process group id) -> process
_interrupted = False


@overload
def spawn(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: File = None,
    stdout: File = None,
    stderr: File = None,
    text: Literal[False] = False,
) -> subprocess.Popen[bytes]: ...


@overload
def spawn(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: File = None,
    stdout: File = None,
    stderr: File = None,
    text: Literal[True],
) -> subprocess.Popen[str]: ...


def spawn(
    args: Sequence[str | os.PathLike[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    stdin: File = None,
    stdout: File = None,
    stderr: File = None,
    text: bool = False,
) -> subprocess.Popen[Any]:
    """``subprocess.Popen(args, ...)`` in a new session, recorded until :func:`stop`."""
    process = subprocess.Popen(
        list(args),
        env=None if env is None else dict(env),
        cwd=cwd,
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        text=text,
        start_new_session=True,
    )
    with _lock:
        _running[process.pid] = process
    return process


def stop(process: subprocess.Popen[Any], timeout: float = STOP_TIMEOUT) -> int:
    """Stop a process from :func:`spawn` and everything in its group; its exit status.

    SIGTERM first (servers shut down cleanly on it), SIGKILL for whatever is left after
    ``timeout`` seconds. Safe to call again, and on a process that has already exited.
    """
    pid = process.pid
    try:
        if process.returncode is None:
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while not _exited(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            # The leader is a zombie now (or still running): its pid, and so the group id,
            # cannot have been reused; kill what is left of the group, leader included.
            _signal_group(pid, signal.SIGKILL)
        return process.wait()
    finally:
        with _lock:
            _running.pop(pid, None)


def kill_all(timeout: float = EXIT_TIMEOUT) -> None:
    """Stop every process :func:`spawn` started that has not been stopped yet."""
    with _lock:
        left = list(_running.values())
    for process in left:
        with contextlib.suppress(OSError):
            stop(process, timeout)


def running() -> list[int]:
    """The pids of the processes started and not stopped yet."""
    with _lock:
        return list(_running)


def _exited(pid: int) -> bool:
    """Whether ``pid`` (a child) has exited, without reaping it, so that its pid stays taken."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # already reaped
        return True


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _on_termination(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGHUP: end the run as Ctrl-C does, so that fixtures are torn down."""
    global _interrupted
    if _interrupted:  # asked twice: no more patience, but the servers still go first
        kill_all(timeout=0)
        os._exit(128 + signum)
    _interrupted = True
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")


def install() -> None:
    """Make SIGTERM and SIGHUP interrupt the run like Ctrl-C (from the main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in (signal.SIGTERM, signal.SIGHUP):
        # Someone else's handler (or an inherited SIG_IGN) is left alone.
        if signal.getsignal(signum) is signal.SIG_DFL:
            signal.signal(signum, _on_termination)


atexit.register(kill_all)


def pytest_configure(config: pytest.Config) -> None:
    install()


def pytest_unconfigure(config: pytest.Config) -> None:
    kill_all()
