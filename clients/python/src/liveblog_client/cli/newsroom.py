"""The editor's commands: open, publish, retitle, close, reopen; upload, post, correct,
verify-claim, pin, retract; and the submission queue's: submit and withdraw (a contributor), queue,
approve and reject (an editor).

Each prints one line for scripts on standard output (``open``: the slug; ``post``: the new
update's id; ``submit``: the submission's id; ``approve``: the published update's id; the
others: what happened), or the resource with ``--json``. A write sends an
Idempotency-Key; give ``--idempotency-key`` to make a script safe to run again: a step
already done is answered as before and recorded once.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from liveblog_client import bodies
from liveblog_client.cli.base import Env, main, pass_env
from liveblog_client.models import (
    ClaimStatus,
    CorrectionKind,
    Media,
    MediaKind,
    Source,
    Story,
    SubmissionStatus,
)
from liveblog_client.sync import Client

F = TypeVar("F", bound=Callable[..., Any])


def idempotent(command: F) -> F:
    return click.option(
        "--idempotency-key",
        metavar="KEY",
        help="send this Idempotency-Key: running the command again records nothing new",
    )(command)


def source(text: str) -> Source:
    """``NAME`` or ``NAME=URL`` (split at the last ``=`` that starts an http(s) URL)."""
    name, _, url = text.rpartition("=")
    if name and url.lower().startswith(("http://", "https://")):
        return Source(name=name.strip(), url=url.strip())
    return Source(name=text.strip())


def media(text: str) -> Media:
    """``KIND URL [CAPTION]``, KIND one of image, video, link, embed (a post of X, YouTube,
    Vimeo, Telegram, Instagram, Bluesky or Mastodon by its URL)."""
    kind, _, rest = text.strip().partition(" ")
    url, _, caption = rest.strip().partition(" ")
    if kind not in {item.value for item in MediaKind} or not url:
        raise click.BadParameter(
            f"{text!r}: expected 'KIND URL [CAPTION]' with KIND image, video, link or embed"
        )
    return Media(kind=MediaKind(kind), url=url, caption=caption.strip() or None)


def image(text: str) -> Media:
    """``ID ALT TEXT``: an image uploaded with ``upload`` and its description."""
    media_id, _, alt = text.strip().partition(" ")
    if not media_id or not alt.strip():
        raise click.BadParameter(
            f"{text!r}: expected 'ID ALT TEXT' (the id printed by upload, then the alt text)"
        )
    return Media(kind=MediaKind.IMAGE, id=media_id, alt=alt.strip())


def moment(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise click.BadParameter(f"{text!r} is not an RFC 3339 time") from exc
    if parsed.tzinfo is None:
        raise click.BadParameter(f"{text!r} needs an offset, such as +03:00 or Z")
    return parsed


def body_text(text: str | None, body_file: Path | None) -> str | None:
    """The body given as an argument (``-``: standard input) or with ``--body-file``."""
    if text is not None and body_file is not None:
        raise click.UsageError("give the body as an argument or with --body-file, not both")
    if body_file is not None:
        return body_file.read_text(encoding="utf-8")
    if text == "-":
        return sys.stdin.read()
    return text


# ------------------------------------------------------------------------ stories


@main.command("open")
@click.argument("title")
@click.option("--summary", help="a short standfirst")
@click.option("--slug", help="the story's address [default: made from the title]")
@click.option("--publish", is_flag=True, help="go live at once rather than open a draft")
@click.option("--language", help="language tag [default: en]")
@idempotent
@pass_env
def open_story(
    env: Env,
    title: str,
    summary: str | None,
    slug: str | None,
    publish: bool,
    language: str | None,
    idempotency_key: str | None,
) -> None:
    """Open a story (a draft unless --publish); prints its slug."""
    with env.client() as client:
        story = client.open_story(
            bodies.NewStory(title=title, summary=summary, slug=slug, publish=publish, language=language),
            idempotency_key=idempotency_key,
        )
    env.note(f"opened [bold]{story.slug}[/] ({story.status.value})")
    env.emit(story, story.slug)


StoryAction = Callable[..., Story]


def _story_action(name: str, action: Callable[[Client], StoryAction], done: str) -> None:
    """Register command ``name`` SLUG, which runs ``action`` of the client on the story."""

    @main.command(name, help=f"{name.capitalize()} story SLUG.")
    @click.argument("slug")
    @idempotent
    @pass_env
    def command(env: Env, slug: str, idempotency_key: str | None) -> None:
        with env.client() as client:
            story = action(client)(slug, idempotency_key=idempotency_key)
        env.emit(story, f"{story.slug} {done} (version {story.version})")


_story_action("publish", lambda client: client.publish_story, "is live")
_story_action("close", lambda client: client.close_story, "is closed")
_story_action("reopen", lambda client: client.reopen_story, "is live again")


@main.command()
@click.argument("slug")
@click.option("--title", help="the new headline")
@click.option("--summary", help="the new summary")
@click.option("--reason", help="why (kept for auditors)")
@click.option("--revision", type=int, help="the header revision you revised [default: the current one]")
@idempotent
@pass_env
def retitle(
    env: Env,
    slug: str,
    title: str | None,
    summary: str | None,
    reason: str | None,
    revision: int | None,
    idempotency_key: str | None,
) -> None:
    """Change the headline and/or summary of story SLUG (If-Match on its header revision)."""
    if title is None and summary is None:
        raise click.UsageError("give --title and/or --summary")
    with env.client() as client:
        expected = revision if revision is not None else client.story(slug).revision
        story = client.revise_story(
            slug,
            bodies.StoryPatch(title=title, summary=summary, reason=reason),
            if_match=expected,
            idempotency_key=idempotency_key,
        )
    env.emit(story, f"{story.slug} revised (header revision {story.revision})")


# ------------------------------------------------------------------------ updates


@main.command()
@click.argument("slug")
@click.argument("body", required=False)
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="read the body (Markdown) from a file",
)
@click.option("--title", help="the update's headline (plain text, at most 200 characters)")
@click.option("--byline")
@click.option(
    "--source", "sources", multiple=True, metavar="NAME[=URL]", help="where it comes from (repeatable)"
)
@click.option("--claim", type=click.Choice([s.value for s in ClaimStatus]), help="the claim status")
@click.option("--claim-note", help="a note on the claim status")
@click.option("--key-event", is_flag=True, help="mark as a key event")
@click.option("--pin", is_flag=True, help="pin to the top of the story")
@click.option("--occurred-at", metavar="TIME", help="when it happened (RFC 3339 with offset)")
@click.option(
    "--media", "media_items", multiple=True, metavar="'KIND URL [CAPTION]'", help="attach media (repeatable)"
)
@click.option(
    "--image", "images", multiple=True, metavar="'ID ALT'", help="attach an uploaded image (repeatable)"
)
@idempotent
@pass_env
def post(
    env: Env,
    slug: str,
    body: str | None,
    body_file: Path | None,
    title: str | None,
    byline: str | None,
    sources: tuple[str, ...],
    claim: str | None,
    claim_note: str | None,
    key_event: bool,
    pin: bool,
    occurred_at: str | None,
    media_items: tuple[str, ...],
    images: tuple[str, ...],
    idempotency_key: str | None,
) -> None:
    """Post an update to story SLUG; BODY is Markdown ("-": standard input). Prints its id."""
    text = body_text(body, body_file)
    if not text:
        raise click.UsageError("give the update's body")
    if claim_note is not None and claim is None:
        raise click.UsageError("--claim-note goes with --claim")
    new = bodies.NewUpdate(
        body=text,
        title=title,
        byline=byline,
        sources=[source(item) for item in sources],
        verification=None if claim is None else bodies.Claim(status=ClaimStatus(claim), note=claim_note),
        key_event=key_event,
        pinned=pin,
        occurred_at=moment(occurred_at),
        media=[*(media(item) for item in media_items), *(image(item) for item in images)],
    )
    with env.client() as client:
        update = client.post_update(slug, new, idempotency_key=idempotency_key)
    env.emit(update, update.id)


@main.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_env
def upload(env: Env, path: Path) -> None:
    """Upload the image at PATH (JPEG, PNG, WebP or GIF; its metadata is stripped). Prints its
    id, for `post --image 'ID ALT'`."""
    with env.client() as client:
        uploaded = client.upload(path)
    env.emit(uploaded, uploaded.id)


@main.command()
@click.argument("slug")
@click.argument("update_id")
@click.option("--body", help="the corrected body (Markdown)")
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="read the corrected body from a file",
)
@click.option("--title", help="the corrected headline ('' removes it)")
@click.option("--byline", help="the corrected byline ('' removes it)")
@click.option(
    "--source", "sources", multiple=True, metavar="NAME[=URL]", help="replace the sources (repeatable)"
)
@click.option("--no-sources", is_flag=True, help="remove every source")
@click.option("--occurred-at", metavar="TIME", help="the corrected time of the event")
@click.option(
    "--media", "media_items", multiple=True, metavar="'KIND URL [CAPTION]'", help="replace the media"
)
@click.option("--no-media", is_flag=True, help="remove all media")
@click.option(
    "--kind", type=click.Choice([k.value for k in CorrectionKind]), default="correction", show_default=True
)
@click.option("--reason", required=True, help="why (internal: for the newsroom and auditors)")
@click.option("--note", help="the public note readers see (required except for --kind minor)")
@click.option("--revision", type=int, help="the revision you corrected [default: the current one]")
@idempotent
@pass_env
def correct(
    env: Env,
    slug: str,
    update_id: str,
    body: str | None,
    body_file: Path | None,
    title: str | None,
    byline: str | None,
    sources: tuple[str, ...],
    no_sources: bool,
    occurred_at: str | None,
    media_items: tuple[str, ...],
    no_media: bool,
    kind: str,
    reason: str,
    note: str | None,
    revision: int | None,
    idempotency_key: str | None,
) -> None:
    """Correct, clarify or amend update UPDATE_ID of story SLUG (If-Match on its revision:
    a change made meanwhile by someone else is refused, not overwritten)."""
    if (sources and no_sources) or (media_items and no_media):
        raise click.UsageError(
            "--source with --no-sources, or --media with --no-media, contradict each other"
        )
    changes = bodies.Changes(
        body=body_text(body, body_file),
        title=title,
        byline=byline,
        sources=[] if no_sources else [source(item) for item in sources] or None,
        occurred_at=moment(occurred_at),
        media=[] if no_media else [media(item) for item in media_items] or None,
    )
    if not bodies.to_json(changes):
        raise click.UsageError(
            "say what changes: --body, --title, --byline, --source, --occurred-at or --media"
        )
    with env.client() as client:
        expected = revision if revision is not None else client.update(slug, update_id).revision
        update = client.correct(
            slug,
            update_id,
            bodies.Correction(changes=changes, kind=CorrectionKind(kind), reason=reason, note=note),
            if_match=expected,
            idempotency_key=idempotency_key,
        )
    env.emit(update, f"{update.id} corrected ({kind}, revision {update.revision})")


@main.command("verify-claim")
@click.argument("slug")
@click.argument("update_id")
@click.argument("status", type=click.Choice([s.value for s in ClaimStatus]))
@click.option("--note", help="a note on the claim status, shown to readers")
@idempotent
@pass_env
def verify_claim(
    env: Env, slug: str, update_id: str, status: str, note: str | None, idempotency_key: str | None
) -> None:
    """Set the claim status of update UPDATE_ID: unverified, confirmed, disputed, denied, false."""
    with env.client() as client:
        update = client.set_verification(
            slug,
            update_id,
            bodies.Claim(status=ClaimStatus(status), note=note),
            idempotency_key=idempotency_key,
        )
    env.emit(update, f"{update.id} is {status} (revision {update.revision})")


@main.command()
@click.argument("slug")
@click.argument("update_id")
@click.option("--unpin", is_flag=True, help="unpin instead")
@click.option("--key-event/--not-key-event", default=None, help="also mark or unmark it as a key event")
@idempotent
@pass_env
def pin(
    env: Env, slug: str, update_id: str, unpin: bool, key_event: bool | None, idempotency_key: str | None
) -> None:
    """Pin update UPDATE_ID to the top of story SLUG (or --unpin it)."""
    with env.client() as client:
        update = client.set_flags(
            slug,
            update_id,
            bodies.Flags(pinned=not unpin, key_event=key_event),
            idempotency_key=idempotency_key,
        )
    state = "pinned" if update.pinned else "not pinned"
    env.emit(update, f"{update.id} is {state}" + (", a key event" if update.key_event else ""))


@main.command()
@click.argument("slug")
@click.argument("update_id")
@click.option("--reason", required=True, help="why (internal)")
@click.option("--note", required=True, help="the public notice shown with the struck-through update")
@click.option("--revision", type=int, help="the revision you retracted [default: any]")
@idempotent
@pass_env
def retract(
    env: Env,
    slug: str,
    update_id: str,
    reason: str,
    note: str,
    revision: int | None,
    idempotency_key: str | None,
) -> None:
    """Retract update UPDATE_ID: it stays in the record, struck through, with the notice."""
    with env.client() as client:
        update = client.retract(
            slug,
            update_id,
            bodies.Retraction(reason=reason, note=note),
            if_match=revision,
            idempotency_key=idempotency_key,
        )
    env.emit(update, f"{update.id} retracted")


# ------------------------------------------------------------- submissions (issue 15, part 1)


@main.command()
@click.argument("slug")
@click.argument("body", required=False)
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="read the body (Markdown) from a file",
)
@click.option("--byline")
@click.option(
    "--source", "sources", multiple=True, metavar="NAME[=URL]", help="where it comes from (repeatable)"
)
@click.option("--claim", type=click.Choice([s.value for s in ClaimStatus]), help="the claim status")
@click.option("--claim-note", help="a note on the claim status")
@click.option("--occurred-at", metavar="TIME", help="when it happened (RFC 3339 with offset)")
@click.option(
    "--media", "media_items", multiple=True, metavar="'KIND URL [CAPTION]'", help="attach media (repeatable)"
)
@idempotent
@pass_env
def submit(
    env: Env,
    slug: str,
    body: str | None,
    body_file: Path | None,
    byline: str | None,
    sources: tuple[str, ...],
    claim: str | None,
    claim_note: str | None,
    occurred_at: str | None,
    media_items: tuple[str, ...],
    idempotency_key: str | None,
) -> None:
    """Submit an update to story SLUG's queue for an editor to approve (a contributor's
    token); BODY is Markdown ("-": standard input). Prints the submission's id."""
    text = body_text(body, body_file)
    if not text:
        raise click.UsageError("give the update's body")
    if claim_note is not None and claim is None:
        raise click.UsageError("--claim-note goes with --claim")
    new = bodies.NewSubmission(
        body=text,
        byline=byline,
        sources=[source(item) for item in sources],
        verification=None if claim is None else bodies.Claim(status=ClaimStatus(claim), note=claim_note),
        occurred_at=moment(occurred_at),
        media=[media(item) for item in media_items],
    )
    with env.client() as client:
        submission = client.submit(slug, new, idempotency_key=idempotency_key)
    env.note(f"submitted [bold]{submission.id}[/] (pending)")
    env.emit(submission, submission.id)


@main.command()
@click.argument("slug")
@click.option(
    "--status",
    type=click.Choice([s.value for s in SubmissionStatus]),
    default="pending",
    show_default=True,
    help="which submissions",
)
@click.option("--all", "every", is_flag=True, help="every submission, whatever its status")
@click.option("--limit", type=click.IntRange(1, 100), default=20, show_default=True)
@click.option("--before", metavar="CURSOR", help="the page after this cursor (the `next` of a page)")
@pass_env
def queue(env: Env, slug: str, status: str, every: bool, limit: int, before: str | None) -> None:
    """List story SLUG's submission queue, newest first (a contributor: its own only). One
    line each: id, status, submitter, the start of the body."""
    with env.client() as client:
        page = client.submissions(slug, status=None if every else status, before=before, limit=limit)
    lines = [
        f"{s.id}\t{s.status.value}\t{s.submitted_by.name}\t{str(s.update.get('body', ''))[:60]!r}"
        for s in page.items
    ]
    if page.next is not None:
        lines.append(f"next: {page.next}")
    env.emit(page, "\n".join(lines) if lines else "(no submissions)")


@main.command()
@click.argument("slug")
@click.argument("submission_id")
@click.option("--body", help="your edit of the body (Markdown)")
@click.option(
    "--body-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="read your edit of the body from a file",
)
@click.option("--byline", help="your edit of the byline ('' removes it)")
@click.option(
    "--source", "sources", multiple=True, metavar="NAME[=URL]", help="replace the sources (repeatable)"
)
@click.option("--occurred-at", metavar="TIME", help="your edit of the time of the event")
@idempotent
@pass_env
def approve(
    env: Env,
    slug: str,
    submission_id: str,
    body: str | None,
    body_file: Path | None,
    byline: str | None,
    sources: tuple[str, ...],
    occurred_at: str | None,
    idempotency_key: str | None,
) -> None:
    """Publish submission SUBMISSION_ID of story SLUG, with your edits if any (recorded as
    yours). Prints the published update's id; exits non-zero if someone decided it first."""
    changes = bodies.Changes(
        body=body_text(body, body_file),
        byline=byline,
        sources=[source(item) for item in sources] or None,
        occurred_at=moment(occurred_at),
    )
    with env.client() as client:
        update = client.approve(
            slug, submission_id, bodies.Approval(changes=changes), idempotency_key=idempotency_key
        )
    env.emit(update, update.id)


@main.command()
@click.argument("slug")
@click.argument("submission_id")
@click.option("--note", required=True, help="why, for the submitter")
@idempotent
@pass_env
def reject(env: Env, slug: str, submission_id: str, note: str, idempotency_key: str | None) -> None:
    """Turn submission SUBMISSION_ID of story SLUG down, with a note to its submitter."""
    with env.client() as client:
        submission = client.reject(
            slug, submission_id, bodies.Rejection(note=note), idempotency_key=idempotency_key
        )
    env.emit(submission, f"{submission.id} rejected")


@main.command()
@click.argument("slug")
@click.argument("submission_id")
@idempotent
@pass_env
def withdraw(env: Env, slug: str, submission_id: str, idempotency_key: str | None) -> None:
    """Take back your pending submission SUBMISSION_ID of story SLUG."""
    with env.client() as client:
        submission = client.withdraw(slug, submission_id, idempotency_key=idempotency_key)
    env.emit(submission, f"{submission.id} withdrawn")
