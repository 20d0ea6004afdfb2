"""Shared fixtures: real SQLite files and real PostgreSQL databases, a real app over ASGI.

PostgreSQL is never skipped: if it cannot be reached, every test that needs it fails with
the reason. Point ``LIVEBLOG_TEST_POSTGRES_URL`` at a server (any database on it; the
tests create and drop their own databases) to use another one.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from playwright.async_api import Browser, async_playwright

from liveblog.api.app import create_app
from liveblog.api.services import Services, running_services
from liveblog.application import Application
from liveblog.config import Settings
from liveblog.store import schema, tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests import recycled_databases

# Servers and other subprocesses started with tests.process_guard.spawn never outlive the run.
pytest_plugins = ["tests.process_guard"]

POSTGRES_URL = os.environ.get("LIVEBLOG_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_TEMPLATE = f"liveblog_template_{os.getpid()}"


def _dsn(database: str) -> str:
    base, _, _ = POSTGRES_URL.rpartition("/")
    return f"{base}/{database}"


def _async_url(database: str) -> str:
    return _dsn(database).replace("postgresql://", "postgresql+asyncpg://", 1)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def _run_apart(work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` to completion on its own loop in its own thread (a session fixture may
    be set up while a test's loop is already running)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()


# Migrated databases that tests have finished with, reset to the template's state, for the
# next test to take (tests/recycled_databases.py); and that state (None: no recycling).
_recycled: list[str] = []
_template_state: str | None = None


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A migrated database that each PostgreSQL test copies (fast, and always current)."""
    global _template_state
    try:
        _run_apart(_admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}"'))
        _run_apart(_admin(f'CREATE DATABASE "{_TEMPLATE}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.fail(f"PostgreSQL is unreachable at {POSTGRES_URL}: {exc}", pytrace=False)

    async def migrate() -> None:
        global _template_state
        database = Database(_async_url(_TEMPLATE))
        await schema.upgrade(database)
        await database.dispose()
        _template_state = await recycled_databases.template_state(_dsn(_TEMPLATE))

    _run_apart(migrate())
    yield _TEMPLATE

    async def drop_all() -> None:
        while _recycled:
            await _admin(f'DROP DATABASE IF EXISTS "{_recycled.pop()}" WITH (FORCE)')
        await _admin(f'DROP DATABASE IF EXISTS "{_TEMPLATE}" WITH (FORCE)')

    _template_state = None
    _run_apart(drop_all())


@pytest.fixture
async def empty_postgres_url(postgres_template: str) -> AsyncIterator[str]:
    """A fresh, unmigrated PostgreSQL database, dropped afterwards."""
    name = f"liveblog_t_{uuid.uuid4().hex[:12]}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield _async_url(name)
    await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def postgres_url(postgres_template: str) -> AsyncIterator[str]:
    """A migrated PostgreSQL database of the test's own, in the state of the template: a
    fresh copy, or one an earlier test used, reset and checked (tests/recycled_databases.py)."""
    if _recycled:
        name = _recycled.pop()
    else:
        name = f"liveblog_t_{uuid.uuid4().hex[:12]}"
        await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{postgres_template}"')
    yield _async_url(name)
    expected = _template_state
    try:
        clean = expected is not None and await recycled_databases.reset(
            POSTGRES_URL, name, _dsn(name), expected
        )
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        clean = False  # dropped, as if there were no recycling
    if clean:
        _recycled.append(name)
    else:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/liveblog.db"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that the ``database`` fixture copies for each SQLite test (the
    same file a migration would leave, in a millisecond instead of a tenth of a second)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "liveblog.db"

    async def migrate() -> None:
        database = Database(f"sqlite+aiosqlite:///{path}")
        await schema.upgrade(database)
        await database.dispose()

    _run_apart(migrate())
    # Every connection is closed: the write-ahead log is checkpointed into the file and gone.
    assert not path.with_name(path.name + "-wal").exists(), "the template's WAL was not checkpointed"
    return path


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        url: str = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def database(database_url: str, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A migrated database on the parametrised backend (SQLite and PostgreSQL).

    A new SQLite file is a copy of ``sqlite_template``; PostgreSQL's is a copy of
    ``postgres_template`` already (see ``postgres_url``)."""
    db = Database(database_url)
    if db.is_sqlite:
        path = db.engine.url.database
        if path and path != ":memory:" and not Path(path).exists():
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        else:
            await schema.upgrade(db)
    yield db
    await db.dispose()


@pytest.fixture
def settings(database: Database, tmp_path: Path) -> Settings:
    # Tests write in bursts far above any newsroom's pace; the rate limit has its own tests.
    # The sealing sweep waits an hour, so that no test sees a checkpoint it did not cause
    # (tests/audit/test_sealing.py sets a short bound of its own).
    return Settings(
        database_url=database.url,
        signing_key_path=tmp_path / "signing.key",
        media_dir=tmp_path / "media",
        write_rate_per_minute=1_000_000,
        write_burst=1_000_000,
        checkpoint_within_seconds=3600,
    )


@pytest.fixture
async def services(settings: Settings, database: Database) -> AsyncIterator[Services]:
    """Everything the server runs (hub and bus included), as the server builds it, signing
    with a key of the test's own."""
    async with running_services(settings, database) as running:
        yield running


@pytest.fixture
def application(services: Services) -> Application:
    return services.application


@pytest.fixture
def app(services: Services) -> FastAPI:
    return create_app(services=services)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as http:
        yield http


async def make_token(database: Database, role: Role, name: str) -> str:
    async with database.write() as connection:
        _, secret = await tokens.create(connection, name=name, role=role, now=datetime.now(UTC))
    return secret


@pytest.fixture
async def editor(database: Database) -> dict[str, str]:
    """Authorization headers of an editor called "Olena Editor"."""
    return {"Authorization": f"Bearer {await make_token(database, Role.EDITOR, 'Olena Editor')}"}


@pytest.fixture
async def auditor(database: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(database, Role.AUDITOR, 'Ade Auditor')}"}


@pytest.fixture
async def admin(database: Database) -> dict[str, str]:
    return {"Authorization": f"Bearer {await make_token(database, Role.ADMIN, 'Sam Admin')}"}


# Debian's Chromium, never a downloaded one (tests/browser/conftest.py).
CHROMIUM = os.environ.get("LIVEBLOG_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def session_chromium() -> AsyncIterator[Browser]:
    """The one headless Chromium of the run (launching one costs seconds; it lives in the
    session's event loop, and so do the tests that use it: see ``tests/conftest.py``). Each test gets
    contexts of its own in it (``browser``, ``page``), so no test sees another's cookies,
    storage or pages."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        await launched.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests that use the run's one Chromium (``session_chromium``, behind the ``browser``
    and ``page`` fixtures of tests/browser/conftest.py) run in the session's event loop, where
    it lives: Playwright's objects belong to the loop that made them. So do the async
    fixtures they use (:func:`pytest_fixture_setup`)."""
    for item in items:
        if _uses_chromium(item) and pytest_asyncio.is_async_test(item):
            item.add_marker(pytest.mark.asyncio(loop_scope="session"), append=False)


def _uses_chromium(node: Any) -> bool:
    return "session_chromium" in getattr(node, "fixturenames", ())


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest) -> Any:
    """Any async fixture of a test that uses Chromium runs in the session's loop too, for the
    time of that test (pytest-asyncio reads ``_loop_scope`` when it sets the fixture up)."""
    func = fixturedef.func
    if not (_uses_chromium(request.node) and inspect.isfunction(func)):
        return (yield)
    if not (inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func)):
        return (yield)
    unset = object()
    before = getattr(func, "_loop_scope", unset)
    func._loop_scope = "session"  # type: ignore[attr-defined]
    try:
        return (yield)
    finally:
        if before is unset:
            del func._loop_scope  # type: ignore[attr-defined]
        else:
            func._loop_scope = before  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With LIVEBLOG_FAIL_ON_SKIP=1 (as in CI) a skipped test fails the run."""
    if os.environ.get("LIVEBLOG_FAIL_ON_SKIP") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter is not None else 0
    if skipped:
        reporter.write_line(
            f"LIVEBLOG_FAIL_ON_SKIP: {skipped} test(s) were skipped; failing the run", red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
