"""The ``liveblog`` command line: serve, migrate, tokens, the demo, projections.

Settings come from the environment (``LIVEBLOG_*``, see :mod:`liveblog.config`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn, TypeVar

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


def load_settings() -> Settings:
    """The settings, or exit 2 with one line per bad one (``LIVEBLOG_NAME: what is wrong``,
    never the value, which may hold a token)."""
    from pydantic import ValidationError

    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            where = f"LIVEBLOG_{str(error['loc'][0]).upper()}: " if error["loc"] else ""
            err.print(f"[bold red]error:[/] {where}{error['msg']}", highlight=False, soft_wrap=True)
        sys.exit(2)


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
@click.option(
    "--demo",
    "with_demo",
    is_flag=True,
    help="play the demo stories first; print their pages, tokens and lines to try",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="server processes (PostgreSQL only: they share live events through LISTEN/NOTIFY)",
)
def serve(host: str | None, port: int | None, with_demo: bool, workers: int) -> None:
    """Serve the API and the readers' pages (a fresh SQLite database is migrated automatically)."""
    import functools

    import uvicorn

    from liveblog.api.server import (
        HttpLimits,
        TimedH11Protocol,
        effective_max_connections,
        raise_descriptor_limit,
    )

    settings = load_settings()
    settings = settings.model_copy(update={"host": host or settings.host, "port": port or settings.port})
    if workers > 1 and settings.database_url.startswith("sqlite"):
        err.print("[bold red]error:[/] SQLite serves from one process; use PostgreSQL for --workers")
        sys.exit(2)
    if with_demo:
        _play_demo(settings)
    else:
        _run(schema.ensure_migrated, settings)
    soft, _hard = raise_descriptor_limit()  # inherited by every worker
    limits = HttpLimits(
        header_timeout=settings.http_header_timeout,
        body_timeout=settings.http_body_timeout,
        keepalive_timeout=settings.http_keepalive_timeout,
        max_connections=effective_max_connections(settings.http_max_connections, soft),
    )
    # A partial of a module-level class: it pickles, so `--workers N` processes get the same.
    protocol: Any = functools.partial(TimedH11Protocol, limits=limits)
    uvicorn.run(
        # An import string and a factory, so that every worker builds its own app and services.
        "liveblog.api.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        timeout_worker_healthcheck=settings.worker_healthcheck_timeout,
        log_level=settings.log_level,
        ws="websockets-sansio",
        ws_max_size=settings.live_inbound_bytes,  # readers have nothing to say: larger frames close
        ws_per_message_deflate=False,  # fan-out sends one prepared frame to many readers
        **proxy_options(settings),
        http=protocol,  # header and body timeouts, the connection cap (liveblog.api.server)
        timeout_keep_alive=max(
            1, round(settings.http_keepalive_timeout)
        ),  # the protocol uses the exact value
    )


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's handling of X-Forwarded-For/-Proto, trusting exactly LIVEBLOG_TRUSTED_PROXIES
    (uvicorn's own default believes any request from 127.0.0.1). The client address that
    limits key on is derived by :func:`liveblog.api.limits.client_address` from the same
    setting; uvicorn's part is the scheme (``https`` behind a TLS-terminating proxy)."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(settings.trusted_proxies)}


@main.command()
def demo() -> None:
    """Play the reference story and an open story to try (idempotent); print how to post."""
    _play_demo(Settings())


def _play_demo(settings: Settings) -> None:
    async def work(database: Database) -> tuple[str, str, str, str]:
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
            await demo_story.play_try_story(database, signer=application.signer)
        async with database.write() as connection:
            await _revoke_named(
                connection, "demo editor", "demo auditor", "demo admin", "demo field reporter"
            )
            _, editor = await tokens.create(connection, name="demo editor", role=Role.EDITOR, now=utc_now())
            _, auditor = await tokens.create(
                connection, name="demo auditor", role=Role.AUDITOR, now=utc_now()
            )
            _, admin = await tokens.create(connection, name="demo admin", role=Role.ADMIN, now=utc_now())
            _, contributor = await tokens.create(
                connection, name="demo field reporter", role=Role.CONTRIBUTOR, now=utc_now()
            )
        return editor, auditor, admin, contributor

    editor, auditor, admin, contributor = _run(work, settings)
    click.echo(demo_instructions(_base_url(settings), editor, auditor, admin, contributor))
    sys.stdout.flush()  # before the server takes over, even when standard output is a pipe


def _base_url(settings: Settings) -> str:
    """Where a browser on this machine reaches the server."""
    host = settings.host
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _client_command() -> str:
    """How to run ``liveblog-client`` from here: its name if that finds the one installed
    beside this ``liveblog``, else its path (relative to the working directory if inside it)."""
    import shutil
    from pathlib import Path

    script = Path(sys.executable).parent / "liveblog-client"
    found = shutil.which("liveblog-client")
    if not script.exists() or (found is not None and Path(found).resolve() == script.resolve()):
        return "liveblog-client"
    with contextlib.suppress(ValueError):
        return str(script.absolute().relative_to(Path.cwd()))
    return str(script.absolute())


def demo_instructions(base: str, editor: str, auditor: str, admin: str, contributor: str) -> str:
    """What ``liveblog demo`` and ``serve --demo`` print: the pages, the tokens, a ``curl``
    and a ``liveblog-client`` line that post to the open story, a field reporter's submission
    and its approval, and how to redact an update and verify the export that reports it."""
    import shlex

    open_story = f"{base}/stories/{demo_story.TRY_SLUG}"
    reference = f"{base}/stories/{demo_story.SLUG}"
    body = shlex.quote(json.dumps({"body": "Hello from **curl**"}))
    curl = (
        f"curl -sS -w '\\n' -X POST {base}/api/v1/stories/{demo_story.TRY_SLUG}/updates "
        f"-H 'Authorization: Bearer {editor}' -H 'Content-Type: application/json' -d {body}"
    )
    client = f"{_client_command()} --url {base} post {demo_story.TRY_SLUG} " + shlex.quote(
        "Hello from **liveblog-client**"
    )
    submit = (
        f"curl -sS -w '\\n' -X POST {base}/api/v1/stories/{demo_story.TRY_SLUG}/submissions "
        f"-H 'Authorization: Bearer {contributor}' -H 'Content-Type: application/json' "
        + "-d "
        + shlex.quote(json.dumps({"body": "Seen from the field: the checkpoint is closed."}))
    )
    approve = (
        f"curl -sS -w '\\n' -X POST {base}/api/v1/stories/{demo_story.TRY_SLUG}/submissions/SUBMISSION_ID/approval "
        f"-H 'Authorization: Bearer {editor}'"
    )
    redaction = shlex.quote(
        json.dumps(
            {
                "legal_basis": "court order (demo)",
                "note": "Removed on legal advice.",
                "reason": "trying redaction",
            }
        )
    )
    redact = (
        f"curl -sS -w '\\n' -X POST {base}/api/v1/stories/{demo_story.SLUG}/updates/UPDATE_ID/redaction "
        f"-H 'Authorization: Bearer {admin}' -H 'Content-Type: application/json' -d {redaction}"
    )
    return "\n".join(
        [
            "",
            f"open story (post to it):  {open_story}",
            f"reference story:          {reference}",
            f"its history:              {reference}/history",
            f"API documentation:        {base}/docs",
            "",
            f"editor token:  {editor}",
            f"auditor token: {auditor}",
            f"admin token:   {admin}",
            f"field reporter (contributor) token: {contributor}",
            "",
            "Post to the open story with curl, and watch its live page change by itself:",
            "",
            f"  {curl}",
            "",
            "or with liveblog-client (it takes the token from LIVEBLOG_TOKEN, never from its command line):",
            "",
            f"  export LIVEBLOG_TOKEN={editor}",
            f"  {client}",
            "",
            "A field reporter submits to the open story's queue (readers see nothing of it); an editor",
            "approves it (SUBMISSION_ID: the `id` the first line answers) and it is published:",
            "",
            f"  {submit}",
            f"  {approve}",
            "",
            "Redact an update of the reference story (UPDATE_ID: the id in an update's permalink,",
            "/stories/.../updates/UPDATE_ID) and watch it become a tombstone on the open page:",
            "",
            f"  {redact}",
            "",
            "then export the log and verify it: the report names the redaction:",
            "",
            f"  curl -sS {base}/api/v1/stories/{demo_story.SLUG}/events -H 'Accept: application/x-ndjson' "
            f"-H 'Authorization: Bearer {auditor}' -o export.ndjson",
            f"  {_client_command()} verify export.ndjson",
            "",
        ]
    )


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
    now = utc_now()
    try:
        expires = now + timedelta(days=expires_in_days) if expires_in_days else None
    except OverflowError:
        # As for every other time liveblog takes: one that UTC cannot hold is refused, clearly.
        raise click.BadParameter("ends after the year 9999", param_hint="--expires-in-days") from None

    async def work(database: Database) -> str:
        await schema.ensure_migrated(database)
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

    table = Table("id", "name", "role", "created", "expires", "revoked", "last used")
    for info in _run(work):
        table.add_row(
            info.id,
            info.name,
            info.role.value,
            _when(info.created_at),
            _when(info.expires_at),
            _when(info.revoked_at),
            _when(info.last_used_at),
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
def webhooks() -> None:
    """Register, list, pause, resume, remove and test webhook endpoints (docs/api.md "Webhooks")."""


def _webhook_document(endpoint: Any, *, with_secret: bool = False) -> str:
    from liveblog.api.webhooks import document

    return json.dumps(document(endpoint, with_secret=with_secret), indent=2, ensure_ascii=False)


def _webhook_change(work: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``work(connection)`` in a webhook transaction of the configured database."""
    from liveblog.store import webhooks as store

    async def run(database: Database) -> T:
        await schema.ensure_migrated(database)
        async with store.transaction(database) as connection:
            return await work(connection)

    return _run(run)


def _no_such_webhook(webhook_id: str) -> NoReturn:
    err.print(f"[bold red]error:[/] no webhook with id {webhook_id!r}", markup=True)
    sys.exit(1)


@webhooks.command("add")
@click.argument("url")
@click.option(
    "--story", "stories", multiple=True, help="only this story's events (repeatable) [default: every story]"
)
@click.option(
    "--type", "types", multiple=True, help="only events of this type (repeatable) [default: every type]"
)
def webhooks_add(url: str, stories: tuple[str, ...], types: tuple[str, ...]) -> None:
    """Register URL; print the endpoint as JSON, with its signing secret (shown only now)."""
    from pydantic import ValidationError

    from liveblog.api.schemas import NewWebhook
    from liveblog.api.webhooks import checked_filters
    from liveblog.store import webhooks as store
    from liveblog.store.feed import head
    from liveblog.webhooks import policy

    settings = Settings()
    try:
        body = NewWebhook(url=url, stories=list(stories) or None, types=list(types) or None)
        policy.validate_url(body.url, allow_private=settings.webhook_allow_private)
        chosen_stories, chosen_types = checked_filters(body)
    except ValidationError as exc:
        raise click.BadParameter("; ".join(e["msg"] for e in exc.errors())) from None
    except LiveblogError as exc:
        raise click.BadParameter(exc.detail) from None

    async def work(connection: Any) -> Any:
        cursor = (await head(connection)).encode()
        return await store.create(
            connection, url=body.url, stories=chosen_stories, types=chosen_types, cursor=cursor, now=utc_now()
        )

    click.echo(_webhook_document(_webhook_change(work), with_secret=True))


@webhooks.command("list")
def webhooks_list() -> None:
    """List endpoints and their delivery state (never their secrets)."""
    from liveblog.store import webhooks as store

    async def work(database: Database) -> list[Any]:
        found: list[Any] = []
        after = None
        async with database.read() as connection:
            while True:
                page, after = await store.list_page(connection, after=after, limit=200)
                found += page
                if after is None:
                    return found

    table = Table("id", "url", "status", "failures", "delivered", "last success", "paused because")
    for endpoint in _run(work):
        table.add_row(
            endpoint.id,
            endpoint.url,
            endpoint.status.value,
            str(endpoint.failures),
            str(endpoint.delivered),
            _when(endpoint.last_success_at),
            endpoint.paused_reason or "",
        )
    # Piped or captured, the table keeps ids and URLs whole (rich would fit it to 80 columns).
    Console(width=None if sys.stdout.isatty() else 240).print(table)


def _set_status(webhook_id: str, status: str, reason: str | None) -> None:
    from liveblog.store import webhooks as store

    async def work(connection: Any) -> Any:
        if await store.get(connection, webhook_id) is None:
            return None
        return await store.set_status(
            connection, webhook_id, store.Status(status), reason=reason, now=utc_now()
        )

    endpoint = _webhook_change(work)
    if endpoint is None:
        _no_such_webhook(webhook_id)
    err.print(f"{webhook_id} is {status}")


@webhooks.command("pause")
@click.argument("webhook_id")
@click.option(
    "--reason", default="paused from the command line", show_default=True, help="shown as paused_reason"
)
def webhooks_pause(webhook_id: str, reason: str) -> None:
    """Stop deliveries to an endpoint (its cursor stays where it is)."""
    _set_status(webhook_id, "paused", reason)


@webhooks.command("resume")
@click.argument("webhook_id")
def webhooks_resume(webhook_id: str) -> None:
    """Deliver again from the endpoint's cursor (the failure count starts again)."""
    _set_status(webhook_id, "active", None)


@webhooks.command("delete")
@click.argument("webhook_id")
def webhooks_delete(webhook_id: str) -> None:
    """Remove an endpoint: no more deliveries."""
    from liveblog.store import webhooks as store

    if not _webhook_change(lambda connection: store.remove(connection, webhook_id)):
        _no_such_webhook(webhook_id)
    err.print(f"removed {webhook_id}")


@webhooks.command("rotate")
@click.argument("webhook_id")
def webhooks_rotate(webhook_id: str) -> None:
    """Give an endpoint a new signing secret; print it (shown only now)."""
    from liveblog.store import webhooks as store

    async def work(connection: Any) -> Any:
        if await store.get(connection, webhook_id) is None:
            return None
        return await store.rotate_secret(connection, webhook_id, now=utc_now())

    endpoint = _webhook_change(work)
    if endpoint is None:
        _no_such_webhook(webhook_id)
    click.echo(endpoint.secret)


@webhooks.command("test")
@click.argument("webhook_id")
def webhooks_test(webhook_id: str) -> None:
    """Send a signed test delivery (type WebhookTest) to the endpoint now and print what
    happened; exit 1 if it was not accepted. The endpoint's cursor and state do not change."""
    import secrets

    from liveblog.domain.values import rfc3339
    from liveblog.store import webhooks as store
    from liveblog.webhooks import policy
    from liveblog.webhooks.sender import Sender

    settings = Settings()

    async def work(database: Database) -> Any:
        async with database.read() as connection:
            endpoint = await store.get(connection, webhook_id)
        if endpoint is None:
            return None
        sender = Sender(
            timeout=settings.webhook_timeout_seconds, allow_private=settings.webhook_allow_private
        )
        try:
            at = utc_now()
            body = policy.encode(policy.probe_payload(rfc3339(at) or ""))
            return await sender.send(
                endpoint.url, endpoint.secret, f"msg_test_{secrets.token_hex(8)}", body, at=at
            )
        finally:
            await sender.aclose()

    outcome = _run(work, settings)
    if outcome is None:
        _no_such_webhook(webhook_id)
    where = f" ({outcome.address})" if outcome.address else ""
    if outcome.ok:
        click.echo(f"delivered: HTTP {outcome.status}{where} in {outcome.seconds:.2f} s")
        return
    click.echo(f"failed{where}: {outcome.error}")
    sys.exit(1)


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


@main.group()
def media() -> None:
    """Uploaded images (LIVEBLOG_MEDIA_DIR)."""


@media.command("gc")
@click.option("--dry-run", is_flag=True, help="list what would be removed; remove nothing")
@click.option(
    "--grace-hours",
    type=click.FloatRange(min=0),
    default=24.0,
    show_default=True,
    help="keep unreferenced images uploaded (and stray files written) less than this long ago",
)
def media_gc(dry_run: bool, grace_hours: float) -> None:
    """Remove the images no event of any story references, and files no image names.

    An image is referenced while its id is in any event's data: any version of an update
    (corrected away or not), as a media item or a Markdown image. A redaction removes
    those references, so what only a redacted update showed is removed (the redaction does
    that itself at once; this catches what it could not)."""
    from liveblog.media import references
    from liveblog.store.media import MediaFiles

    settings = Settings()

    async def work(database: Database) -> references.Collected:
        await schema.ensure_migrated(database)
        with _progress() as progress:
            task = progress.add_task("reading the log for references", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await references.collect_garbage(
                database,
                MediaFiles(settings.media_dir),
                now=utc_now(),
                grace=timedelta(hours=grace_hours),
                dry_run=dry_run,
                progress=advance,
            )

    report = _run(work, settings)
    verb = "would remove" if dry_run else "removed"
    for media_id in report.images:
        click.echo(f"{verb} image {media_id}")
    for path in report.stray_files:
        click.echo(f"{verb} stray file {path}")
    click.echo(
        f"{verb} {len(report.images)} image(s) ({report.files} file(s)) and {len(report.stray_files)} "
        f"stray file(s); kept {report.kept} image(s)" + (" (dry run: nothing was changed)" if dry_run else "")
    )


CLI_ADMIN = "cli-admin"


@main.command()
@click.argument("slug")
@click.argument("update_id")
@click.option("--legal-basis", required=True, help="public: the legal ground, e.g. 'court order 2026/123'")
@click.option("--note", required=True, help="public notice shown in the update's place")
@click.option("--reason", required=True, help="internal: why (never shown to readers)")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@click.option("--dry-run", is_flag=True, help="list every surface the redaction would touch; change nothing")
def redact(
    slug: str, update_id: str, legal_basis: str, note: str, reason: str, yes: bool, dry_run: bool
) -> None:
    """Remove the text of update UPDATE_ID of story SLUG for legal reasons, everywhere.

    The event rows of the update lose their text (their hashes still verify), the read
    models, the history and the past show a tombstone, snapshots that held the text are
    deleted and stored idempotent responses rewritten. This cannot be undone.
    """
    import getpass

    from liveblog.domain import commands as c
    from liveblog.domain import decide, evolve
    from liveblog.projections import redaction, views
    from liveblog.store.redaction import Surfaces
    from liveblog.store.tokens import Actor

    try:
        command = c.RedactUpdate(
            story=slug, update_id=update_id, legal_basis=legal_basis, note=note, reason=reason, at=utc_now()
        )
    except ValueError as exc:  # pydantic's ValidationError: an empty or overlong text
        raise click.UsageError(str(exc)) from exc
    settings = Settings()

    async def survey(database: Database) -> Surfaces:
        await schema.ensure_migrated(database)
        application = await build_application(settings, database)
        async with database.read() as connection:
            story = await application.load(connection, slug)
            # The rules decide whether it may be redacted (unknown, already redacted: an error).
            decided = decide(command, story)
            after = evolve(story, decided[0])
            assert story is not None and after is not None
            tombstone = views.redaction_view(after.updates[update_id])
            return await redaction.dry_run(connection, story, update_id, tombstone)

    found = _run(survey, settings)
    click.echo(f"redacting update {update_id} of {slug} would touch:")
    click.echo(f"  event rows (versions): {', '.join(map(str, found.events)) or 'none'}")
    for table, rows in sorted(found.read_models.items()):
        click.echo(f"  read model {table}: {rows} rows")
    click.echo(f"  snapshots (versions): {', '.join(map(str, found.snapshots)) or 'none'}")
    click.echo(f"  idempotency records: {len(found.records)}")
    if dry_run:
        click.echo("dry run: nothing was changed")
        return
    if not yes:
        click.confirm("Remove this text for good? It cannot be restored", abort=True, err=True)
    actor = Actor(id=CLI_ADMIN, name=f"liveblog redact ({getpass.getuser()})", role=Role.ADMIN)

    async def work(database: Database) -> int:
        from liveblog.api.updates import update_response

        application = await build_application(settings, database)
        outcome = await application.handle(command, actor, lambda state: update_response(state, update_id))
        return outcome.recorded[-1].version

    version = _run(work, settings)
    click.echo(f"redacted update {update_id} of {slug} at version {version}")


@main.group()
def audit() -> None:
    """Export a story's log, verify exports (docs/audit-format.md), report its corrections."""


@audit.command("export")
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="write the export to this file [default: standard output]",
)
def audit_export(slug: str, output: str) -> None:
    """Write the log of story SLUG, its signed checkpoints and the public keys, as NDJSON.

    The export ends with a checkpoint of its head: if none covers it yet, it is signed now
    with the key at LIVEBLOG_SIGNING_KEY_PATH (the server's). Without that key file, the
    export is written as it is, and says so: its unsigned tail fails `audit verify`.
    """
    from rich.markup import escape

    from liveblog.audit.export import export_lines
    from liveblog.audit.signing import Signer
    from liveblog.errors import StoryNotFound
    from liveblog.store import event_store

    settings = Settings()
    # Never a new key made up here: a checkpoint must be signed by the server's key.
    keyed = settings.signing_key_path.exists()

    async def work(database: Database) -> tuple[int, int]:
        signer = Signer.from_file(settings.signing_key_path) if keyed else None
        async with database.read() as connection:
            total = await event_store.stream_version(connection, slug)
        if total == 0:
            raise StoryNotFound(f"there is no story {slug!r}")
        try:
            sink = click.open_file(output, "wb")
        except OSError as exc:
            raise click.BadParameter(f"cannot write {output}: {exc.strerror}", param_hint="'-o'") from exc
        covered = 0
        with sink, _progress() as progress:
            task = progress.add_task(f"exporting {slug}", total=total)
            lines = -1  # the header line comes first
            async for line in export_lines(database, slug, now=utc_now(), signer=signer):
                if lines == -1:  # the header: where the export ends (its signed head)
                    total = json.loads(line)["export"]["version"]
                    progress.update(task, total=total)
                elif line.startswith('{"checkpoint"'):
                    covered = json.loads(line)["checkpoint"]["version"]
                sink.write(line.encode())
                lines += 1
                progress.update(task, completed=min(lines, total))
        return total, covered

    total, covered = _run(work, settings)
    destination = "" if output == "-" else f" to {output}"
    err.print(f"exported the {total} events of {slug}{destination}", markup=False, soft_wrap=True)
    if covered < total:
        err.print(
            f"[yellow]warning:[/] no signing key at {escape(str(settings.signing_key_path))}: versions "
            f"{covered + 1}..{total} are covered by no signed checkpoint (verify needs --allow-unsigned-tail)",
            soft_wrap=True,
        )


@audit.command("report")
@click.argument("slug")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["markdown", "json"]),
    default="markdown",
    show_default=True,
    help="Markdown for people, JSON for programs",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="write the report to this file [default: standard output]",
)
def audit_report(slug: str, output_format: str, output: str) -> None:
    """Report every correction, retraction and redaction of story SLUG: what, which update
    and version, when, who (token name, role, id), why (the internal reason), the public
    note and the legal basis. For an auditor or a lawyer; progress goes to standard error."""
    from liveblog.audit import report

    async def work(database: Database) -> report.Report:
        with _progress() as progress:
            task = progress.add_task(f"reading the log of {slug}", total=None)
            return await report.build(
                database,
                slug,
                now=utc_now(),
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )

    built = _run(work)
    text = report.as_json(built) if output_format == "json" else report.as_markdown(built)
    try:
        with click.open_file(output, "w", encoding="utf-8") as sink:
            sink.write(text)
    except OSError as exc:
        raise click.BadParameter(f"cannot write {output}: {exc.strerror}", param_hint="'-o'") from exc
    err.print(f"{slug}: {report.summary(built)} in {built.version} events", markup=False, soft_wrap=True)


@audit.command("verify")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--key",
    "key_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="trust this public key: PEM, a key's JSON, the JSON of /api/v1/keys, or base64 (repeatable)",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="a checkpoint kept earlier (the JSON of GET .../checkpoint) that the log must extend",
)
@click.option("--db", "in_database", is_flag=True, help="verify the logs stored in the configured database")
@click.option("--story", default=None, help="with --db: only this story")
@click.option(
    "--allow-unsigned-tail",
    is_flag=True,
    help="only warn about events after the last signed checkpoint (they fail otherwise)",
)
def audit_verify(
    file: str | None,
    key_files: tuple[str, ...],
    checkpoint_file: str | None,
    in_database: bool,
    story: str | None,
    allow_unsigned_tail: bool,
) -> None:
    """Verify the export FILE ("-": standard input), or with --db the stored logs.

    Exit status 0 when everything holds, 1 naming the first bad version, 2 for unusable
    arguments or files. Never trusts the file's own keys silently: without --key it says so.
    With --db it also checks what only the database shows: rows stored out of order or
    missing (re-inserted by INSERT OR REPLACE, say), snapshots that disagree with the log,
    and the triggers that keep the log append-only.

    Events after the last signed checkpoint (an unsigned tail) fail, since they could have
    been rewritten unseen, unless --allow-unsigned-tail makes that a warning. Every export
    ends with a checkpoint, and the server signs each head within
    LIVEBLOG_CHECKPOINT_WITHIN_SECONDS, so --db may need a moment after the last write.
    """
    from rich.markup import escape

    from liveblog.audit import verify as verifier
    from liveblog.audit.keys import UnusableKey, parse_key_file
    from liveblog.errors import StoreError

    if in_database == (file is not None):
        raise click.UsageError("give either an export FILE or --db")
    if story is not None and not in_database:
        raise click.UsageError("--story goes with --db")
    if checkpoint_file is not None and in_database and story is None:
        raise click.UsageError("--checkpoint with --db needs the --story it was signed for")
    trusted: dict[str, bytes] | None = None
    for key_file in key_files:
        try:
            with open(key_file, "rb") as handle:
                trusted = {**(trusted or {}), **parse_key_file(handle.read())}
        except (OSError, UnusableKey) as exc:
            raise click.BadParameter(f"{key_file}: {exc}", param_hint="'--key'") from exc
    kept: dict[str, object] | None = None
    if checkpoint_file is not None:
        try:
            with open(checkpoint_file, "rb") as handle:
                kept = verifier.parse_checkpoint(handle.read())
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"{checkpoint_file}: {exc}", param_hint="'--checkpoint'") from exc

    def verify_file(name: str) -> verifier.Result:
        try:
            with click.open_file(name, "rb") as handle, _progress() as progress:
                task = progress.add_task(f"verifying {name}", total=None)
                return verifier.verify(
                    verifier.parse_lines(handle),
                    trusted_keys=trusted,
                    kept_checkpoint=kept,
                    progress=lambda done, total: progress.update(task, completed=done, total=total),
                    allow_unsigned_tail=allow_unsigned_tail,
                )
        except OSError as exc:
            raise click.BadParameter(f"cannot read {name}: {exc.strerror}", param_hint="'FILE'") from exc

    async def verify_stored(database: Database) -> tuple[list[str], list[verifier.Result]]:
        try:
            slugs = await verifier.stories(database)
            problems = await verifier.storage_problems(database)
            if story is not None and story not in slugs:
                raise click.BadParameter(
                    f"there is no story {story!r} in the database", param_hint="'--story'"
                )
            results = []
            with _progress() as progress:
                task = progress.add_task("verifying", total=None)
                for slug in [story] if story is not None else slugs:
                    progress.update(task, description=f"verifying {slug}", completed=0, total=None)
                    results.append(
                        await verifier.verify_database(
                            database,
                            slug,
                            trusted_keys=trusted,
                            kept_checkpoint=kept,
                            progress=lambda done, total: progress.update(task, completed=done, total=total),
                            allow_unsigned_tail=allow_unsigned_tail,
                        )
                    )
            return problems, results
        except StoreError as exc:  # exit 1 would say that a log is bad
            raise click.BadParameter(exc.detail, param_hint="'--db'") from exc

    problems: list[str] = []
    if in_database:
        problems, results = _run(verify_stored)
    else:
        results = [verify_file(file or "-")]
    for problem in problems:
        err.print(f"[bold red]FAILED[/] {escape(f'database: {problem}')}", soft_wrap=True)
    if not results:
        err.print("the database holds no story")
    for result in results:
        for warning in result.warnings:
            err.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        for redaction in result.redactions:
            click.echo(f"redacted: {redaction}")
        if result.ok:
            click.echo(f"ok {result.message}")
        else:
            where = result.story or file
            err.print(f"[bold red]FAILED[/] {escape(f'{where}: {result.message}')}", soft_wrap=True)
    if any(result.unusable for result in results):
        sys.exit(2)
    if problems or not all(result.ok for result in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
