"""Every endpoint of docs/api.md as a :class:`Call`: the request to send and how to read the answer.

The sync and async clients only execute calls (auth, retries, errors), so an endpoint is
written once. A write gets its ``Idempotency-Key`` here, when the call is made, so that
every retry of it sends the same key; pass ``idempotency_key`` to choose it yourself (a
script that may be run again, a job queue retrying across processes).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from liveblog_client import bodies, models
from liveblog_client.errors import UnexpectedResponse

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

API = "/api/v1"
NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request of the API and the reader of its successful answer."""

    method: str
    path: str
    read: Callable[[httpx.Response], T]
    params: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    files: dict[str, tuple[str, bytes, str]] | None = None
    """A multipart body instead of JSON: field name to (file name, bytes, content type)."""

    def content(self) -> bytes | None:
        return None if self.body is None else json.dumps(self.body, ensure_ascii=False).encode()


def reader(model: type[M]) -> Callable[[httpx.Response], M]:
    """Read a JSON answer as ``model``; an answer that does not fit is an :class:`UnexpectedResponse`."""

    def read(response: httpx.Response) -> M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise UnexpectedResponse(
                f"{response.request.method} {response.request.url.path} answered something that is not "
                f"a {model.__name__}: {exc}"
            ) from exc

    return read


def raw_json(response: httpx.Response) -> bytes:
    """The answer's bytes as sent (a checkpoint must be kept exactly as it was signed)."""
    return response.content


def new_idempotency_key() -> str:
    return f"lbc-{uuid.uuid4()}"


def write(
    method: str,
    path: str,
    model: type[M],
    body: bodies.Body | None = None,
    *,
    if_match: int | None = None,
    idempotency_key: str | None = None,
) -> Call[M]:
    headers = {"Idempotency-Key": idempotency_key or new_idempotency_key()}
    if if_match is not None:
        headers["If-Match"] = f'"{if_match}"'
    return Call(
        method,
        path,
        reader(model),
        body=None if body is None else bodies.to_json(body),
        headers=headers,
    )


def story_path(slug: str) -> str:
    return f"{API}/stories/{quote(slug, safe='')}"


def update_path(slug: str, update_id: str) -> str:
    return f"{story_path(slug)}/updates/{quote(update_id, safe='')}"


# ------------------------------------------------------------------------ stories


def open_story(body: bodies.NewStory, *, idempotency_key: str | None = None) -> Call[models.Story]:
    return write("POST", f"{API}/stories", models.Story, body, idempotency_key=idempotency_key)


def list_stories(*, before: str | None = None, limit: int | None = None) -> Call[models.StoryList]:
    params = {}
    if before is not None:
        params["before"] = before
    if limit is not None:
        params["limit"] = str(limit)
    return Call("GET", f"{API}/stories", reader(models.StoryList), params=params)


def get_story(slug: str, *, at_version: int | None = None, as_of: str | None = None) -> Call[models.Story]:
    params = {}
    if at_version is not None:
        params["at_version"] = str(at_version)
    if as_of is not None:
        params["as_of"] = as_of
    return Call("GET", story_path(slug), reader(models.Story), params=params)


def revise_story(
    slug: str, body: bodies.StoryPatch, *, if_match: int | None = None, idempotency_key: str | None = None
) -> Call[models.Story]:
    return write(
        "PATCH", story_path(slug), models.Story, body, if_match=if_match, idempotency_key=idempotency_key
    )


def story_action(slug: str, action: str, *, idempotency_key: str | None = None) -> Call[models.Story]:
    """``publish``, ``close`` or ``reopen``."""
    return write("POST", f"{story_path(slug)}/{action}", models.Story, idempotency_key=idempotency_key)


# ------------------------------------------------------------------------ updates


def upload_media(name: str, data: bytes) -> Call[models.UploadedMedia]:
    """Upload an image. It needs no Idempotency-Key: the same bytes are the same image."""
    return Call(
        "POST",
        f"{API}/media",
        reader(models.UploadedMedia),
        files={"file": (name, data, "application/octet-stream")},
    )


def post_update(
    slug: str, body: bodies.NewUpdate, *, idempotency_key: str | None = None
) -> Call[models.Update]:
    return write("POST", f"{story_path(slug)}/updates", models.Update, body, idempotency_key=idempotency_key)


def list_updates(
    slug: str, *, before: str | None = None, limit: int | None = None
) -> Call[models.UpdatePage]:
    params = {}
    if before is not None:
        params["before"] = before
    if limit is not None:
        params["limit"] = str(limit)
    return Call("GET", f"{story_path(slug)}/updates", reader(models.UpdatePage), params=params)


def get_update(slug: str, update_id: str) -> Call[models.Update]:
    return Call("GET", update_path(slug, update_id), reader(models.Update))


def update_write(
    method: str,
    slug: str,
    update_id: str,
    what: str,
    body: bodies.Body,
    *,
    if_match: int | None,
    idempotency_key: str | None,
) -> Call[models.Update]:
    """A write to ``/updates/{id}/{what}``: corrections, verification, flags, retraction."""
    return write(
        method,
        f"{update_path(slug, update_id)}/{what}",
        models.Update,
        body,
        if_match=if_match,
        idempotency_key=idempotency_key,
    )


# ------------------------------------------------------------- submissions (issue 15, part 1)


def submissions_path(slug: str) -> str:
    return f"{story_path(slug)}/submissions"


def submit(
    slug: str, body: bodies.NewSubmission, *, idempotency_key: str | None = None
) -> Call[models.Submission]:
    return write("POST", submissions_path(slug), models.Submission, body, idempotency_key=idempotency_key)


def list_submissions(
    slug: str, *, status: str | None = None, before: str | None = None, limit: int | None = None
) -> Call[models.SubmissionPage]:
    params = {}
    if status is not None:
        params["status"] = status
    if before is not None:
        params["before"] = before
    if limit is not None:
        params["limit"] = str(limit)
    return Call("GET", submissions_path(slug), reader(models.SubmissionPage), params=params)


def get_submission(slug: str, submission_id: str) -> Call[models.Submission]:
    return Call("GET", f"{submissions_path(slug)}/{quote(submission_id, safe='')}", reader(models.Submission))


def approve(
    slug: str, submission_id: str, body: bodies.Approval, *, idempotency_key: str | None = None
) -> Call[models.Update]:
    path = f"{submissions_path(slug)}/{quote(submission_id, safe='')}/approval"
    return write("POST", path, models.Update, body, idempotency_key=idempotency_key)


def reject(
    slug: str, submission_id: str, body: bodies.Rejection, *, idempotency_key: str | None = None
) -> Call[models.Submission]:
    path = f"{submissions_path(slug)}/{quote(submission_id, safe='')}/rejection"
    return write("POST", path, models.Submission, body, idempotency_key=idempotency_key)


def withdraw(slug: str, submission_id: str, *, idempotency_key: str | None = None) -> Call[models.Submission]:
    path = f"{submissions_path(slug)}/{quote(submission_id, safe='')}/withdrawal"
    return write("POST", path, models.Submission, idempotency_key=idempotency_key)


# -------------------------------------------------------------------------- audit


def list_events(slug: str, *, after: int = 0, limit: int | None = None) -> Call[models.EventPage]:
    params = {"after": str(after)}
    if limit is not None:
        params["limit"] = str(limit)
    return Call("GET", f"{story_path(slug)}/events", reader(models.EventPage), params=params)


def export(slug: str) -> Call[None]:
    """The whole log as NDJSON; executed streaming, its ``read`` is never used."""
    return Call("GET", f"{story_path(slug)}/events", lambda _response: None, headers={"Accept": NDJSON})


HISTORY_PAGE = 200  # the most the server gives at once: the fewest requests for "all"


def _page_params(after: str | None, limit: int | None) -> dict[str, str]:
    params = {} if after is None else {"after": after}
    if limit is not None:
        params["limit"] = str(limit)
    return params


def update_history(
    slug: str, update_id: str, *, after: str | None = None, limit: int | None = None
) -> Call[models.RevisionList]:
    """A page of an update's revisions, oldest first; pass its ``next`` as ``after``."""
    return Call(
        "GET",
        f"{update_path(slug, update_id)}/history",
        reader(models.RevisionList),
        params=_page_params(after, limit),
    )


def story_revisions(
    slug: str, *, after: str | None = None, limit: int | None = None
) -> Call[models.RevisionList]:
    """A page of the story header's revisions, oldest first; pass its ``next`` as ``after``."""
    return Call(
        "GET", f"{story_path(slug)}/revisions", reader(models.RevisionList), params=_page_params(after, limit)
    )


def next_history_cursor(page: models.RevisionList, seen: set[str]) -> str | None:
    """The cursor of the page after ``page`` (``None``: it was the last), for following a
    history to its end; a cursor given twice would loop for ever, so it is an error."""
    if page.next is None:
        return None
    if page.next in seen:
        raise UnexpectedResponse(f"the server gave the history cursor {page.next!r} twice")
    seen.add(page.next)
    return page.next


def checkpoint(slug: str) -> Call[models.Checkpoint]:
    return Call("GET", f"{story_path(slug)}/checkpoint", reader(models.Checkpoint))


def checkpoint_json(slug: str) -> Call[bytes]:
    return Call("GET", f"{story_path(slug)}/checkpoint", raw_json)


def keys() -> Call[models.KeyList]:
    return Call("GET", f"{API}/keys", reader(models.KeyList))


def keys_json() -> Call[bytes]:
    return Call("GET", f"{API}/keys", raw_json)
