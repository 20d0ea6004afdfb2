"""``liveblog-client schedule``: posts prepared in advance (docs/api.md "Scheduled posts").

``schedule create SLUG BODY --at TIME`` schedules a new update (prints the item's id, which
is the update's id once published); ``schedule publication SLUG --at TIME`` schedules a
draft's publication; ``schedule list SLUG`` lists the items, soonest first; ``schedule move``,
``schedule cancel`` and ``schedule publish-now`` act on one item. TIME is RFC 3339 with an
offset (``2023-06-04T16:00:00+03:00``); a time already past is refused by the server.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click

from liveblog_client import bodies
from liveblog_client.cli.base import Env, main, pass_env
from liveblog_client.cli.newsroom import body_text, idempotent, moment, source
from liveblog_client.models import ScheduledItem, Story


def _when(text: str) -> datetime:
    when = moment(text)
    if when is None:  # pragma: no cover - click gives --at a value
        raise click.BadParameter("give a time")
    return when


def _line(item: ScheduledItem) -> str:
    what = (item.update.title or item.update.body.split("\n", 1)[0][:60]) if item.update else "publication"
    return f"{item.id}\t{item.status}\t{item.publish_at.isoformat()}\t{item.kind}\t{what}"


@main.group()
def schedule() -> None:
    """Schedule posts and a story's publication; list, move, cancel or publish them now."""


@schedule.command("create")
@click.argument("slug")
@click.argument("body", required=False)
@click.option("--at", "at", required=True, metavar="TIME", help="when to publish it (RFC 3339 with offset)")
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="read the body (Markdown) from a file",
)
@click.option("--title", help="the update's headline (plain text)")
@click.option("--byline")
@click.option("--source", "sources", multiple=True, metavar="NAME[=URL]", help="where it comes from")
@click.option("--key-event", is_flag=True, help="mark as a key event")
@click.option("--pin", is_flag=True, help="pin to the top of the story")
@idempotent
@pass_env
def create(
    env: Env,
    slug: str,
    body: str | None,
    at: str,
    body_file: Path | None,
    title: str | None,
    byline: str | None,
    sources: tuple[str, ...],
    key_event: bool,
    pin: bool,
    idempotency_key: str | None,
) -> None:
    """Schedule an update to story SLUG at --at; BODY is Markdown ("-": standard input).
    Prints the item's id."""
    text = body_text(body, body_file)
    if not text:
        raise click.UsageError("give the update's body")
    new = bodies.ScheduledUpdate(
        body=text,
        title=title,
        byline=byline,
        sources=[source(item) for item in sources],
        key_event=key_event,
        pinned=pin,
        publish_at=_when(at),
    )
    with env.client() as client:
        item = client.schedule_update(slug, new, idempotency_key=idempotency_key)
    env.emit(item, item.id)


@schedule.command("publication")
@click.argument("slug")
@click.option("--at", "at", required=True, metavar="TIME", help="when to publish the draft")
@idempotent
@pass_env
def publication(env: Env, slug: str, at: str, idempotency_key: str | None) -> None:
    """Schedule the publication of draft story SLUG. Prints the item's id."""
    body = bodies.ScheduledPublication(publish_at=_when(at))
    with env.client() as client:
        item = client.schedule_publication(slug, body, idempotency_key=idempotency_key)
    env.emit(item, item.id)


@schedule.command("list")
@click.argument("slug")
@click.option("--status", type=click.Choice(["scheduled", "published", "cancelled"]))
@pass_env
def list_items(env: Env, slug: str, status: str | None) -> None:
    """The scheduled items of story SLUG, soonest first: id, status, time, kind, what."""
    with env.client() as client:
        page = client.scheduled(slug, status=status)
        items = list(page.items)
        while page.next is not None:
            page = client.scheduled(slug, status=status, after=page.next)
            items += page.items
    if env.as_json:
        click.echo("[" + ",".join(item.model_dump_json() for item in items) + "]")
        return
    for item in items:
        click.echo(_line(item))


@schedule.command("move")
@click.argument("slug")
@click.argument("item_id")
@click.option("--at", "at", required=True, metavar="TIME", help="the new time")
@idempotent
@pass_env
def move(env: Env, slug: str, item_id: str, at: str, idempotency_key: str | None) -> None:
    """Reschedule pending item ITEM_ID of story SLUG."""
    body = bodies.ScheduleChange(publish_at=_when(at))
    with env.client() as client:
        item = client.reschedule(slug, item_id, body, idempotency_key=idempotency_key)
    env.emit(item, f"{item.id} rescheduled for {item.publish_at.isoformat()}")


@schedule.command("cancel")
@click.argument("slug")
@click.argument("item_id")
@idempotent
@pass_env
def cancel(env: Env, slug: str, item_id: str, idempotency_key: str | None) -> None:
    """Cancel pending item ITEM_ID of story SLUG: it will never be published."""
    with env.client() as client:
        item = client.cancel_scheduled(slug, item_id, idempotency_key=idempotency_key)
    env.emit(item, f"{item.id} cancelled")


@schedule.command("publish-now")
@click.argument("slug")
@click.argument("item_id")
@idempotent
@pass_env
def publish_now(env: Env, slug: str, item_id: str, idempotency_key: str | None) -> None:
    """Publish pending item ITEM_ID of story SLUG now."""
    with env.client() as client:
        published = client.publish_scheduled(slug, item_id, idempotency_key=idempotency_key)
    done = f"{slug} published" if isinstance(published, Story) else f"{published.id} published"
    env.emit(published, done)
