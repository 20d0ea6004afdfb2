"""Routes of docs/api.md "Updates": post, list, read, correct, verify, flag, retract, redact."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from liveblog.api import caching, http, scheduling
from liveblog.api.auth import Admin, Editor, MaybeActor, sees_drafts
from liveblog.api.openapi import IDEMPOTENCY_KEY, IF_MATCH, IF_NONE_MATCH, headers
from liveblog.api.schemas import (
    Correction,
    Flags,
    NewUpdate,
    RedactionBody,
    RetractionBody,
    ScheduledItemOut,
    Update,
    UpdateList,
    VerificationBody,
)
from liveblog.api.services import Services, ServicesDep
from liveblog.api.stories import NOT_MODIFIED, SlugPath, ensure_readable
from liveblog.application import Responder
from liveblog.config import Settings
from liveblog.domain import commands as c
from liveblog.domain import social
from liveblog.domain.state import StoryState
from liveblog.domain.values import Media
from liveblog.errors import EmbedNotAllowed, InvalidInput, UpdateNotFound
from liveblog.media import references
from liveblog.projections import story_view, views
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor

router = APIRouter(prefix="/api/v1/stories/{slug}/updates", tags=["updates"])

UpdateIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the update's id", examples=["uq3J8Nn0mGxeT"])
]


def new_update_id() -> str:
    """An opaque, URL-safe, unguessable update id (72 random bits). It starts with a letter:
    one random id in 64 would otherwise start with ``-``, which command lines take for an
    option (``liveblog-client retract SLUG -Ux…`` failed that way)."""
    return "u" + secrets.token_urlsafe(9)


def check_embeds(media: Iterable[Media] | None, settings: Settings) -> None:
    """Refuse (422) an embed of a Mastodon post on an instance not in
    ``LIVEBLOG_MASTODON_INSTANCES``: the value itself accepts any instance
    (:mod:`liveblog.domain.social`), the server only those its pages' CSP lets frame."""
    for index, item in enumerate(media or ()):
        if item.provider is social.Provider.MASTODON:
            host = social.host_of(item.url or "")
            if host not in settings.mastodon_hosts:
                allowed = ", ".join(sorted(settings.mastodon_hosts)) or "none"
                raise EmbedNotAllowed(
                    f"media[{index}]: {host!r} is not a Mastodon instance this server embeds from "
                    f"(LIVEBLOG_MASTODON_INSTANCES: {allowed})"
                )


def update_response(state: StoryState, update_id: str, *, status: int = 200) -> StoredResponse:
    update = state.updates[update_id]
    headers = {"ETag": http.etag(update.revision)}
    if status == 201:
        headers["Location"] = f"/api/v1/stories/{state.slug}/updates/{update_id}"
    # The same encoding the read model stores for this state: rendered once per command.
    return StoredResponse(status=status, headers=headers, body=story_view.update_json(state, update_id))


@router.post(
    "",
    status_code=201,
    response_model=Update,
    responses={202: {"model": ScheduledItemOut, "description": "scheduled: `publish_at` is ahead"}},
    openapi_extra=headers(IDEMPOTENCY_KEY),
)
async def post_update(
    slug: SlugPath, body: NewUpdate, request: Request, actor: Editor, services: ServicesDep
) -> Response:
    """Post a new update to the top of the story; with a `publish_at` ahead, schedule it
    (202 with the scheduled item, published by the server then)."""
    check_embeds(body.media, services.settings)
    update_id = new_update_id()
    now = services.application.clock()
    fields = body.model_dump(exclude_none=True, exclude={"publish_at"})
    fields["media"] = await references.resolve(services.database, body.media, [body.body])
    command: c.PostUpdate | c.ScheduleUpdate
    respond: Responder
    if scheduling.when(body.publish_at, now, services.settings) == "later":
        assert body.publish_at is not None
        command = c.ScheduleUpdate(
            story=slug, update_id=update_id, author=actor.name, at=now, publish_at=body.publish_at, **fields
        )
        respond = partial(scheduling.scheduled_response, item_id=update_id, status=202)
    else:
        command = c.PostUpdate(story=slug, update_id=update_id, author=actor.name, at=now, **fields)
        respond = partial(update_response, update_id=update_id, status=201)
    outcome = await services.application.handle(
        command, actor, respond, idempotency_key=http.idempotency_key(request, actor, body)
    )
    return http.replay(outcome.response)


@router.get("", response_model=UpdateList)
async def list_updates(
    slug: SlugPath,
    request: Request,
    actor: MaybeActor,
    services: ServicesDep,
    before: Annotated[
        str | None,
        Query(max_length=32, description="the `next` cursor of the previous page", examples=["MTI"]),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=100, description="updates per page", examples=[20])
    ] = views.PAGE_SIZE,
) -> Response:
    """The story's updates, newest first, a page at a time."""
    before_seq = None
    if before is not None:
        before_seq = views.decode_cursor(before)
        if before_seq is None:
            raise InvalidInput("`before` is not a cursor this server issued")
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        items, next_cursor = await story_view.read_updates(
            connection, slug, before=before_seq, limit=limit, include_draft_only=sees_drafts(actor)
        )
    body = story_view.dumps({"items": items, "next": next_cursor}).encode()
    return caching.live_response(
        request, services.cache_policy, body, "application/json", [caching.purge_key(slug)]
    )


@router.get(
    "/{update_id}", response_model=Update, responses=NOT_MODIFIED, openapi_extra=headers(IF_NONE_MATCH)
)
async def get_update(
    slug: SlugPath, update_id: UpdateIdPath, request: Request, actor: MaybeActor, services: ServicesDep
) -> Response:
    """One update as it stands now."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        view = await story_view.read_update(
            connection, slug, update_id, include_draft_only=sees_drafts(actor)
        )
    if view is None:
        raise UpdateNotFound(f"story {slug!r} has no update {update_id!r}")
    keys = [caching.purge_key(slug), caching.update_key(update_id)]
    body = story_view.dumps(view).encode()
    tag = http.etag(view["revision"])
    return caching.live_response(request, services.cache_policy, body, "application/json", keys, etag=tag)


async def _update_command(
    command: c.CorrectUpdate | c.ChangeVerification | c.SetFlags | c.RetractUpdate | c.RedactUpdate,
    body: BaseModel,
    request: Request,
    actor: Actor,
    services: Services,
) -> Response:
    outcome = await services.application.handle(
        command,
        actor,
        lambda state: update_response(state, command.update_id),
        idempotency_key=http.idempotency_key(request, actor, body),
    )
    return http.replay(outcome.response)


@router.post(
    "/{update_id}/corrections", response_model=Update, openapi_extra=headers(IF_MATCH, IDEMPOTENCY_KEY)
)
async def correct_update(
    slug: SlugPath,
    update_id: UpdateIdPath,
    body: Correction,
    request: Request,
    actor: Editor,
    services: ServicesDep,
) -> Response:
    """Correct, clarify or amend an update (or a minor edit). `If-Match` names its revision."""
    check_embeds(body.changes.media, services.settings)
    media = await references.resolve(services.database, body.changes.media, [body.changes.body])
    command = c.CorrectUpdate(
        story=slug,
        update_id=update_id,
        changes=body.changes.model_copy(update={"media": media}),
        kind=body.kind,
        reason=body.reason,
        note=body.note,
        expected_revision=http.if_match(request),
        at=services.application.clock(),
    )
    return await _update_command(command, body, request, actor, services)


@router.put(
    "/{update_id}/verification", response_model=Update, openapi_extra=headers(IF_MATCH, IDEMPOTENCY_KEY)
)
async def change_verification(
    slug: SlugPath,
    update_id: UpdateIdPath,
    body: VerificationBody,
    request: Request,
    actor: Editor,
    services: ServicesDep,
) -> Response:
    """Set the claim status of an update."""
    command = c.ChangeVerification(
        story=slug,
        update_id=update_id,
        status=body.status,
        note=body.note,
        expected_revision=http.if_match(request),
        at=services.application.clock(),
    )
    return await _update_command(command, body, request, actor, services)


@router.put("/{update_id}/flags", response_model=Update, openapi_extra=headers(IF_MATCH, IDEMPOTENCY_KEY))
async def set_flags(
    slug: SlugPath,
    update_id: UpdateIdPath,
    body: Flags,
    request: Request,
    actor: Editor,
    services: ServicesDep,
) -> Response:
    """Pin or unpin an update, mark or unmark it as a key event."""
    command = c.SetFlags(
        story=slug,
        update_id=update_id,
        pinned=body.pinned,
        key_event=body.key_event,
        expected_revision=http.if_match(request),
        at=services.application.clock(),
    )
    return await _update_command(command, body, request, actor, services)


@router.post(
    "/{update_id}/retraction", response_model=Update, openapi_extra=headers(IF_MATCH, IDEMPOTENCY_KEY)
)
async def retract_update(
    slug: SlugPath,
    update_id: UpdateIdPath,
    body: RetractionBody,
    request: Request,
    actor: Editor,
    services: ServicesDep,
) -> Response:
    """Retract an update: it stays in the record, struck through, with the public notice."""
    command = c.RetractUpdate(
        story=slug,
        update_id=update_id,
        reason=body.reason,
        note=body.note,
        expected_revision=http.if_match(request),
        at=services.application.clock(),
    )
    return await _update_command(command, body, request, actor, services)


@router.post(
    "/{update_id}/redaction", response_model=Update, openapi_extra=headers(IF_MATCH, IDEMPOTENCY_KEY)
)
async def redact_update(
    slug: SlugPath,
    update_id: UpdateIdPath,
    body: RedactionBody,
    request: Request,
    actor: Admin,
    services: ServicesDep,
) -> Response:
    """Remove an update's text for legal reasons (admin only): from the read models, the
    history, the past, snapshots, stored responses and the event rows themselves. Readers see
    a tombstone with the public `legal_basis` and `note`; the `reason` stays internal. The
    log stays verifiable: the export reports the redaction. Works on retracted updates and
    closed stories; 409 if already redacted."""
    command = c.RedactUpdate(
        story=slug,
        update_id=update_id,
        legal_basis=body.legal_basis,
        note=body.note,
        reason=body.reason,
        expected_revision=http.if_match(request),
        at=services.application.clock(),
    )
    return await _update_command(command, body, request, actor, services)
