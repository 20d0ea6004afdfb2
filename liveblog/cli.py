"""The ``liveblog`` command line: serve, migrate, tokens, the demo, projections.

Settings come from the environment (``LIVEBLOG_*``, see :mod:`liveblog.config`).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from liveblog import demo as demo_story
from liveblog.application import build_application, utc_now
from liveblog.config import Settings
from liveblog.errors import LiveblogError
from liveblog.projections import rebuild
from liveblog.store import schema, tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role

T = TypeVar("T")
err = Console(stderr=True)


def _run(work: Callable[[Database], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run ``work`` against the configured database; liveblog errors become a message and exit 1."""
    settings = settings or Settings()

    async def main() -> T:
        database = Database(settings.database_url)
        try:
            return await work(database)
        finally:
            await database.dispose()

    try:
        return asyncio.run(main())
    except LiveblogError as exc:
        err.print(f"[bold red]error:[/] {exc.detail}")
        sys.exit(1)


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    )


@click.group()
@click.version_option(package_name="liveblog")
def main() -> None:
    """liveblog: an event-sourced backend for live news coverage."""


@main.command()
def migrate() -> None:
    """Bring the database schema up to date (safe to run again)."""

    async def work(database: Database) -> str | None:
        await schema.upgrade(database)
        return await schema.current_revision(database)

    revision = _run(work)
    err.print(f"database is at migration {revision}")


@main.command()
@click.option("--host", default=None, help="interface to listen on [default: LIVEBLOG_HOST or 127.0.0.1]")
@click.option("--port", type=int, default=None, help="port [default: LIVEBLOG_PORT or 8000]")
@click.option("--demo", "with_demo", is_flag=True, help="load the reference story first and print tokens")
def serve(host: str | None, port: int | None, with_demo: bool) -> None:
    """Serve the API (a fresh SQLite database is migrated automatically)."""
    import uvicorn

    from liveblog.api.app import create_app

    settings = Settings()
    if host is not None:
        settings = settings.model_copy(update={"host": host})
    if port is not None:
        settings = settings.model_copy(update={"port": port})
    if with_demo:
        _play_demo(settings)
    else:
        _run(schema.ensure_migrated, settings)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_per_message_deflate=False,
    )


@main.command()
def demo() -> None:
    """Play the reference story into the database (idempotent) and print two tokens."""
    _play_demo(Settings())


def _play_demo(settings: Settings) -> None:
    async def work(database: Database) -> tuple[str, str]:
        if database.is_sqlite:
            await schema.upgrade(database)
        else:
            await schema.ensure_migrated(database)
        with _progress() as progress:
            task = progress.add_task("playing the reference story", total=demo_story.STEP_COUNT)
            application = await build_application(settings, database)
            await demo_story.play(
                database, signer=application.signer, progress=lambda _name: progress.advance(task)
            )
        async with database.write() as connection:
            await _revoke_named(connection, "demo editor", "demo auditor")
            _, editor = await tokens.create(connection, name="demo editor", role=Role.EDITOR, now=utc_now())
            _, auditor = await tokens.create(
                connection, name="demo auditor", role=Role.AUDITOR, now=utc_now()
            )
        return editor, auditor

    editor, auditor = _run(work, settings)
    base = f"http://{settings.host}:{settings.port}"
    click.echo(f"demo story:    {base}/api/v1/stories/{demo_story.SLUG}")
    click.echo(f"editor token:  {editor}")
    click.echo(f"auditor token: {auditor}")


async def _revoke_named(connection: object, *names: str) -> None:
    from sqlalchemy.ext.asyncio import AsyncConnection

    assert isinstance(connection, AsyncConnection)
    for info in await tokens.list_all(connection):
        if info.name in names and info.revoked_at is None:
            await tokens.revoke(connection, info.id, now=utc_now())


@main.group()
def token() -> None:
    """Create, list and revoke API tokens."""


@token.command("create")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", required=True, help="who holds the token (recorded as the author of their actions)")
@click.option(
    "--expires-in-days", type=click.IntRange(min=1), default=None, help="expire after this many days"
)
def token_create(role: str, name: str, expires_in_days: int | None) -> None:
    """Create a token and print it (only the token: it is shown once and stored hashed)."""

    async def work(database: Database) -> str:
        await schema.ensure_migrated(database)
        now = utc_now()
        expires = now + timedelta(days=expires_in_days) if expires_in_days else None
        async with database.write() as connection:
            _, secret = await tokens.create(
                connection, name=name, role=Role(role), now=now, expires_at=expires
            )
        return secret

    click.echo(_run(work))


@token.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""

    async def work(database: Database) -> list[tokens.TokenInfo]:
        async with database.read() as connection:
            return await tokens.list_all(connection)

    table = Table("id", "name", "role", "created", "expires", "revoked")
    for info in _run(work):
        table.add_row(
            info.id,
            info.name,
            info.role.value,
            _when(info.created_at),
            _when(info.expires_at),
            _when(info.revoked_at),
        )
    Console().print(table)


@token.command("revoke")
@click.argument("token_id")
def token_revoke(token_id: str) -> None:
    """Revoke a token by its id (see `token list`); effective immediately."""

    async def work(database: Database) -> bool:
        async with database.write() as connection:
            return await tokens.revoke(connection, token_id, now=utc_now())

    if not _run(work):
        err.print(f"[bold red]error:[/] no active token with id {token_id!r}")
        sys.exit(1)
    err.print(f"revoked {token_id}")


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@main.group()
def projections() -> None:
    """Re-derive read models from the log."""


@projections.command("rebuild")
@click.option("--check", is_flag=True, help="only compare with what is stored; exit 1 on any difference")
def projections_rebuild(check: bool) -> None:
    """Rebuild every read model from the event log (or, with --check, report drift)."""

    async def work(database: Database) -> list[str]:
        await schema.ensure_migrated(database)
        with _progress() as progress:
            task = progress.add_task("replaying the log", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            if check:
                return await rebuild.check(database, advance)
            await rebuild.rebuild(database, advance)
            return []

    differences = _run(work)
    if check and differences:
        for line in differences:
            click.echo(line)
        err.print(f"[bold red]{len(differences)} difference(s)[/] between the read model and the log")
        sys.exit(1)
    err.print("read model matches the log" if check else "read model rebuilt from the log")


if __name__ == "__main__":
    main()
