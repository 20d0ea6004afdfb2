"""The asynchronous client: one method per endpoint of docs/api.md, plus :meth:`AsyncClient.follow`.

Every method returns a typed model or raises a typed :mod:`~liveblog_client.errors` error.
Writes carry an Idempotency-Key (the same on each retry: a lost answer never causes a double
post) and, where a revision is given with ``if_match``, an ``If-Match`` header: a resource
changed since then raises :class:`~liveblog_client.errors.RevisionConflict`.

::

    async with AsyncClient("http://127.0.0.1:8000", token=editor_token) as client:
        story = await client.open_story(NewStory(title="...", publish=True))
        update = await client.post_update(story.slug, NewUpdate(body="..."))
        async for item in client.follow(story.slug):
            ...
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self, TypeVar

import httpx

from liveblog_client import bodies, calls, models
from liveblog_client.calls import Call
from liveblog_client.connection import DEFAULT_URL, Connection, final
from liveblog_client.errors import ConnectionFailed
from liveblog_client.follow import FOLLOW_BACKOFF, FollowItem, follow
from liveblog_client.retry import DEFAULT_RETRY, Backoff, RetryPolicy

T = TypeVar("T")


class AsyncClient:
    """An asyncio client of one liveblog server. Use it as an async context manager, or
    call :meth:`aclose` when done. ``transport`` is passed to httpx (tests, proxies)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.connection = Connection(url=url, token=token, retry=retry, timeout=timeout)
        self._http = httpx.AsyncClient(
            base_url=self.connection.base_url(),
            headers=self.connection.headers(),
            timeout=self.connection.timeouts(),
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _response(self, call: Call[T], *, stream: bool) -> httpx.Response:
        """The final answer to ``call`` after the retries; raises its typed error. A streamed
        answer is open: the caller closes it."""
        request = self.connection.request(self._http, call)
        attempts = self.connection.attempts(request)
        while True:
            try:
                response = await self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                await asyncio.sleep(attempts.after_failure(exc))
                continue
            delay = attempts.after_response(response)
            if delay is None:
                break
            await response.aclose()
            await asyncio.sleep(delay)
        if response.is_error:
            await response.aread()
            await response.aclose()
        return final(response)

    async def send(self, call: Call[T]) -> T:
        """Execute ``call`` (see :mod:`liveblog_client.calls`) and read its answer."""
        return call.read(await self._response(call, stream=False))

    # -------------------------------------------------------------------- stories

    async def stories(self, *, before: str | None = None, limit: int | None = None) -> models.StoryList:
        """A page of stories (drafts too, for editors), most recently opened first; pass the
        page's ``next`` as ``before`` for the next."""
        return await self.send(calls.list_stories(before=before, limit=limit))

    async def story(
        self, slug: str, *, at_version: int | None = None, as_of: datetime | None = None
    ) -> models.Story:
        """The story now, or exactly as it stood at ``at_version`` or at time ``as_of``."""
        return await self.send(
            calls.get_story(slug, at_version=at_version, as_of=as_of.isoformat() if as_of else None)
        )

    async def open_story(self, body: bodies.NewStory, *, idempotency_key: str | None = None) -> models.Story:
        return await self.send(calls.open_story(body, idempotency_key=idempotency_key))

    async def revise_story(
        self,
        slug: str,
        body: bodies.StoryPatch,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Story:
        """Change headline and/or summary; ``if_match`` is the header ``revision`` you saw."""
        return await self.send(
            calls.revise_story(slug, body, if_match=if_match, idempotency_key=idempotency_key)
        )

    async def publish_story(self, slug: str, *, idempotency_key: str | None = None) -> models.Story:
        return await self.send(calls.story_action(slug, "publish", idempotency_key=idempotency_key))

    async def close_story(self, slug: str, *, idempotency_key: str | None = None) -> models.Story:
        return await self.send(calls.story_action(slug, "close", idempotency_key=idempotency_key))

    async def reopen_story(self, slug: str, *, idempotency_key: str | None = None) -> models.Story:
        return await self.send(calls.story_action(slug, "reopen", idempotency_key=idempotency_key))

    # -------------------------------------------------------------------- updates

    # --------------------------------------------------------- submissions (issue 15, part 1)

    async def submit(
        self, slug: str, body: bodies.NewSubmission, *, idempotency_key: str | None = None
    ) -> models.Submission:
        """Submit an update to the story's queue (a contributor's token, or an editor's)."""
        return await self.send(calls.submit(slug, body, idempotency_key=idempotency_key))

    async def submissions(
        self, slug: str, *, status: str | None = None, before: str | None = None, limit: int | None = None
    ) -> models.SubmissionPage:
        """A page of the queue, newest first (a contributor: its own submissions only)."""
        return await self.send(calls.list_submissions(slug, status=status, before=before, limit=limit))

    async def submission(self, slug: str, submission_id: str) -> models.Submission:
        return await self.send(calls.get_submission(slug, submission_id))

    async def approve(
        self,
        slug: str,
        submission_id: str,
        body: bodies.Approval | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> models.Update:
        """Publish a pending submission (with the editor's changes): the published update.
        :class:`~liveblog_client.errors.Conflict` if it was decided already."""
        return await self.send(
            calls.approve(slug, submission_id, body or bodies.Approval(), idempotency_key=idempotency_key)
        )

    async def reject(
        self, slug: str, submission_id: str, body: bodies.Rejection, *, idempotency_key: str | None = None
    ) -> models.Submission:
        return await self.send(calls.reject(slug, submission_id, body, idempotency_key=idempotency_key))

    async def withdraw(
        self, slug: str, submission_id: str, *, idempotency_key: str | None = None
    ) -> models.Submission:
        return await self.send(calls.withdraw(slug, submission_id, idempotency_key=idempotency_key))

    async def upload(self, path: str | Path) -> models.UploadedMedia:
        """Upload the image at ``path`` (JPEG, PNG, WebP or GIF); attach it to an update with
        ``Media(kind="image", id=..., alt=...)``. The server strips its metadata."""
        file = Path(path)
        return await self.send(calls.upload_media(file.name, file.read_bytes()))

    async def post_update(
        self, slug: str, body: bodies.NewUpdate, *, idempotency_key: str | None = None
    ) -> models.Update:
        return await self.send(calls.post_update(slug, body, idempotency_key=idempotency_key))

    async def updates(
        self, slug: str, *, before: str | None = None, limit: int | None = None
    ) -> models.UpdatePage:
        """A page of updates, newest first; pass the page's ``next`` as ``before`` for the next."""
        return await self.send(calls.list_updates(slug, before=before, limit=limit))

    async def update(self, slug: str, update_id: str) -> models.Update:
        return await self.send(calls.get_update(slug, update_id))

    async def correct(
        self,
        slug: str,
        update_id: str,
        body: bodies.Correction,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        """Correct an update; with ``if_match`` (the revision you corrected), a change made
        since raises :class:`~liveblog_client.errors.RevisionConflict`."""
        return await self.send(
            calls.update_write(
                "POST",
                slug,
                update_id,
                "corrections",
                body,
                if_match=if_match,
                idempotency_key=idempotency_key,
            )
        )

    async def set_verification(
        self,
        slug: str,
        update_id: str,
        body: bodies.Claim,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        """Set the claim status of an update (unchanged status and note: nothing recorded)."""
        return await self.send(
            calls.update_write(
                "PUT",
                slug,
                update_id,
                "verification",
                body,
                if_match=if_match,
                idempotency_key=idempotency_key,
            )
        )

    async def set_flags(
        self,
        slug: str,
        update_id: str,
        body: bodies.Flags,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        """Pin or unpin, mark or unmark as a key event."""
        return await self.send(
            calls.update_write(
                "PUT", slug, update_id, "flags", body, if_match=if_match, idempotency_key=idempotency_key
            )
        )

    async def retract(
        self,
        slug: str,
        update_id: str,
        body: bodies.Retraction,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        return await self.send(
            calls.update_write(
                "POST",
                slug,
                update_id,
                "retraction",
                body,
                if_match=if_match,
                idempotency_key=idempotency_key,
            )
        )

    # ---------------------------------------------------------------------- audit

    async def events(self, slug: str, *, after: int = 0, limit: int | None = None) -> models.EventPage:
        """A page of the story's log (auditors)."""
        return await self.send(calls.list_events(slug, after=after, limit=limit))

    async def export(self, slug: str, sink: BinaryIO) -> int:
        """Stream the story's NDJSON export (auditors) into ``sink``; returns the bytes written."""
        response = await self._response(calls.export(slug), stream=True)
        written = 0
        try:
            async for chunk in response.aiter_bytes():
                sink.write(chunk)
                written += len(chunk)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"the export of {slug!r} broke off after {written} bytes: {exc!r}"
            ) from exc
        finally:
            await response.aclose()
        return written

    async def history(self, slug: str, update_id: str) -> models.RevisionList:
        """Every revision of an update, oldest first, with diffs (every page, followed)."""
        return await self._every_page(
            lambda after: calls.update_history(slug, update_id, after=after, limit=calls.HISTORY_PAGE)
        )

    async def history_page(
        self, slug: str, update_id: str, *, after: str | None = None, limit: int | None = None
    ) -> models.RevisionList:
        """One page of an update's revisions; pass its ``next`` as ``after`` for the next."""
        return await self.send(calls.update_history(slug, update_id, after=after, limit=limit))

    async def revisions(self, slug: str) -> models.RevisionList:
        """Every revision of the story's header, oldest first (every page, followed)."""
        return await self._every_page(
            lambda after: calls.story_revisions(slug, after=after, limit=calls.HISTORY_PAGE)
        )

    async def revisions_page(
        self, slug: str, *, after: str | None = None, limit: int | None = None
    ) -> models.RevisionList:
        """One page of the story header's revisions; pass its ``next`` as ``after``."""
        return await self.send(calls.story_revisions(slug, after=after, limit=limit))

    async def _every_page(
        self, page: Callable[[str | None], calls.Call[models.RevisionList]]
    ) -> models.RevisionList:
        items: list[models.Revision] = []
        seen: set[str] = set()
        after: str | None = None
        while True:
            answer = await self.send(page(after))
            items += answer.items
            after = calls.next_history_cursor(answer, seen)
            if after is None:
                return models.RevisionList(items=items, next=None)

    async def checkpoint(self, slug: str) -> models.Checkpoint:
        return await self.send(calls.checkpoint(slug))

    async def keys(self) -> models.KeyList:
        return await self.send(calls.keys())

    # ----------------------------------------------------------------------- live

    def follow(
        self,
        slug: str,
        *,
        after: int = 0,
        until_version: int | None = None,
        backoff: Backoff = FOLLOW_BACKOFF,
        max_attempts: int | None = None,
        idle_timeout: float = 60.0,
    ) -> AsyncGenerator[FollowItem, None]:
        """The story's events after version ``after``, live; see :func:`~liveblog_client.follow.follow`."""
        return follow(
            self,
            slug,
            after=after,
            until_version=until_version,
            backoff=backoff,
            max_attempts=max_attempts,
            idle_timeout=idle_timeout,
        )
