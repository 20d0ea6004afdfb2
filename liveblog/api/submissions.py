"""Routes of docs/api.md "Contributors and sign-off" (issue 15, part 1): the submission queue.

A ``contributor`` token submits updates to a story it can read (a published story: a draft
is 404 to it, as to any reader), lists and reads its own submissions and withdraws them
while pending; nothing else. Editors (and admins) may submit too, list and read the whole
queue, approve (201, the published Update) or reject (200, the Submission). Auditors may
read the queue. Readers never get any of it: no reader surface reads the queue's table.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel
from starlette.responses import Response

from liveblog.api import http
from liveblog.api.auth import Editor, require
from liveblog.api.openapi import IDEMPOTENCY_KEY, headers
from liveblog.api.schemas import (
    ApprovalBody,
    NewSubmission,
    RejectionBody,
    Submission,
    SubmissionList,
    Update,
)
from liveblog.api.services import Services, ServicesDep
from liveblog.api.stories import SlugPath, ensure_readable
from liveblog.api.updates import check_embeds, new_update_id, update_response
from liveblog.application import Responder
from liveblog.domain import commands as c
from liveblog.domain.state import StoryState
from liveblog.domain.values import SubmissionStatus
from liveblog.errors import Forbidden, InvalidInput, SubmissionNotFound
from liveblog.media import references
from liveblog.projections import submissions, views
from liveblog.store.idempotency import StoredResponse
from liveblog.store.tokens import Actor, Role

router = APIRouter(prefix="/api/v1/stories/{slug}/submissions", tags=["submissions"])

SubmissionIdPath = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the submission's id", examples=["uq3J8Nn0mGxeT"])
]

QUEUE_READERS = frozenset({Role.EDITOR, Role.AUDITOR, Role.ADMIN})
"""Who reads the whole queue; a contributor reads its own submissions only."""


async def _submitter(
    actor: Annotated[Actor, Depends(require(Role.CONTRIBUTOR, Role.EDITOR, cached=True))],
    services: ServicesDep,
) -> Actor:
    """A contributor or an editor (or admin) with write budget left."""
    services.write_rate.take(actor.id)
    return actor


Submitter = Annotated[Actor, Depends(_submitter)]
QueueReader = Annotated[Actor, Depends(require(Role.CONTRIBUTOR, Role.EDITOR, Role.AUDITOR))]


def submission_response(state: StoryState, submission_id: str, *, status: int = 200) -> StoredResponse:
    response_headers = {}
    if status == 201:
        response_headers["Location"] = f"/api/v1/stories/{state.slug}/submissions/{submission_id}"
    return StoredResponse(
        status=status, headers=response_headers, body=submissions.submission_json(state, submission_id)
    )


async def _handle(
    command: c.Command,
    body: BaseModel | None,
    request: Request,
    actor: Actor,
    services: Services,
    respond: Responder,
) -> Response:
    outcome = await services.application.handle(
        command, actor, respond, idempotency_key=http.idempotency_key(request, actor, body)
    )
    return http.replay(outcome.response)


@router.post("", status_code=201, response_model=Submission, openapi_extra=headers(IDEMPOTENCY_KEY))
async def submit_update(
    slug: SlugPath, body: NewSubmission, request: Request, actor: Submitter, services: ServicesDep
) -> Response:
    """Submit an update to the story's queue, for an editor to approve (contributor, editor).
    Its id is the id of the update it becomes if approved."""
    await ensure_readable(services, slug, actor)
    check_embeds(body.media, services.settings)
    submission_id = new_update_id()
    command = c.SubmitUpdate(
        story=slug,
        update_id=submission_id,
        submitted_by=actor.id,
        author=actor.name,
        body=body.body,
        title=body.title,
        byline=body.byline,
        sources=body.sources,
        verification=body.verification,
        occurred_at=body.occurred_at,
        media=await references.resolve(services.database, body.media, [body.body]) or (),
        at=services.application.clock(),
    )
    return await _handle(
        command,
        body,
        request,
        actor,
        services,
        lambda state: submission_response(state, submission_id, status=201),
    )


@router.get("", response_model=SubmissionList)
async def list_submissions(
    slug: SlugPath,
    actor: QueueReader,
    services: ServicesDep,
    status: Annotated[
        SubmissionStatus | None,
        Query(description="only the submissions in this status", examples=["pending"]),
    ] = None,
    before: Annotated[
        str | None,
        Query(max_length=32, description="the `next` cursor of the previous page", examples=["MTI"]),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=100, description="submissions per page", examples=[20])
    ] = views.PAGE_SIZE,
) -> Response:
    """The story's submissions, newest first, a page at a time: the whole queue for editors
    and auditors, a contributor's own for a contributor. `?status=pending` is the queue."""
    before_seq = None
    if before is not None:
        before_seq = views.decode_cursor(before)
        if before_seq is None:
            raise InvalidInput("`before` is not a cursor this server issued")
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        items, next_cursor = await submissions.read_page(
            connection,
            slug,
            submitted_by=None if actor.role in QUEUE_READERS else actor.id,
            status=None if status is None else status.value,
            before=before_seq,
            limit=limit,
        )
    return http.json_response(
        {"items": items, "next": next_cursor}, headers={"Cache-Control": "private, no-cache"}
    )


@router.get("/{submission_id}", response_model=Submission)
async def get_submission(
    slug: SlugPath, submission_id: SubmissionIdPath, actor: QueueReader, services: ServicesDep
) -> Response:
    """One submission (a contributor: its own only, 403 for another's)."""
    await ensure_readable(services, slug, actor)
    async with services.database.read() as connection:
        view = await submissions.read_one(connection, slug, submission_id)
    if view is None:
        raise SubmissionNotFound(f"story {slug!r} has no submission {submission_id!r}")
    if actor.role not in QUEUE_READERS and view["submitted_by"]["id"] != actor.id:
        raise Forbidden("a contributor may read its own submissions only")
    return http.json_response(view, headers={"Cache-Control": "private, no-cache"})


@router.post("/{submission_id}/withdrawal", response_model=Submission, openapi_extra=headers(IDEMPOTENCY_KEY))
async def withdraw_submission(
    slug: SlugPath, submission_id: SubmissionIdPath, request: Request, actor: Submitter, services: ServicesDep
) -> Response:
    """Take a pending submission back (its submitter only: 403 for anyone else; 409 once
    it was decided)."""
    await ensure_readable(services, slug, actor)
    command = c.WithdrawSubmission(
        story=slug, update_id=submission_id, by=actor.id, at=services.application.clock()
    )
    return await _handle(
        command, None, request, actor, services, lambda state: submission_response(state, submission_id)
    )


@router.post(
    "/{submission_id}/approval",
    status_code=201,
    response_model=Update,
    openapi_extra=headers(IDEMPOTENCY_KEY),
)
async def approve_submission(
    slug: SlugPath,
    submission_id: SubmissionIdPath,
    request: Request,
    actor: Editor,
    services: ServicesDep,
    body: ApprovalBody | None = None,
) -> Response:
    """Publish a pending submission (editor), with your own `changes` if any (recorded as
    yours, apart from the submitted text): 201 with the published Update, an update like
    any other. Of two approvals of the same submission one wins; the other gets 409."""
    approval = body if body is not None else ApprovalBody()
    check_embeds(approval.changes.media, services.settings)
    media = await references.resolve(services.database, approval.changes.media, [approval.changes.body])
    command = c.ApproveSubmission(
        story=slug,
        update_id=submission_id,
        changes=approval.changes.model_copy(update={"media": media}),
        at=services.application.clock(),
    )
    return await _handle(
        command,
        approval,
        request,
        actor,
        services,
        lambda state: update_response(state, submission_id, status=201),
    )


@router.post("/{submission_id}/rejection", response_model=Submission, openapi_extra=headers(IDEMPOTENCY_KEY))
async def reject_submission(
    slug: SlugPath,
    submission_id: SubmissionIdPath,
    body: RejectionBody,
    request: Request,
    actor: Editor,
    services: ServicesDep,
) -> Response:
    """Turn a pending submission down (editor), with a `note` to its submitter (200, the
    Submission; 409 once it was decided)."""
    command = c.RejectSubmission(
        story=slug, update_id=submission_id, note=body.note, at=services.application.clock()
    )
    return await _handle(
        command, body, request, actor, services, lambda state: submission_response(state, submission_id)
    )
