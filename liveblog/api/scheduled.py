"""Routes of scheduled posts (issue 15, docs/api.md "Scheduled posts"): list, read,
reschedule, cancel and publish now the items prepared in advance; and the rule that turns a
``publish_at`` of a new update or of a publication into "now", "later" or a 422.

Everything here is the newsroom's (editor or admin): readers never learn that an item exists.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from liveblog.api import http
from liveblog.api.auth import Editor, require
from liveblog.api.openapi import IDEMPOTENCY_KEY, headers
from liveblog.api.scheduling import not_too_far, scheduled_response, skew
from liveblog.api.schemas import ScheduleChange, ScheduledItemOut, ScheduledList, Update
from liveblog.api.services import ServicesDep
from liveblog.api.stories import SlugPath, story_response
from liveblog.api.updates import update_response
from liveblog.domain import commands as c
from liveblog.domain.state import StoryState
from liveblog.errors import InvalidInput, PublishAtNotInFuture, ScheduleNotFound, StoryNotFound
from liveblog.projections import scheduled, story_view
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor, Role

router = APIRouter(prefix="/api/v1/stories/{slug}/scheduled", tags=["scheduled"])

ItemPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the item's id", examples=["uq3J8Nn0mGxeT"])
]
Newsroom = Annotated[Actor, Depends(require(Role.EDITOR))]


def fired_response(state: StoryState, item_id: str) -> StoredResponse:
    """What publishing item ``item_id`` answers: the new Update (201), or the Story."""
    if state.scheduled[item_id].kind == "update":
        return update_response(state, item_id, status=201)
    return story_response(state)


async def _story_exists(services: ServicesDep, slug: str) -> None:
    async with services.database.read() as connection:
        if await story_view.read_header(connection, slug) is None:
            raise StoryNotFound(f"there is no story {slug!r}")


@router.get("", response_model=ScheduledList)
async def list_scheduled(
    slug: SlugPath,
    actor: Newsroom,
    services: ServicesDep,
    status: Annotated[
        Literal["scheduled", "published", "cancelled"] | None,
        Query(description="only the items in this state", examples=["scheduled"]),
    ] = None,
    after: Annotated[
        str | None,
        Query(max_length=32, description="the `next` cursor of the previous page", examples=["o50"]),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=scheduled.MAX_PAGE_SIZE, description="items per page", examples=[50])
    ] = (scheduled.PAGE_SIZE),
) -> Response:
    """The story's scheduled items, soonest first (editors)."""
    offset = 0
    if after is not None:
        decoded = scheduled.decode_cursor(after)
        if decoded is None:
            raise InvalidInput("`after` is not a cursor this server issued")
        offset = decoded
    await _story_exists(services, slug)
    async with services.database.read() as connection:
        items, following = await scheduled.read_page(
            connection, slug, status=status, after=offset, limit=limit
        )
    return http.json_response({"items": items, "next": following})


@router.get("/{item_id}", response_model=ScheduledItemOut)
async def get_scheduled(
    slug: SlugPath, item_id: ItemPath, actor: Newsroom, services: ServicesDep
) -> Response:
    """One scheduled item (editors)."""
    async with services.database.read() as connection:
        item = await scheduled.read_item(connection, slug, item_id)
    if item is None:
        await _story_exists(services, slug)
        raise ScheduleNotFound(f"story {slug!r} has no scheduled item {item_id!r}")
    return http.json_response(item)


@router.patch("/{item_id}", response_model=ScheduledItemOut, openapi_extra=headers(IDEMPOTENCY_KEY))
async def reschedule(
    slug: SlugPath,
    item_id: ItemPath,
    body: ScheduleChange,
    request: Request,
    actor: Editor,
    services: ServicesDep,
) -> Response:
    """Move a pending item to another time, at least LIVEBLOG_SCHEDULE_SKEW_SECONDS ahead
    (to publish it now: `POST …/publication`). 409 once it is published or cancelled."""
    now = services.application.clock()
    if body.publish_at <= now + skew(services.settings):
        raise PublishAtNotInFuture(
            "a new `publish_at` must be in the future; POST …/publication publishes the item now"
        )
    not_too_far(body.publish_at, now, services.settings)
    command = c.Reschedule(story=slug, schedule_id=item_id, publish_at=body.publish_at, at=now)
    outcome = await services.application.handle(
        command,
        actor,
        lambda state: scheduled_response(state, item_id),
        idempotency_key=http.idempotency_key(request, actor, body),
    )
    return http.replay(outcome.response)


@router.post(
    "/{item_id}/cancellation", response_model=ScheduledItemOut, openapi_extra=headers(IDEMPOTENCY_KEY)
)
async def cancel(
    slug: SlugPath, item_id: ItemPath, request: Request, actor: Editor, services: ServicesDep
) -> Response:
    """Cancel a pending item: it will never be published. 409 once it is published or cancelled."""
    command = c.CancelSchedule(story=slug, schedule_id=item_id, at=services.application.clock())
    outcome = await services.application.handle(
        command,
        actor,
        lambda state: scheduled_response(state, item_id),
        idempotency_key=http.idempotency_key(request, actor),
    )
    return http.replay(outcome.response)


@router.post(
    "/{item_id}/publication",
    status_code=201,
    response_model=Update,
    responses={200: {"description": "a scheduled publication: the Story, now live"}},
    openapi_extra=headers(IDEMPOTENCY_KEY),
)
async def publish_now(
    slug: SlugPath, item_id: ItemPath, request: Request, actor: Editor, services: ServicesDep
) -> Response:
    """Publish a pending item now: 201 with the Update (or 200 with the Story for a scheduled
    publication). 409 once it is published or cancelled."""
    command = c.FireSchedule(story=slug, schedule_id=item_id, early=True, at=services.application.clock())
    outcome = await services.application.handle(
        command,
        actor,
        lambda state: fired_response(state, item_id),
        idempotency_key=http.idempotency_key(request, actor),
    )
    return http.replay(outcome.response)
