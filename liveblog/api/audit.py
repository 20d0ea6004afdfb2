"""Routes of API.md "Audit": the log, revision histories, checkpoints and signing keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response, StreamingResponse

from liveblog.api import http
from liveblog.api.auth import MaybeActor, require
from liveblog.api.services import ServicesDep
from liveblog.api.stories import ERRORS, SlugPath, ensure_readable, public_since
from liveblog.api.updates import UpdateIdPath
from liveblog.audit import checkpoints
from liveblog.audit.export import event_document, export_lines
from liveblog.domain.values import MAX_VERSION
from liveblog.errors import NotFound, UpdateNotFound
from liveblog.projections import history
from liveblog.store import event_store
from liveblog.store.tokens import Actor, Role

router = APIRouter(prefix="/api/v1", tags=["audit"])
Auditor = Annotated[Actor, Depends(require(Role.AUDITOR))]
NDJSON = "application/x-ndjson"
AUDITING = frozenset({Role.AUDITOR, Role.ADMIN})


@router.get(
    "/stories/{slug}/events",
    responses={**ERRORS, 200: {"content": {NDJSON: {}}, "description": "Events, or the NDJSON export"}},
)
async def list_events(
    slug: SlugPath,
    request: Request,
    actor: Auditor,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_VERSION)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """The story's log (auditors). With `Accept: application/x-ndjson`, the whole log as a
    self-contained, verifiable export (docs/audit-format.md)."""
    await ensure_readable(services, slug, actor)
    if NDJSON in request.headers.get("accept", ""):
        lines = export_lines(services.database, slug, now=services.application.clock())
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


async def _revisions(
    services: ServicesDep, slug: str, documents: list[dict[str, Any]], actor: Actor | None
) -> Response:
    # Readers get public notes, from publication on; editors the reasons but not token ids
    # (docs/decisions-hardening.md); auditors and admins everything.
    if actor is None:
        since = await public_since(services, slug, actor)
        documents = [history.for_reader(d) for d in documents if d["version"] >= since]
    elif actor.role not in AUDITING:
        documents = [history.for_editor(d) for d in documents]
    return http.json_response({"items": documents})


@router.get("/stories/{slug}/updates/{update_id}/history", responses=ERRORS)
async def update_history(
    slug: SlugPath, update_id: UpdateIdPath, actor: MaybeActor, services: ServicesDep
) -> Response:
    """Every revision of an update, oldest first, with a word diff and field changes.
    Staff tokens also see the internal reason and who acted (the token's id: auditors)."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        documents = await history.read(connection, slug, update_id)
    if not documents:
        raise UpdateNotFound(f"story {slug!r} has no update {update_id!r}")
    return await _revisions(services, slug, documents, actor)


@router.get("/stories/{slug}/revisions", responses=ERRORS)
async def story_revisions(slug: SlugPath, actor: MaybeActor, services: ServicesDep) -> Response:
    """Every change to the story's headline, summary and status, oldest first."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        documents = await history.read(connection, slug, history.STORY)
    return await _revisions(services, slug, documents, actor)


@router.get("/stories/{slug}/checkpoint", responses=ERRORS)
async def latest_checkpoint(slug: SlugPath, actor: MaybeActor, services: ServicesDep) -> Response:
    """The latest signed checkpoint `{story, version, head_hash, signed_at}` of the log."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        checkpoint = await checkpoints.latest(connection, slug)
    if checkpoint is None:
        raise NotFound(f"story {slug!r} has no signed checkpoint yet")
    return http.json_response(checkpoint.document())


@router.get("/keys")
async def public_keys(actor: MaybeActor, services: ServicesDep) -> Response:
    """The Ed25519 public keys that checkpoints are signed with (raw keys, base64)."""
    async with services.database.read() as connection:
        keys = await checkpoints.public_keys(connection)
    return http.json_response({"items": keys})
