"""The reader's commands: ``follow`` (a live view of a story) and ``history`` (revisions with diffs)."""

from __future__ import annotations

import asyncio

import click

from liveblog_client.cli.base import Env, main, pass_env
from liveblog_client.cli.render import LiveView, history_view, story_view
from liveblog_client.client import AsyncClient
from liveblog_client.follow import FollowItem


@main.command()
@click.argument("slug")
@click.option("--replay", is_flag=True, help="show every event from the first the server shows you")
@click.option("--after", type=click.IntRange(min=0), help="show the events after this version")
@click.option("--until-version", type=click.IntRange(min=1), help="stop once this version is shown")
@pass_env
@click.pass_context
def follow(
    ctx: click.Context, env: Env, slug: str, replay: bool, after: int | None, until_version: int | None
) -> None:
    """Follow story SLUG live: the story as it stands, then each event as it happens.

    Lost connections and server restarts are resumed where they broke off, every event
    shown once. With --json, one JSON message per line instead.
    """
    if replay and after is not None:
        raise click.UsageError("--replay and --after exclude each other")
    view = LiveView(env.out)
    start = 0 if replay else after
    if start is None:
        with env.client() as client:
            story = client.story(slug)
        start = story.version
        if not env.as_json:
            env.out.print(story_view(story))
            view.remember([*story.pinned, *story.updates])
            env.out.rule(f"following live after version {start}", align="left")
    try:
        asyncio.run(_follow(env, slug, start, until_version, view))
    except KeyboardInterrupt:
        ctx.exit(130)


async def _follow(env: Env, slug: str, after: int, until_version: int | None, view: LiveView) -> None:
    async with AsyncClient(env.settings.url, env.settings.token) as client:
        async for item in client.follow(slug, after=after, until_version=until_version):
            _show(env, view, item)


def _show(env: Env, view: LiveView, item: FollowItem) -> None:
    if env.as_json:
        click.echo(item.model_dump_json(by_alias=True))
    else:
        view.show(item)
    env.out.file.flush()


@main.command()
@click.argument("slug")
@click.argument("update_id", required=False)
@pass_env
def history(env: Env, slug: str, update_id: str | None) -> None:
    """The revisions of update UPDATE_ID, oldest first, with word diffs and notes (staff
    tokens also see who acted and why). Without UPDATE_ID: the story header's revisions."""
    with env.client() as client:
        revisions = client.history(slug, update_id) if update_id else client.revisions(slug)
    if env.as_json:
        click.echo(revisions.model_dump_json(by_alias=True))
        return
    title = f"update {update_id} of {slug}" if update_id else f"story {slug}"
    history_view(env.out, title, revisions.items)
