"""Fixtures of the client's tests: real liveblog servers on SQLite and PostgreSQL.

PostgreSQL is never skipped: when it cannot be reached, every test that needs it fails
with the reason. Fixture names start with ``lb_`` so that they never shadow the server
suite's fixtures when both suites run in one pytest session.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from lbc_support import Server, discard, make_server, process_guard


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgres: runs against the real PostgreSQL server")
    # Subprocesses started with process_guard.spawn never outlive the run (see lbc_support):
    # SIGTERM interrupts it like Ctrl-C, and whatever is left is killed at the end.
    process_guard.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    process_guard.kill_all()


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def lb_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the session, holding the reference story (``liveblog
    demo``) and tokens of each role. Tests that write use stories of their own."""
    server = make_server(str(request.param), tmp_path_factory.mktemp(f"server-{request.param}"))
    try:
        server.prepare()
        server.cli("demo")
        server.start()
        yield server
    finally:
        discard(server)


@pytest.fixture(params=BACKENDS)
def lb_fresh_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server of the test's own (it may be stopped and restarted), on an empty database."""
    server = make_server(str(request.param), tmp_path_factory.mktemp(f"fresh-{request.param}"))
    try:
        server.prepare()
        server.start()
        yield server
    finally:
        discard(server)


@pytest.fixture
def lb_slug() -> str:
    """A slug no other test uses."""
    return f"client-test-{uuid.uuid4().hex[:10]}"
