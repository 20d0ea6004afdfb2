"""The ``liveblog-client`` command group: global options, settings and error reporting.

Exit status: 0 success; 1 the server refused or failed the request (or, for ``verify``, the
export does not verify); 2 unusable arguments, files or configuration.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from liveblog_client import errors
from liveblog_client.config import ConfigError, Settings, load_settings
from liveblog_client.sync import Client


class Env:
    """What every command gets: settings (read on first use), consoles, output mode."""

    def __init__(
        self,
        url: str | None,
        token_file: Path | None,
        config_path: Path | None,
        as_json: bool,
        no_color: bool,
    ) -> None:
        self._options = (url, token_file, config_path)
        self.as_json = as_json
        self.out = Console(highlight=False, no_color=no_color or None, soft_wrap=as_json)
        self.err = Console(stderr=True, highlight=False, no_color=no_color or None)

    @cached_property
    def settings(self) -> Settings:
        url, token_file, config_path = self._options
        settings = load_settings(url=url, token_file=token_file, config_path=config_path)
        for warning in settings.warnings:
            self.note(f"[yellow]warning:[/] {escape(warning)}")
        return settings

    def client(self) -> Client:
        return Client(self.settings.url, self.settings.token)

    def emit(self, result: BaseModel, line: str) -> None:
        """Print ``result`` as JSON with ``--json``, else ``line`` (plain text, for scripts)."""
        if self.as_json:
            click.echo(result.model_dump_json(by_alias=True))
        else:
            click.echo(line)

    def note(self, message: str) -> None:
        """A message for the person at the terminal (standard error), never hard-wrapped."""
        self.err.print(message, soft_wrap=True)


def _explain(error: errors.LiveblogClientError) -> str:
    if isinstance(error, errors.RevisionConflict):
        current = error.current_revision
        return (
            f"{error.detail}\nSomeone changed it since the revision you named: it is at revision {current}. "
            f"Look at what changed (liveblog-client history), then try again with --revision {current}."
        )
    if isinstance(error, errors.ValidationFailed):
        lines = [error.detail] + [
            f"  {'.'.join(str(part) for part in item.get('loc', [])[1:]) or 'request'}: {item.get('msg', '')}"
            for item in error.errors
        ]
        return "\n".join(lines)
    if isinstance(error, errors.Unauthenticated):
        return f"{error.detail}\nSet LIVEBLOG_TOKEN, use --token-file, or put token_file in the config file."
    if isinstance(error, errors.ApiError):
        return f"{error.problem.title} ({error.status}): {error.detail}"
    return str(error)


class Commands(click.Group):
    """A group that turns the client's errors into a message and an exit status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            _fail(ctx, str(exc), 2)
        except errors.LiveblogClientError as exc:
            _fail(ctx, _explain(exc), 1)


def _fail(ctx: click.Context, message: str, status: int) -> None:
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    ctx.exit(status)


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--url",
    metavar="URL",
    help="the server [default: $LIVEBLOG_URL, the config file, or http://127.0.0.1:8000]",
)
@click.option(
    "--token-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="read the token from this file [default: $LIVEBLOG_TOKEN or the config file]",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="the config file [default: $LIVEBLOG_CLIENT_CONFIG or ~/.config/liveblog-client/config.toml]",
)
@click.option("--json", "as_json", is_flag=True, help="print results as JSON")
@click.option("--no-color", is_flag=True, help="no colours (also: the NO_COLOR environment variable)")
@click.version_option(package_name="liveblog-client")
@click.pass_context
def main(
    ctx: click.Context,
    url: str | None,
    token_file: Path | None,
    config_path: Path | None,
    as_json: bool,
    no_color: bool,
) -> None:
    """liveblog-client: write, follow and audit liveblog stories from the shell.

    The token comes from $LIVEBLOG_TOKEN, --token-file or the config file, never from the
    command line.
    """
    env = Env(url, token_file, config_path, as_json, no_color)
    ctx.obj = env
    handler = RichHandler(console=env.err, show_time=False, show_path=False)
    logging.getLogger("liveblog_client").addHandler(handler)
    logging.getLogger("liveblog_client").setLevel(logging.WARNING)


pass_env = click.make_pass_decorator(Env)
