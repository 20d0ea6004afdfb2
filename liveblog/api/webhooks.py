"""Routes of docs/api.md "Webhooks": register, list, read, pause and resume, remove, rotate
the secret of the endpoints that deliveries go to (admins only).

The signing secret is in the response of registration and of rotation, and nowhere else.
Writes honour ``Idempotency-Key`` like every write: the first response (the secret
included, for the admin who retries) is kept beside the change, in the same transaction.
"""

from __future__ import annotations

import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from liveblog.api import http
from liveblog.api.auth import require
from liveblog.api.openapi import IDEMPOTENCY_KEY, headers
from liveblog.api.schemas import NewWebhook, WebhookList, WebhookPatch, WebhookWithSecret
from liveblog.api.schemas import Webhook as WebhookOut
from liveblog.api.services import Services, ServicesDep
from liveblog.domain import events as domain_events
from liveblog.domain.values import rfc3339
from liveblog.errors import InvalidInput, WebhookNotFound
from liveblog.projections.story_view import dumps
from liveblog.store import idempotency
from liveblog.store import webhooks as store
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor
from liveblog.webhooks import policy

router = APIRouter(prefix="/api/v1", tags=["webhooks"])
Admin = Annotated[Actor, Depends(require())]
WebhookIdPath = Annotated[
    str,
    Path(
        pattern=r"^wh_[0-9a-f]{21}$", description="the endpoint's id", examples=["wh_0193a4b2c1d5e6f7a8b9c0"]
    ),
]
EVENT_TYPES = frozenset(
    typing.get_args(member)[0]
    for union in (domain_events.StoryEvent, domain_events.UpdateEvent)
    for member in (model.model_fields["type"].annotation for model in typing.get_args(union))
)
PAGE_SIZE = 50


def document(endpoint: store.Endpoint, *, with_secret: bool = False) -> dict[str, Any]:
    """The API's Webhook (never the secret, unless this response is where it is shown)."""
    shown: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "stories": endpoint.stories,
        "types": endpoint.types,
        "status": endpoint.status.value,
        "paused_reason": endpoint.paused_reason,
        "failures": endpoint.failures,
        "cursor": endpoint.cursor,
        "delivered": endpoint.delivered,
        "last_attempt_at": rfc3339(endpoint.last_attempt_at),
        "last_success_at": rfc3339(endpoint.last_success_at),
        "last_error": endpoint.last_error,
        "created_at": rfc3339(endpoint.created_at),
        "updated_at": rfc3339(endpoint.updated_at),
    }
    if with_secret:
        shown["secret"] = endpoint.secret
    return shown


def _stored(
    document: dict[str, Any] | None, *, status: int = 200, location: str | None = None
) -> StoredResponse:
    headers = {"Location": location} if location else {}
    body = "" if document is None else dumps(document)
    return StoredResponse(status=status, headers=headers, body=body)


async def _keyed_write(
    services: Services,
    request: Request,
    actor: Actor,
    body: Any,
    change: Callable[[AsyncConnection], Awaitable[StoredResponse]],
) -> Response:
    """Run ``change`` in one transaction with the request's Idempotency-Key: a retry gets
    the first response back and changes nothing."""
    key = http.idempotency_key(request, actor, body)
    async with store.transaction(services.database) as connection:
        previous = await idempotency.recall(connection, key) if key is not None else None
        if previous is not None:
            response = previous
        else:
            response = await change(connection)
            if key is not None:
                await idempotency.remember_now(connection, key, response, at=services.application.clock())
    if services.webhooks is not None:
        services.webhooks.refresh()
    if response.status == 204:
        return Response(status_code=204, headers=response.headers)
    return http.replay(response)


def checked_filters(body: NewWebhook) -> tuple[list[str] | None, list[str] | None]:
    """The filters of ``body`` without repeats; an unknown event type is 422."""
    stories = list(dict.fromkeys(body.stories)) if body.stories is not None else None
    types = list(dict.fromkeys(body.types)) if body.types is not None else None
    unknown = sorted(set(types or ()) - EVENT_TYPES)
    if unknown:
        raise InvalidInput(f"unknown event types {unknown}; known: {sorted(EVENT_TYPES)}")
    return stories, types


@router.post(
    "/webhooks",
    status_code=201,
    response_model=WebhookWithSecret,
    openapi_extra=headers(IDEMPOTENCY_KEY),
)
async def register(body: NewWebhook, request: Request, actor: Admin, services: ServicesDep) -> Response:
    """Register an endpoint. Deliveries start with the events recorded from now on. The
    response holds the signing `secret`: it is shown here (and on rotation) only."""
    policy.validate_url(body.url, allow_private=services.settings.webhook_allow_private)
    stories, types = checked_filters(body)
    cursor = await services.feed.head()

    async def change(connection: AsyncConnection) -> StoredResponse:
        endpoint = await store.create(
            connection,
            url=body.url,
            stories=stories,
            types=types,
            cursor=cursor,
            now=services.application.clock(),
        )
        return _stored(
            document(endpoint, with_secret=True), status=201, location=f"/api/v1/webhooks/{endpoint.id}"
        )

    return await _keyed_write(services, request, actor, body, change)


@router.get("/webhooks", response_model=WebhookList)
async def list_webhooks(
    actor: Admin,
    services: ServicesDep,
    after: Annotated[
        str | None,
        Query(
            max_length=32,
            description="the `next` of the previous page",
            examples=["wh_0193a4b2c1d5e6f7a8b9c0"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200, description="endpoints per page", examples=[50])] = PAGE_SIZE,
) -> Response:
    """Every endpoint, oldest first, a page at a time (`{items, next}`), without secrets."""
    async with services.database.read() as connection:
        page, next_cursor = await store.list_page(connection, after=after, limit=limit)
    return http.json_response({"items": [document(e) for e in page], "next": next_cursor})


async def _existing(connection: AsyncConnection, webhook_id: str) -> store.Endpoint:
    found = await store.get(connection, webhook_id)
    if found is None:
        raise WebhookNotFound(f"there is no webhook {webhook_id!r}")
    return found


@router.get("/webhooks/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: WebhookIdPath, actor: Admin, services: ServicesDep) -> Response:
    """One endpoint and its delivery state (`failures`, `paused_reason`, `cursor`, ...), without its secret."""
    async with services.database.read() as connection:
        return http.json_response(document(await _existing(connection, webhook_id)))


@router.patch("/webhooks/{webhook_id}", response_model=WebhookOut, openapi_extra=headers(IDEMPOTENCY_KEY))
async def pause_or_resume(
    webhook_id: WebhookIdPath, body: WebhookPatch, request: Request, actor: Admin, services: ServicesDep
) -> Response:
    """Pause (`{"status": "paused", "reason": ...}`) or resume (`{"status": "active"}`) an
    endpoint. Resuming clears the failure count and delivers again from the cursor: nothing
    recorded meanwhile is lost."""
    status = store.Status(body.status)
    if status is store.Status.ACTIVE and body.reason is not None:
        raise InvalidInput("a reason goes with pausing, not with resuming")

    async def change(connection: AsyncConnection) -> StoredResponse:
        await _existing(connection, webhook_id)
        reason = body.reason or f"paused by {actor.name}"
        updated = await store.set_status(
            connection, webhook_id, status, reason=reason, now=services.application.clock()
        )
        assert updated is not None
        return _stored(document(updated))

    return await _keyed_write(services, request, actor, body, change)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=204,
    response_class=Response,
    openapi_extra=headers(IDEMPOTENCY_KEY),
    responses={204: {"description": "Removed: no more deliveries"}},
)
async def remove(
    webhook_id: WebhookIdPath, request: Request, actor: Admin, services: ServicesDep
) -> Response:
    """Remove an endpoint; its deliveries stop (one in flight may still arrive)."""

    async def change(connection: AsyncConnection) -> StoredResponse:
        if not await store.remove(connection, webhook_id):
            raise WebhookNotFound(f"there is no webhook {webhook_id!r}")
        return _stored(None, status=204)

    return await _keyed_write(services, request, actor, None, change)


@router.post(
    "/webhooks/{webhook_id}/secret", response_model=WebhookWithSecret, openapi_extra=headers(IDEMPOTENCY_KEY)
)
async def rotate_secret(
    webhook_id: WebhookIdPath, request: Request, actor: Admin, services: ServicesDep
) -> Response:
    """Replace the signing secret; the response shows the new one, once. Deliveries from now
    on are signed with it (a retry of the delivery in flight included)."""

    async def change(connection: AsyncConnection) -> StoredResponse:
        await _existing(connection, webhook_id)
        updated = await store.rotate_secret(connection, webhook_id, now=services.application.clock())
        assert updated is not None
        return _stored(document(updated, with_secret=True))

    return await _keyed_write(services, request, actor, None, change)
