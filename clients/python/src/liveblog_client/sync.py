"""The blocking client: the same methods as :class:`~liveblog_client.client.AsyncClient`,
without ``await``. Each endpoint is defined once in :mod:`liveblog_client.calls`; this class
only executes calls. :meth:`Client.follow` runs the async follower on a private event loop,
so it must not be called from inside a running event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self, TypeVar

import httpx

from liveblog_client import bodies, calls, models
from liveblog_client.calls import Call
from liveblog_client.client import AsyncClient
from liveblog_client.connection import DEFAULT_URL, Connection, final
from liveblog_client.errors import ConnectionFailed
from liveblog_client.follow import FOLLOW_BACKOFF, FollowItem
from liveblog_client.retry import DEFAULT_RETRY, Backoff, RetryPolicy

T = TypeVar("T")


class Client:
    """A blocking client of one liveblog server; a context manager (or call :meth:`close`)."""

    def __init__(
        self,
        url: str = DEFAULT_URL,
        token: str | None = None,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.connection = Connection(url=url, token=token, retry=retry, timeout=timeout)
        self._http = httpx.Client(
            base_url=self.connection.base_url(),
            headers=self.connection.headers(),
            timeout=self.connection.timeouts(),
            transport=transport,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def _response(self, call: Call[T], *, stream: bool) -> httpx.Response:
        """The final answer to ``call`` after the retries; raises its typed error. A streamed
        answer is open: the caller closes it."""
        request = self.connection.request(self._http, call)
        attempts = self.connection.attempts(request)
        while True:
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TransportError as exc:
                time.sleep(attempts.after_failure(exc))
                continue
            delay = attempts.after_response(response)
            if delay is None:
                break
            response.close()
            time.sleep(delay)
        if response.is_error:
            response.read()
            response.close()
        return final(response)

    def send(self, call: Call[T]) -> T:
        """Execute ``call`` (see :mod:`liveblog_client.calls`) and read its answer."""
        return call.read(self._response(call, stream=False))

    # -------------------------------------------------------------------- stories

    def stories(self, *, before: str | None = None, limit: int | None = None) -> models.StoryList:
        return self.send(calls.list_stories(before=before, limit=limit))

    def story(
        self, slug: str, *, at_version: int | None = None, as_of: datetime | None = None
    ) -> models.Story:
        return self.send(
            calls.get_story(slug, at_version=at_version, as_of=as_of.isoformat() if as_of else None)
        )

    def open_story(self, body: bodies.NewStory, *, idempotency_key: str | None = None) -> models.Story:
        return self.send(calls.open_story(body, idempotency_key=idempotency_key))

    def revise_story(
        self,
        slug: str,
        body: bodies.StoryPatch,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Story:
        return self.send(calls.revise_story(slug, body, if_match=if_match, idempotency_key=idempotency_key))

    def publish_story(self, slug: str, *, idempotency_key: str | None = None) -> models.Story:
        return self.send(calls.story_action(slug, "publish", idempotency_key=idempotency_key))

    def close_story(self, slug: str, *, idempotency_key: str | None = None) -> models.Story:
        return self.send(calls.story_action(slug, "close", idempotency_key=idempotency_key))

    def reopen_story(self, slug: str, *, idempotency_key: str | None = None) -> models.Story:
        return self.send(calls.story_action(slug, "reopen", idempotency_key=idempotency_key))

    # -------------------------------------------------------------------- updates

    # --------------------------------------------------------- submissions (issue 15, part 1)

    def submit(
        self, slug: str, body: bodies.NewSubmission, *, idempotency_key: str | None = None
    ) -> models.Submission:
        """Submit an update to the story's queue (a contributor's token, or an editor's)."""
        return self.send(calls.submit(slug, body, idempotency_key=idempotency_key))

    def submissions(
        self, slug: str, *, status: str | None = None, before: str | None = None, limit: int | None = None
    ) -> models.SubmissionPage:
        """A page of the queue, newest first (a contributor: its own submissions only)."""
        return self.send(calls.list_submissions(slug, status=status, before=before, limit=limit))

    def submission(self, slug: str, submission_id: str) -> models.Submission:
        return self.send(calls.get_submission(slug, submission_id))

    def approve(
        self,
        slug: str,
        submission_id: str,
        body: bodies.Approval | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> models.Update:
        """Publish a pending submission (with the editor's changes): the published update.
        :class:`~liveblog_client.errors.Conflict` if it was decided already."""
        return self.send(
            calls.approve(slug, submission_id, body or bodies.Approval(), idempotency_key=idempotency_key)
        )

    def reject(
        self, slug: str, submission_id: str, body: bodies.Rejection, *, idempotency_key: str | None = None
    ) -> models.Submission:
        return self.send(calls.reject(slug, submission_id, body, idempotency_key=idempotency_key))

    def withdraw(
        self, slug: str, submission_id: str, *, idempotency_key: str | None = None
    ) -> models.Submission:
        return self.send(calls.withdraw(slug, submission_id, idempotency_key=idempotency_key))

    def upload(self, path: str | Path) -> models.UploadedMedia:
        """Upload the image at ``path`` (JPEG, PNG, WebP or GIF); attach it to an update with
        ``Media(kind="image", id=..., alt=...)``. The server strips its metadata."""
        file = Path(path)
        return self.send(calls.upload_media(file.name, file.read_bytes()))

    def post_update(
        self, slug: str, body: bodies.NewUpdate, *, idempotency_key: str | None = None
    ) -> models.Update:
        return self.send(calls.post_update(slug, body, idempotency_key=idempotency_key))

    def updates(self, slug: str, *, before: str | None = None, limit: int | None = None) -> models.UpdatePage:
        return self.send(calls.list_updates(slug, before=before, limit=limit))

    def update(self, slug: str, update_id: str) -> models.Update:
        return self.send(calls.get_update(slug, update_id))

    def correct(
        self,
        slug: str,
        update_id: str,
        body: bodies.Correction,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        return self.send(
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

    def set_verification(
        self,
        slug: str,
        update_id: str,
        body: bodies.Claim,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        return self.send(
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

    def set_flags(
        self,
        slug: str,
        update_id: str,
        body: bodies.Flags,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        return self.send(
            calls.update_write(
                "PUT", slug, update_id, "flags", body, if_match=if_match, idempotency_key=idempotency_key
            )
        )

    def retract(
        self,
        slug: str,
        update_id: str,
        body: bodies.Retraction,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> models.Update:
        return self.send(
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

    def events(self, slug: str, *, after: int = 0, limit: int | None = None) -> models.EventPage:
        return self.send(calls.list_events(slug, after=after, limit=limit))

    def export(self, slug: str, sink: BinaryIO) -> int:
        """Stream the story's NDJSON export (auditors) into ``sink``; returns the bytes written."""
        response = self._response(calls.export(slug), stream=True)
        written = 0
        try:
            for chunk in response.iter_bytes():
                sink.write(chunk)
                written += len(chunk)
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"the export of {slug!r} broke off after {written} bytes: {exc!r}"
            ) from exc
        finally:
            response.close()
        return written

    def history(self, slug: str, update_id: str) -> models.RevisionList:
        """Every revision of an update, oldest first, with diffs (every page, followed)."""
        return self._every_page(
            lambda after: calls.update_history(slug, update_id, after=after, limit=calls.HISTORY_PAGE)
        )

    def history_page(
        self, slug: str, update_id: str, *, after: str | None = None, limit: int | None = None
    ) -> models.RevisionList:
        """One page of an update's revisions; pass its ``next`` as ``after`` for the next."""
        return self.send(calls.update_history(slug, update_id, after=after, limit=limit))

    def revisions(self, slug: str) -> models.RevisionList:
        """Every revision of the story's header, oldest first (every page, followed)."""
        return self._every_page(
            lambda after: calls.story_revisions(slug, after=after, limit=calls.HISTORY_PAGE)
        )

    def revisions_page(
        self, slug: str, *, after: str | None = None, limit: int | None = None
    ) -> models.RevisionList:
        """One page of the story header's revisions; pass its ``next`` as ``after``."""
        return self.send(calls.story_revisions(slug, after=after, limit=limit))

    def _every_page(
        self, page: Callable[[str | None], calls.Call[models.RevisionList]]
    ) -> models.RevisionList:
        items: list[models.Revision] = []
        seen: set[str] = set()
        after: str | None = None
        while True:
            answer = self.send(page(after))
            items += answer.items
            after = calls.next_history_cursor(answer, seen)
            if after is None:
                return models.RevisionList(items=items, next=None)

    def checkpoint(self, slug: str) -> models.Checkpoint:
        return self.send(calls.checkpoint(slug))

    def keys(self) -> models.KeyList:
        return self.send(calls.keys())

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
    ) -> Iterator[FollowItem]:
        """The story's events after ``after``, live; see :func:`~liveblog_client.follow.follow`."""
        with asyncio.Runner() as runner:
            client = AsyncClient(
                self.connection.url,
                self.connection.token,
                retry=self.connection.retry,
                timeout=self.connection.timeout,
            )
            items = client.follow(
                slug,
                after=after,
                until_version=until_version,
                backoff=backoff,
                max_attempts=max_attempts,
                idle_timeout=idle_timeout,
            )
            try:
                while True:
                    try:
                        yield runner.run(_next(items))
                    except StopAsyncIteration:
                        return
            finally:
                runner.run(items.aclose())
                runner.run(client.aclose())


async def _next(items: AsyncIterator[FollowItem]) -> FollowItem:
    return await anext(items)
