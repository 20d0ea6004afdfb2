"""The ``liveblog`` command line, run in-process against real databases."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from liveblog import demo
from liveblog.cli import main
from liveblog.errors import Unauthenticated
from liveblog.store import schema, tokens
from liveblog.store.database import Database
from tests.live.processes import free_port


@pytest.fixture(autouse=True)
def signing_key_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEBLOG_SIGNING_KEY_PATH", str(tmp_path / "signing.key"))


def run(url: str, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={"LIVEBLOG_DATABASE_URL": url}, catch_exceptions=False)


async def _authenticate(url: str, secret: str) -> tokens.Actor:
    database = Database(url)
    try:
        async with database.read() as connection:
            return await tokens.authenticate(connection, secret, now=datetime.now(UTC))
    finally:
        await database.dispose()


def test_migrate_reports_the_revision(sqlite_url: str) -> None:
    result = run(sqlite_url, "migrate")
    assert result.exit_code == 0
    assert f"database is at migration {schema.head_revision()}" in result.output


def test_token_create_prints_only_the_token_and_stores_only_its_hash(database_url: str) -> None:
    result = run(database_url, "token", "create", "--role", "editor", "--name", "Night desk")
    assert result.exit_code == 0
    secret = result.stdout.strip()
    assert result.stdout == secret + "\n" and secret.startswith("lb_") and len(secret) >= 46
    actor = asyncio.run(_authenticate(database_url, secret))
    assert (actor.name, actor.role.value) == ("Night desk", "editor")

    listing = run(database_url, "token", "list")
    assert "Night desk" in listing.stdout and secret not in listing.stdout

    assert run(database_url, "token", "revoke", actor.id).exit_code == 0
    with pytest.raises(Unauthenticated, match="revoked"):
        asyncio.run(_authenticate(database_url, secret))
    again = run(database_url, "token", "revoke", actor.id)
    assert again.exit_code == 1 and "no active token" in again.output


def test_token_create_refuses_an_expiry_after_the_year_9999(sqlite_url: str) -> None:
    """Days that carry the expiry past what UTC can hold are a usage error, not an OverflowError."""
    create = ("token", "create", "--role", "editor", "--name", "n", "--expires-in-days")
    for days in ("3000000", "1000000000"):
        result = run(sqlite_url, *create, days)
        assert result.exit_code == 2, result.output
        assert "--expires-in-days" in result.output and "ends after the year 9999" in result.output
    assert run(sqlite_url, *create, "3650").exit_code == 0


def test_token_create_makes_a_consumer_of_the_change_feed(sqlite_url: str) -> None:
    result = run(sqlite_url, "token", "create", "--role", "consumer", "--name", "Search indexer")
    assert result.exit_code == 0, result.output
    actor = asyncio.run(_authenticate(sqlite_url, result.stdout.strip()))
    assert (actor.name, actor.role.value) == ("Search indexer", "consumer")


def test_token_create_makes_a_contributor(sqlite_url: str) -> None:
    result = run(sqlite_url, "token", "create", "--role", "contributor", "--name", "Field reporter")
    assert result.exit_code == 0, result.output
    actor = asyncio.run(_authenticate(sqlite_url, result.stdout.strip()))
    assert (actor.name, actor.role.value) == ("Field reporter", "contributor")


def test_token_create_refuses_an_unknown_role(sqlite_url: str) -> None:
    result = run(sqlite_url, "token", "create", "--role", "owner", "--name", "x")
    assert result.exit_code == 2 and "owner" in result.output


def printed(output: str, label: str) -> str:
    """The value printed after ``label`` (``"editor token:"``, ...) on a line of its own."""
    line = next(line for line in output.splitlines() if line.startswith(label))
    return line[len(label) :].strip()


def test_demo_prints_the_pages_two_tokens_and_plays_once(database_url: str) -> None:
    first = run(database_url, "demo")
    assert first.exit_code == 0, first.output
    base = "http://127.0.0.1:8000"
    assert printed(first.stdout, "open story (post to it):") == f"{base}/stories/{demo.TRY_SLUG}"
    assert printed(first.stdout, "reference story:") == f"{base}/stories/{demo.SLUG}"
    assert printed(first.stdout, "its history:") == f"{base}/stories/{demo.SLUG}/history"
    old_editor = printed(first.stdout, "editor token:")
    assert old_editor.startswith("lb_") and printed(first.stdout, "auditor token:").startswith("lb_")
    second = run(database_url, "demo")
    assert second.exit_code == 0
    for slug, steps in ((demo.SLUG, demo.STEP_COUNT), (demo.TRY_SLUG, demo.TRY_STEP_COUNT)):
        count = asyncio.run(_scalar(database_url, f"SELECT count(*) FROM events WHERE stream = '{slug}'"))
        assert count == steps + 1  # opening also publishes
    with pytest.raises(Unauthenticated, match="revoked"):
        asyncio.run(_authenticate(database_url, old_editor))


def _wait_for_demo_output(process: subprocess.Popen[bytes], output: Path, timeout: float = 120) -> str:
    """``serve --demo``'s standard output once it holds the client line and the server answers."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"serve --demo exited with {process.returncode}"
        text = output.read_text()
        if "export LIVEBLOG_TOKEN=" in text and " post " + demo.TRY_SLUG in text:
            base = printed(text, "open story (post to it):").removesuffix(f"/stories/{demo.TRY_SLUG}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/v1/keys", timeout=5).status_code == 200:
                    return text
        time.sleep(0.3)
    raise AssertionError(f"serve --demo did not come up in {timeout} s:\n{output.read_text()}")


def _curl_request(line: str) -> tuple[str, str, dict[str, str], str]:
    """The method, URL, headers and body of a printed ``curl`` line."""
    words = shlex.split(line)
    assert words[0] == "curl"
    method, url, headers, body = "GET", "", {}, ""
    options = iter(words[1:])
    for word in options:
        if word == "-X":
            method = next(options)
        elif word == "-H":
            name, _, value = next(options).partition(":")
            headers[name.strip()] = value.strip()
        elif word == "-d":
            body = next(options)
        elif word == "-w":
            next(options)
        elif not word.startswith("-"):
            url = word
    return method, url, headers, body


def test_serve_demo_prints_the_open_story_and_lines_that_post_to_it(sqlite_url: str, tmp_path: Path) -> None:
    """A real ``liveblog serve --demo``: the printed pages answer, the printed curl line
    (its token, URL and body) posts to the open story, and so does the printed client line."""
    port = free_port()
    environment = {
        **os.environ,
        "LIVEBLOG_DATABASE_URL": sqlite_url,
        "LIVEBLOG_SIGNING_KEY_PATH": str(tmp_path / "signing.key"),
        "LIVEBLOG_LOG_LEVEL": "warning",
    }
    for name in ("LIVEBLOG_TOKEN", "LIVEBLOG_URL", "LIVEBLOG_HOST", "LIVEBLOG_PORT"):
        environment.pop(name, None)
    output = tmp_path / "serve.out"
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "liveblog.cli", "serve", "--demo", "--port", str(port)],
            env=environment,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.DEVNULL,
        )
    try:
        text = _wait_for_demo_output(process, output)
        base = f"http://127.0.0.1:{port}"
        live_page = printed(text, "open story (post to it):")
        assert live_page == f"{base}/stories/{demo.TRY_SLUG}"
        page = httpx.get(live_page)
        assert page.status_code == 200 and demo.TRY_TITLE in page.text
        for label in ("reference story:", "its history:"):
            assert httpx.get(printed(text, label)).status_code == 200
        editor = printed(text, "editor token:")

        curl = next(line.strip() for line in text.splitlines() if line.strip().startswith("curl "))
        method, url, headers, body = _curl_request(curl)
        assert (method, url) == ("POST", f"{base}/api/v1/stories/{demo.TRY_SLUG}/updates")
        assert headers["Authorization"] == f"Bearer {editor}"
        posted = httpx.request(method, url, headers=headers, content=body)
        assert posted.status_code == 201, posted.text
        assert posted.json()["body"] == json.loads(body)["body"]
        assert posted.json()["id"] in httpx.get(live_page).text

        export = printed(text, "  export LIVEBLOG_TOKEN=")
        assert export == editor
        lines = text.splitlines()
        client_line = lines[next(i for i, line in enumerate(lines) if "export LIVEBLOG_TOKEN=" in line) + 1]
        assert editor not in client_line  # the client never takes the token on its command line
        done = subprocess.run(
            shlex.split(client_line),
            env={**environment, "LIVEBLOG_TOKEN": editor},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        update_id = done.stdout.strip()
        read = httpx.get(f"{base}/api/v1/stories/{demo.TRY_SLUG}/updates/{update_id}")
        assert read.status_code == 200 and "liveblog-client" in read.json()["body"]
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_projections_check_finds_drift_and_rebuild_repairs_it(database_url: str) -> None:
    assert run(database_url, "demo").exit_code == 0
    clean = run(database_url, "projections", "rebuild", "--check")
    assert clean.exit_code == 0 and "matches the log" in clean.output

    asyncio.run(_execute(database_url, "UPDATE update_views SET view = '{}' WHERE seq = 4"))
    asyncio.run(_execute(database_url, "DELETE FROM story_headers"))
    drift = run(database_url, "projections", "rebuild", "--check")
    assert drift.exit_code == 1
    assert f"story {demo.SLUG}: missing from the read model" in drift.stdout
    assert "view differs from the log" in drift.stdout

    assert run(database_url, "projections", "rebuild").exit_code == 0
    assert run(database_url, "projections", "rebuild", "--check").exit_code == 0


@pytest.mark.postgres
def test_serve_refuses_an_unmigrated_postgresql(empty_postgres_url: str) -> None:
    result = run(empty_postgres_url, "serve", "--port", "1")
    assert result.exit_code == 1
    assert "liveblog migrate" in result.output


async def _execute(url: str, statement: str) -> None:
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.execute(text(statement))
    finally:
        await database.dispose()


async def _scalar(url: str, statement: str) -> int:
    database = Database(url)
    try:
        async with database.read() as connection:
            return int((await connection.execute(text(statement))).scalar_one())
    finally:
        await database.dispose()
