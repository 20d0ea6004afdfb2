"""The ``liveblog`` command line, run in-process against real databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import text

from liveblog import demo
from liveblog.cli import main
from liveblog.errors import Unauthenticated
from liveblog.store import schema, tokens
from liveblog.store.database import Database


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


def test_token_create_refuses_an_unknown_role(sqlite_url: str) -> None:
    result = run(sqlite_url, "token", "create", "--role", "owner", "--name", "x")
    assert result.exit_code == 2 and "owner" in result.output


def test_demo_prints_two_tokens_and_plays_once(database_url: str) -> None:
    first = run(database_url, "demo")
    assert first.exit_code == 0, first.output
    lines = first.stdout.splitlines()
    assert lines[0].endswith(f"/api/v1/stories/{demo.SLUG}")
    assert lines[1].startswith("editor token:  lb_") and lines[2].startswith("auditor token: lb_")
    second = run(database_url, "demo")
    assert second.exit_code == 0
    count = asyncio.run(_scalar(database_url, "SELECT count(*) FROM events"))
    assert count == demo.STEP_COUNT + 1
    old_editor = lines[1].split()[-1]
    with pytest.raises(Unauthenticated, match="revoked"):
        asyncio.run(_authenticate(database_url, old_editor))


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
