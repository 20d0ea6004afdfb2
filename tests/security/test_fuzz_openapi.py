"""Issue item 6 (first half): schemathesis against the app's own OpenAPI document.

Every operation, positive and negative data, as an editor (the auditors' log as an auditor,
the webhooks as an admin), once with generated path parameters and once aimed at the reference story and one of its
updates, so that generated bodies meet real resources. Checks: ``not_a_server_error`` and
``response_schema_conformance``. Bounded to a few examples per operation and mode so the
run takes well under a minute.

The app is driven through schemathesis' own ASGI client, which runs it (lifespan included)
on its own event loop: the app here builds its services itself, from settings, rather than
sharing the test's.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import response_schema_conformance

from liveblog import demo
from liveblog.api.app import create_app
from liveblog.audit.signing import Signer
from liveblog.config import Settings
from liveblog.store import schema as store_schema
from liveblog.store import tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.conftest import _run_apart

EXAMPLES = 5  # per operation, per generation mode, per pass
CHECKS = [not_a_server_error, response_schema_conformance]


def _prepare(url: str, key: Path) -> tuple[dict[str, str], dict[str, str], dict[str, str], str]:
    """Migrate, play the demo, make an editor, an auditor and an admin token: their headers
    and an update id of the demo story."""
    found: dict[str, Any] = {}

    async def work() -> None:
        database = Database(url)
        try:
            if database.is_sqlite:
                await store_schema.upgrade(database)
            ids = await demo.play(database, signer=Signer.from_file(key))
            found["update"] = ids["deadline"]
            async with database.write() as connection:
                for role in (Role.EDITOR, Role.AUDITOR, Role.ADMIN):
                    _, secret = await tokens.create(
                        connection, name=f"Fuzz {role.value}", role=role, now=datetime.now(UTC)
                    )
                    found[role.value] = {"Authorization": f"Bearer {secret}"}
        finally:
            await database.dispose()

    _run_apart(work())
    return found["editor"], found["auditor"], found["admin"], found["update"]


def _runner(strategy: Any, headers: dict[str, str], statuses: dict[int, int]) -> Any:
    """A bounded hypothesis run of ``strategy``: each case is sent with ``headers`` and checked."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def call(case: schemathesis.Case) -> None:
        response = case.call(headers=headers)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS, headers=headers)

    return call


@pytest.fixture
def fuzz_database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/fuzz.db"
    else:
        yield str(request.getfixturevalue("postgres_url"))


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(
    fuzz_database_url: str, tmp_path: Path
) -> None:
    key = tmp_path / "signing.key"
    editor, auditor, admin, update_id = _prepare(fuzz_database_url, key)
    app = create_app(
        Settings(
            database_url=fuzz_database_url,
            signing_key_path=key,
            media_dir=tmp_path / "media",
            write_burst=100_000,  # the fuzzer writes fast; the rate limit has tests of its own
            write_rate_per_minute=100_000,
        )
    )
    api = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    statuses: dict[int, int] = {}
    operations = 0
    try:
        for result in api.get_all_operations():
            operation = result.ok()
            operations += 1
            headers = auditor if operation.path.endswith("/events") else editor
            if operation.path.startswith("/api/v1/webhooks"):
                headers = admin  # webhooks are the admins' alone
            targets: dict[str, str] = {}
            if "{slug}" in operation.path:
                targets["slug"] = demo.SLUG
            if "{update_id}" in operation.path:
                targets["update_id"] = update_id
            passes = [None, targets] if targets else [None]
            for path_parameters in passes:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

                    call = _runner(strategy, headers, statuses)
                    try:
                        call()
                    except Unsatisfiable:
                        continue  # nothing left to negate (no body, no free parameter)
                    except Exception as exc:  # noqa: BLE001  (one failure per operation and mode, with its reproduction)
                        aimed = "aimed at the demo story" if path_parameters else "generated path"
                        failures.append(
                            f"{operation.label} [{mode.value}, {aimed}]: {type(exc).__name__}: {exc}"
                        )
    finally:
        asgi.shutdown_lifespans()
    assert operations >= 20
    print("statuses seen:", dict(sorted(statuses.items())))
    assert sum(n for status, n in statuses.items() if 200 <= status < 300) >= 20, statuses
    assert not failures, "\n\n".join(failures)


def test_the_openapi_document_declares_the_limits_responses() -> None:
    """A refused write (429 with Retry-After) and a refused subscription (429) are responses
    of the API (docs/api.md, issue item 5): they belong in its OpenAPI document like 413 does."""
    document = create_app(Settings()).openapi()
    missing = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            writes = method in ("post", "put", "patch")
            live = path.endswith("/live")
            if (writes or live) and "429" not in operation["responses"]:
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"429 is not declared for: {missing}"


HUGE = 2**31  # one past PostgreSQL's INTEGER


@pytest.mark.parametrize(
    ("path", "params", "who"),
    [
        ("/api/v1/stories/{slug}/events", {"after": HUGE}, "auditor"),
        ("/api/v1/stories/{slug}/events", {"after": 10**30}, "auditor"),
        ("/api/v1/stories/{slug}", {"at_version": HUGE}, "anonymous"),
        ("/api/v1/stories/{slug}", {"at_version": 10**30}, "anonymous"),
        ("/stories/{slug}/history", {"version": HUGE}, "anonymous"),
        ("/stories/{slug}/history", {"version": 10**30}, "anonymous"),
    ],
    ids=[
        "events-after-2^31",
        "events-after-10^30",
        "at_version-2^31",
        "at_version-10^30",
        "history-version-2^31",
        "history-version-10^30",
    ],
)
async def test_out_of_range_integers_are_refused_not_server_errors(
    path: str, params: dict[str, int], who: str, app: Any, editor: dict[str, str], auditor: dict[str, str]
) -> None:
    """Found by the fuzzer on PostgreSQL: an integer query parameter with no upper bound
    reaches an INTEGER column."""
    import httpx

    from tests.security.conftest import published_story

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await published_story(http, editor, "ranged")
        headers = auditor if who == "auditor" else {}
        response = await http.get(path.format(slug="ranged"), params=params, headers=headers)
    assert response.status_code < 500, (response.status_code, response.text[:300])


async def test_a_live_after_of_twelve_digits_is_a_reset_not_an_error(
    server_url: str, client: Any, editor: dict[str, str]
) -> None:
    """``after`` may have up to 12 digits (live.py): past PostgreSQL's INTEGER."""
    from websockets.asyncio.client import connect

    from tests.security.conftest import published_story, receive, sse_blocks, ws_url

    await published_story(client, editor, "far-ahead")
    async with connect(ws_url(server_url, "far-ahead", after=999_999_999_999)) as connection:
        assert (await receive(connection))["type"] == "hello"
        assert (await receive(connection))["type"] == "reset"
    response, blocks = await sse_blocks(server_url, "far-ahead", after=999_999_999_999, count=2)
    assert response.status_code == 200, response.text[:200]
    assert [block[0] for block in blocks][:2] == ["event: hello", "event: reset"]
