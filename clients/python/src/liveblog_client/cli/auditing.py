"""The auditor's commands: ``export`` a log, ``verify`` an export, keep a ``checkpoint`` and
the server's ``keys`` for later verifications.

``verify`` is this package's own implementation of docs/audit-format.md; it never asks the
server anything. Exit status: 0 verified, 1 not (naming the first bad version), 2 unusable
arguments or files (a file that does not start with an export header is not an export).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import click
from rich.markup import escape

from liveblog_client import calls
from liveblog_client.audit.keys import TrustedKeys, UnusableKey, parse_key_file
from liveblog_client.audit.verifier import parse_checkpoint
from liveblog_client.audit.verifier import verify as verify_export
from liveblog_client.cli.base import Env, main, pass_env

OUTPUT = click.Path(dir_okay=False, allow_dash=True, path_type=Path)


def _write(target: Path | None, write: Callable[[BinaryIO], int]) -> int:
    """Run ``write`` into ``target`` (standard output for ``None`` or ``-``). A file is
    written beside it first and renamed when complete, so a broken transfer leaves no
    export that looks whole."""
    if target is None or str(target) == "-":
        return write(sys.stdout.buffer)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as sink:
            written = write(sink)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return written


@main.command()
@click.argument("slug")
@click.option("-o", "--output", type=OUTPUT, help="write here [default: SLUG.ndjson; '-': standard output]")
@pass_env
def export(env: Env, slug: str, output: Path | None) -> None:
    """Export the log of story SLUG as NDJSON (auditor token), as the server streams it."""
    target = output or Path(f"{slug}.ndjson")
    with env.client() as client:
        written = _write(target, lambda sink: client.export(slug, sink))
    if str(target) != "-":
        env.note(f"exported {slug} ({written} bytes) to {target}")


@main.command()
@click.argument("slug")
@click.option("-o", "--output", type=OUTPUT, help="write here [default: standard output]")
@pass_env
def checkpoint(env: Env, slug: str, output: Path | None) -> None:
    """Save the latest signed checkpoint of story SLUG, to prove later that its log only grew
    (``verify --checkpoint``)."""
    with env.client() as client:
        document = client.send(calls.checkpoint_json(slug))
    _write(output, lambda sink: sink.write(document))


@main.command()
@click.option("-o", "--output", type=OUTPUT, help="write here [default: standard output]")
@pass_env
def keys(env: Env, output: Path | None) -> None:
    """Save the server's public signing keys, to trust with ``verify --key``."""
    with env.client() as client:
        document = client.send(calls.keys_json())
    _write(output, lambda sink: sink.write(document))


def _trusted(key_files: tuple[Path, ...]) -> TrustedKeys | None:
    if not key_files:
        return None
    trusted: TrustedKeys = {}
    for key_file in key_files:
        try:
            trusted.update(parse_key_file(key_file.read_bytes()))
        except (OSError, UnusableKey) as exc:
            raise click.BadParameter(f"{key_file}: {exc}", param_hint="'--key'") from exc
    return trusted


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=str))
@click.option(
    "--key",
    "key_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="trust this public key: PEM, a key's JSON, the JSON of /api/v1/keys, or base64 (repeatable)",
)
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="a checkpoint kept earlier, which the log must extend",
)
@click.option(
    "--allow-unsigned-tail",
    is_flag=True,
    help="only warn when the last versions are covered by no signed checkpoint in the file",
)
@pass_env
@click.pass_context
def verify(
    ctx: click.Context,
    env: Env,
    file: str,
    key_files: tuple[Path, ...],
    checkpoint_file: Path | None,
    allow_unsigned_tail: bool,
) -> None:
    """Verify the export FILE ('-': standard input) without trusting the server: canonical
    JSON, the hash chain and its salted commitments, redactions, the signed checkpoints up
    to the head, an older checkpoint, the newsroom's rules. Each redaction is reported
    ("version k redacted by version m (legal basis)") and verification goes on."""
    trusted = _trusted(key_files)
    kept = None
    if checkpoint_file is not None:
        try:
            kept = parse_checkpoint(checkpoint_file.read_bytes())
        except (OSError, ValueError) as exc:
            raise click.BadParameter(f"{checkpoint_file}: {exc}", param_hint="'--checkpoint'") from exc
    try:
        with click.open_file(file, "rb") as handle:
            verdict = verify_export(
                handle, trusted=trusted, kept=kept, allow_unsigned_tail=allow_unsigned_tail
            )
    except OSError as exc:
        raise click.BadParameter(f"cannot read {file}: {exc.strerror}", param_hint="'FILE'") from exc
    for warning in verdict.warnings:
        env.note(f"[yellow]warning:[/] {escape(warning)}")
    if verdict.ok:
        click.echo(f"ok {verdict.summary()}")
        for redaction in verdict.redactions:
            click.echo(f"redacted: {redaction}")
        return
    env.note(f"[bold red]FAILED[/] {escape(file)}: {escape(verdict.summary())}")
    ctx.exit(2 if verdict.unusable else 1)
