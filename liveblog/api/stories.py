"""Routes of docs/api.md "Stories": open, list, read, revise, publish, close, reopen."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from liveblog.api import caching, http
from liveblog.api.auth import Editor, MaybeActor, sees_drafts
from liveblog.api.openapi import IDEMPOTENCY_KEY, IF_MATCH, IF_NONE_MATCH, headers
from liveblog.api.schemas import NewStory, Story, StoryList, StoryPatch
from liveblog.api.services import Services, ServicesDep
from liveblog.domain import commands as c
from liveblog.domain.state import StoryState
from liveblog.domain.values import MAX_VERSION, SLUG_PATTERN, Moment, StoryStatus
from liveblog.errors import InvalidInput, StoryNotFound
from liveblog.projections import past_views, story_view, views
from liveblog.projections.story_view import dumps
from liveblog.store import event_store
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor

router = APIRouter(prefix="/api/v1", tags=["stories"])

SlugPath = Annotated[
    str, Path(pattern=SLUG_PATTERN, description="the story's slug", examples=["belgorod-captive-soldiers"])
]
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag sent is current"}
}


def slug_from_title(title: str) -> str:
    """A slug for ``title``: ASCII letters and digits joined by hyphens, at most 80."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].strip("-")
    if not slug:
        raise InvalidInput("no slug can be made from this title; send a slug")
    return slug


def story_response(state: StoryState, *, status: int = 200) -> StoredResponse:
    headers = {"ETag": http.etag(state.version)}
    if status == 201:
        headers["Location"] = f"/api/v1/stories/{state.slug}"
    return StoredResponse(status=status, headers=headers, body=story_view.dumps(views.story_view(state)))


@router.post("/stories", status_code=201, response_model=Story, openapi_extra=headers(IDEMPOTENCY_KEY))
async def open_story(body: NewStory, request: Request, actor: Editor, services: ServicesDep) -> Response:
    """Open a story (a draft unless `publish` is true)."""
    command = c.OpenStory(
        story=body.slug or slug_from_title(body.title),
        title=body.title,
        summary=body.summary,
        language=body.language,
        publish=body.publish,
        at=services.application.clock(),
    )
    outcome = await services.application.handle(
        command,
        actor,
        lambda state: story_response(state, status=201),
        idempotency_key=http.idempotency_key(request, actor, body),
    )
    return http.replay(outcome.response)


@router.get("/stories", response_model=StoryList)
async def list_stories(
    actor: MaybeActor,
    services: ServicesDep,
    before: Annotated[
        str | None,
        Query(
            max_length=100,
            description="the `next` cursor of the previous page",
            examples=["s1764590000000000.kyiv"],
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=100, description="stories per page", examples=[50])
    ] = story_view.STORY_PAGE_SIZE,
) -> Response:
    """The stories, most recently opened first, a page at a time; drafts only for staff
    (editors, auditors)."""
    position = None
    if before is not None:
        position = story_view.decode_story_cursor(before)
        if position is None:
            raise InvalidInput("`before` is not a cursor this server issued")
    async with services.database.read() as connection:
        items, next_cursor = await story_view.list_headers(
            connection, include_drafts=sees_drafts(actor), after=position, limit=limit
        )
    return http.json_response({"items": items, "next": next_cursor})


def _readable(header_status: str, actor: Actor | None) -> bool:
    return header_status != StoryStatus.DRAFT.value or sees_drafts(actor)


async def ensure_readable(services: Services, slug: str, actor: Actor | None) -> None:
    """Raise :class:`StoryNotFound` unless ``actor`` may read story ``slug`` (drafts: staff)."""
    async with services.database.read() as connection:
        header = await story_view.read_header(connection, slug)
    if header is None or not _readable(header["status"], actor):
        raise StoryNotFound(f"there is no story {slug!r}")


async def ensure_live_readable(services: Services, slug: str, actor: Actor | None) -> None:
    """:func:`ensure_readable` for a live connection: from the hub's memory when it can tell
    (see :meth:`~liveblog.live.hub.Hub.status`), else from the store. A connect to a story
    that is already followed in this process reads nothing from the database: neither this
    check nor, for a reader not ahead of the hub, its backlog (issue #17, connect cost)."""
    status = services.hub.status(slug)
    if status is not None and (status is not StoryStatus.DRAFT or sees_drafts(actor)):
        return
    await ensure_readable(services, slug, actor)


async def public_since(services: Services, slug: str, actor: Actor | None) -> int:
    """The first version ``actor`` may see of story ``slug``: its publication for readers
    (what was prepared as a draft stays with the newsroom), 0 for staff."""
    if sees_drafts(actor):
        return 0
    async with services.database.read() as connection:
        published = await event_store.first_version_of(connection, slug, "StoryPublished")
    return published if published is not None else MAX_VERSION


@router.get(
    "/stories/{slug}", response_model=Story, responses=NOT_MODIFIED, openapi_extra=headers(IF_NONE_MATCH)
)
async def get_story(
    slug: SlugPath,
    request: Request,
    actor: MaybeActor,
    services: ServicesDep,
    at_version: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_VERSION,
            description="the story exactly as it stood at this version",
            examples=[3],
        ),
    ] = None,
    # A Moment, as every time the API takes: an instant UTC cannot hold (year 1 at +14:00)
    # is a 422 here, not an OverflowError in the store.
    as_of: Annotated[
        Moment | None,
        Query(
            description="the story exactly as it stood at this time (RFC 3339 with an offset)",
            examples=["2023-06-04T10:15:00+03:00"],
        ),
    ] = None,
) -> Response:
    """The story with its pinned updates, key events and first page of updates; with
    `at_version` or `as_of`, byte for byte what it was then."""
    if at_version is not None or as_of is not None:
        return await _story_as_of(slug, request, actor, services, at_version, as_of)
    async with services.database.read() as connection:
        header = await story_view.read_header(connection, slug)
        if header is None or not _readable(header["status"], actor):
            raise StoryNotFound(f"there is no story {slug!r}")
        tag = http.etag(header["version"])
        if http.not_modified(request, tag):
            return Response(status_code=304, headers={"ETag": tag})
        story = await story_view.read_story(connection, header, include_draft_only=sees_drafts(actor))
    return http.json_response(story, headers={"ETag": tag})


async def _story_as_of(
    slug: str,
    request: Request,
    actor: Actor | None,
    services: Services,
    at_version: int | None,
    as_of: datetime | None,
) -> Response:
    if at_version is not None and as_of is not None:
        raise InvalidInput("ask for `at_version` or `as_of`, not both")
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        version = at_version
        if version is None:
            assert as_of is not None
            version = await event_store.version_at(connection, slug, as_of)
            if version == 0:
                raise StoryNotFound(f"story {slug!r} did not exist yet at {as_of.isoformat()}")
        story = await past_views.read_story(connection, slug, version, include_draft_only=sees_drafts(actor))
    if story is None:
        raise StoryNotFound(f"story {slug!r} has no version {version}")
    if not _readable(story["status"], actor):
        raise StoryNotFound(f"story {slug!r} was not published at version {version}")
    body = dumps(story).encode()
    # The past changes only by a redaction, which must not outlive it in any cache: a bounded
    # lifetime, a purge key for CDNs, and an ETag of the body, so that revalidating after a
    # redaction gets the new body (liveblog/api/caching.py). Staff see more of the past
    # (drafts, updates retracted in a draft), so theirs is private and varies by token.
    tag = caching.digest_etag(str(version), body)
    headers = {"ETag": tag, **caching.past_headers(slug, public=actor is None), "Vary": "Authorization"}
    if http.not_modified(request, tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


async def _story_command(
    command: c.Command, request: Request, actor: Editor, services: ServicesDep, body: object = None
) -> Response:
    outcome = await services.application.handle(
        command, actor, story_response, idempotency_key=http.idempotency_key(request, actor, body)
    )
    return http.replay(outcome.response)


@router.patch("/stories/{slug}", response_model=Story, openapi_extra=headers(IF_MATCH, IDEMPOTENCY_KEY))
async def revise_story(
    slug: SlugPath, body: StoryPatch, request: Request, actor: Editor, services: ServicesDep
) -> Response:
    """Change the headline and/or summary. `If-Match` names the header's `revision`."""
    command = c.ReviseStory(
        story=slug,
        title=body.title,
        summary=body.summary,
        reason=body.reason,
        expected_revision=http.if_match(request),
        at=services.application.clock(),
    )
    return await _story_command(command, request, actor, services, body)


@router.post("/stories/{slug}/publish", response_model=Story, openapi_extra=headers(IDEMPOTENCY_KEY))
async def publish_story(slug: SlugPath, request: Request, actor: Editor, services: ServicesDep) -> Response:
    """Make a draft live."""
    return await _story_command(
        c.PublishStory(story=slug, at=services.application.clock()), request, actor, services
    )


@router.post("/stories/{slug}/close", response_model=Story, openapi_extra=headers(IDEMPOTENCY_KEY))
async def close_story(slug: SlugPath, request: Request, actor: Editor, services: ServicesDep) -> Response:
    """End live coverage: no more updates until the story is reopened."""
    return await _story_command(
        c.CloseStory(story=slug, at=services.application.clock()), request, actor, services
    )


@router.post("/stories/{slug}/reopen", response_model=Story, openapi_extra=headers(IDEMPOTENCY_KEY))
async def reopen_story(slug: SlugPath, request: Request, actor: Editor, services: ServicesDep) -> Response:
    """Resume live coverage of a closed story."""
    return await _story_command(
        c.ReopenStory(story=slug, at=services.application.clock()), request, actor, services
    )
