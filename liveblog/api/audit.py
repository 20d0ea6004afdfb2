"""Routes of docs/api.md "Audit": the log, revision histories, checkpoints and signing keys."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from liveblog.api import caching, http
from liveblog.api.auth import MaybeActor, require, sees_drafts
from liveblog.api.openapi import IDEMPOTENCY_KEY, headers
from liveblog.api.schemas import Checkpoint, EventList, KeyList, RevisionList
from liveblog.api.services import ServicesDep
from liveblog.api.stories import SlugPath, ensure_readable, public_since
from liveblog.api.updates import UpdateIdPath
from liveblog.audit import checkpoints
from liveblog.audit.export import event_document, export_lines
from liveblog.audit.sealing import Sealed, seal_head, seal_head_in
from liveblog.domain.values import MAX_VERSION
from liveblog.errors import InvalidInput, NotFound, StoreError, StoryNotFound, UpdateNotFound
from liveblog.projections import history, past_views, story_view
from liveblog.projections.story_view import dumps
from liveblog.store import event_store, idempotency
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor, Role

router = APIRouter(prefix="/api/v1", tags=["audit"])
Auditor = Annotated[Actor, Depends(require(Role.AUDITOR))]
NDJSON = "application/x-ndjson"
AUDITING = frozenset({Role.AUDITOR, Role.ADMIN})


@router.get(
    "/stories/{slug}/events",
    response_model=EventList,
    responses={200: {"content": {NDJSON: {}}, "description": "Events, or the NDJSON export"}},
)
async def list_events(
    slug: SlugPath,
    request: Request,
    actor: Auditor,
    services: ServicesDep,
    after: Annotated[
        int, Query(ge=0, le=MAX_VERSION, description="the last version already read", examples=[0])
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="events per page", examples=[100])] = 100,
) -> Response:
    """The story's log (auditors). With `Accept: application/x-ndjson`, the whole log as a
    self-contained, verifiable export (docs/audit-format.md), which ends with a signed
    checkpoint of its head (signed then, if the head had none)."""
    await ensure_readable(services, slug, actor)
    if NDJSON in request.headers.get("accept", ""):
        lines = export_lines(
            services.database, slug, now=services.application.clock(), signer=services.application.signer
        )
        return StreamingResponse(
            lines,
            media_type=NDJSON,
            headers={"Content-Disposition": f'attachment; filename="{slug}.ndjson"'},
        )
    async with services.database.read() as connection:
        batch = await event_store.read_stream(connection, slug, after=after, limit=limit + 1)
    page = batch[:limit]
    next_cursor = str(page[-1].version) if len(batch) > limit else None
    return http.json_response({"items": [event_document(e) for e in page], "next": next_cursor})


AfterQuery = Annotated[
    str | None,
    Query(max_length=32, description="the `next` cursor of the previous page", examples=["r50"]),
]
LimitQuery = Annotated[
    int, Query(ge=1, le=history.MAX_PAGE_SIZE, description="revisions per page", examples=[50])
]


def _after(cursor: str | None) -> int:
    if cursor is None:
        return 0
    revision = history.decode_cursor(cursor)
    if revision is None:
        raise InvalidInput("`after` is not a cursor this server issued")
    return revision


async def _revisions(
    request: Request,
    services: ServicesDep,
    slug: str,
    target: str,
    actor: Actor | None,
    cursor: str | None,
    limit: int,
) -> Response:
    """A page of ``target``'s revisions as ``actor`` may see them, with caching headers.

    Revisions change once recorded only by a redaction, so a page that has a ``next`` is
    complete and kept by caches for a bounded time, with the story's purge key
    (:mod:`liveblog.api.caching`); its strong ``ETag`` is a digest of the body, so a page a
    redaction rewrote revalidates to the new one. The last page grows, so it is revalidated
    (``no-cache``) against its ``ETag``. Responses differ by token (readers
    see less): ``Vary: Authorization``, and ``private`` for staff."""
    after = _after(cursor)
    async with services.database.read() as connection:
        if actor is None:
            # Readers' history starts at publication: what was prepared as a draft stays
            # with the newsroom.
            since = await public_since(services, slug, actor)
            after = max(after, await past_views.revision_at(connection, slug, target, since - 1))
        documents, next_cursor = await history.read_page(connection, slug, target, after=after, limit=limit)
    # Readers get public notes; editors the reasons but not token ids
    # (docs/api.md, "Hardening decisions"); auditors and admins everything.
    if actor is None:
        documents = [history.for_reader(d) for d in documents]
    elif actor.role not in AUDITING:
        documents = [history.for_editor(d) for d in documents]
    body = dumps({"items": documents, "next": next_cursor}).encode()
    tag = '"h' + hashlib.sha256(body).hexdigest()[:32] + '"'
    public = actor is None and caching.is_public(request)
    keys = [] if target == history.STORY else [caching.update_key(target)]
    headers = {
        "ETag": tag,
        **(
            caching.past_headers(slug, public=public, keys=keys)
            if next_cursor is not None
            else {"Cache-Control": "public, no-cache" if public else caching.PRIVATE}
        ),
        "Vary": "Authorization",
    }
    if http.not_modified(request, tag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


@router.get("/stories/{slug}/updates/{update_id}/history", response_model=RevisionList)
async def update_history(
    slug: SlugPath,
    update_id: UpdateIdPath,
    request: Request,
    actor: MaybeActor,
    services: ServicesDep,
    after: AfterQuery = None,
    limit: LimitQuery = history.PAGE_SIZE,
) -> Response:
    """The revisions of an update, oldest first, a page at a time (`{items, next}`; pass
    `next` as `after`), with a word diff and field changes. Staff tokens also see the
    internal reason and who acted (the token's id: auditors)."""
    _after(after)
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        # An update retracted while the story was a draft is not for readers, its history neither.
        hidden = not sees_drafts(actor) and (
            await story_view.read_update(connection, slug, update_id, include_draft_only=False) is None
        )
        if hidden or not await history.exists(connection, slug, update_id):
            raise UpdateNotFound(f"story {slug!r} has no update {update_id!r}")
    return await _revisions(request, services, slug, update_id, actor, after, limit)


@router.get("/stories/{slug}/revisions", response_model=RevisionList)
async def story_revisions(
    slug: SlugPath,
    request: Request,
    actor: MaybeActor,
    services: ServicesDep,
    after: AfterQuery = None,
    limit: LimitQuery = history.PAGE_SIZE,
) -> Response:
    """The changes to the story's headline, summary and status, oldest first, a page at a
    time (`{items, next}`; pass `next` as `after`)."""
    _after(after)
    await ensure_readable(services, slug, actor)
    return await _revisions(request, services, slug, history.STORY, actor, after, limit)


@router.get("/stories/{slug}/checkpoint", response_model=Checkpoint)
async def latest_checkpoint(slug: SlugPath, actor: MaybeActor, services: ServicesDep) -> Response:
    """The latest signed checkpoint `{story, version, head_hash, signed_at}` of the log."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        checkpoint = await checkpoints.latest(connection, slug)
    if checkpoint is None:
        raise NotFound(f"story {slug!r} has no signed checkpoint yet")
    return http.json_response(checkpoint.document())


async def _sealing_auditor(actor: Auditor, services: ServicesDep) -> Actor:
    """An auditor (or admin) with write budget left (429 with Retry-After otherwise)."""
    services.write_rate.take(actor.id)
    return actor


def _sealed_response(sealed: Sealed) -> StoredResponse:
    return StoredResponse(
        status=201 if sealed.created else 200,
        headers={},
        body=dumps(sealed.checkpoint.document()),
    )


@router.post(
    "/stories/{slug}/checkpoint",
    status_code=201,
    response_model=Checkpoint,
    response_description="A checkpoint of the head, signed now",
    responses={200: {"model": Checkpoint, "description": "The head was signed already: that checkpoint"}},
    openapi_extra=headers(IDEMPOTENCY_KEY),
)
async def sign_checkpoint(
    slug: SlugPath,
    request: Request,
    actor: Annotated[Actor, Depends(_sealing_auditor)],
    services: ServicesDep,
) -> Response:
    """Sign a checkpoint of the story's head now, if none covers it yet: 201 with the new
    checkpoint, or 200 with the one already signed at the head. The server signs every
    head within `LIVEBLOG_CHECKPOINT_WITHIN_SECONDS` of its last change anyway; this is
    for an auditor who wants one at once (before keeping it, say)."""
    await ensure_readable(services, slug, actor)
    signer = services.application.signer
    if signer is None:  # pragma: no cover - the server always has one
        raise StoreError("this server signs no checkpoints")
    now = services.application.clock()
    key = http.idempotency_key(request, actor)
    if key is None:
        sealed = await seal_head(services.database, signer, slug, now=now)
        if sealed is None:
            raise StoryNotFound(f"there is no story {slug!r}")
        return http.replay(_sealed_response(sealed))
    async with services.database.write() as connection:
        response = await idempotency.recall(connection, key)
        if response is None:
            sealed = await seal_head_in(connection, signer, slug, now=now)
            if sealed is None:
                raise StoryNotFound(f"there is no story {slug!r}")
            response = _sealed_response(sealed)
            await idempotency.remember_now(connection, key, response, at=now)
    return http.replay(response)


@router.get("/keys", response_model=KeyList)
async def public_keys(actor: MaybeActor, services: ServicesDep) -> Response:
    """The Ed25519 public keys that checkpoints are signed with (raw keys, base64)."""
    async with services.database.read() as connection:
        keys = await checkpoints.public_keys(connection)
    return http.json_response({"items": keys})
