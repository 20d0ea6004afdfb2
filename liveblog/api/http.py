"""HTTP details shared by the routers: entity tags, preconditions, idempotency keys."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from fastapi import Request
from starlette.responses import Response

from liveblog.errors import BadRequest
from liveblog.projections.story_view import dumps
from liveblog.store.idempotency import IdempotencyKey, StoredResponse
from liveblog.store.tokens import Actor

_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,12})"\s*$')
MAX_IDEMPOTENCY_KEY = 255


def etag(number: int) -> str:
    return f'"{number}"'


def if_match(request: Request) -> int | None:
    """The revision named by ``If-Match`` (``None`` when absent or ``*``)."""
    header = request.headers.get("if-match")
    if header is None or header.strip() == "*":
        return None
    match = _ETAG.match(header)
    if match is None:
        raise BadRequest('If-Match must be a revision in quotes, such as "3"')
    return int(match.group(1))


def not_modified(request: Request, current: str) -> bool:
    """Whether ``If-None-Match`` already names ``current`` (so 304 is the answer)."""
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    candidates = {part.strip().removeprefix("W/") for part in header.split(",")}
    return "*" in candidates or current in candidates


def idempotency_key(request: Request, actor: Actor, body: Any = None) -> IdempotencyKey | None:
    """The request's Idempotency-Key, scoped to the token and bound to method, path and body."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters")
    payload = body.model_dump(mode="json") if body is not None else None
    fingerprint = hashlib.sha256(
        json.dumps([request.method, request.url.path, payload], sort_keys=True).encode()
    ).hexdigest()
    return IdempotencyKey(scope=actor.id, key=key, fingerprint=fingerprint)


def json_response(document: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(dumps(document), status_code=status, media_type="application/json", headers=headers)


def replay(response: StoredResponse) -> Response:
    """An HTTP response from a stored one (also the first time it is given)."""
    return Response(
        response.body, status_code=response.status, media_type="application/json", headers=response.headers
    )
