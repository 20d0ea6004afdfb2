"""RFC 9457 problem details: the one place where errors become HTTP responses.

Every error leaves the server as ``application/problem+json`` with ``type``, ``title``,
``status`` and ``detail``; validation problems add ``errors``, a failed If-Match adds
``current_revision``. Nothing else (no stack trace, no HTML page) ever reaches a client.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from liveblog import errors

log = logging.getLogger("liveblog.api")

PROBLEM_JSON = "application/problem+json"

STATUS_BY_ERROR: dict[type[errors.LiveblogError], int] = {
    errors.LiveblogError: 500,
    errors.DomainError: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.NotTheSubmitter: 403,
    errors.RuleViolation: 422,
    errors.RevisionMismatch: 412,
    errors.ConcurrencyError: 409,
    errors.IdempotencyKeyReused: 422,
    errors.InvalidInput: 422,
    errors.UnsupportedMediaType: 415,
    errors.BadRequest: 400,
    errors.PayloadTooLarge: 413,
    errors.AuthError: 403,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.RateLimited: 429,
    errors.FormatNotImplemented: 501,
    errors.StoreError: 503,
}
"""The HTTP status of each class of the error tree; a class not listed has its nearest listed
ancestor's. So a new ``DomainError`` is a 4xx even before it gets a line here, and only the
tree's root (an error raised on purpose but never classified) and ``StoreError`` are 5xx.
The problem's ``title`` is the ``title`` attribute, inherited along the MRO in the same way;
its ``type`` names the error's own class."""


def problem_type(kind: str) -> str:
    return "urn:liveblog:problem:" + re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower()


def problem(
    status: int, title: str, detail: str, kind: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> Response:
    document = {"type": problem_type(kind), "title": title, "status": status, "detail": detail, **extra}
    # Also here, not only in the SecurityHeaders middleware: a 500 leaves through Starlette's
    # outermost error handler, outside every middleware of the app.
    headers = {**(headers or {}), "X-Content-Type-Options": "nosniff"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="liveblog"'
    return Response(
        json.dumps(document, ensure_ascii=False), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def status_for(kind: type[errors.LiveblogError]) -> int:
    """The status of the most specific class along ``kind``'s MRO that has one."""
    return next(STATUS_BY_ERROR[cls] for cls in kind.__mro__ if cls in STATUS_BY_ERROR)


def status_of(error: errors.LiveblogError) -> int:
    return status_for(type(error))


def from_error(error: errors.LiveblogError) -> Response:
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(error, errors.RevisionMismatch):
        extra["current_revision"] = error.current_revision
    if isinstance(error, errors.RateLimited):
        headers["Retry-After"] = str(error.retry_after)
    status = status_of(error)
    if status >= 500 and status != 501:  # 501: the client asked for what is not served
        log.error("%s: %s", type(error).__name__, error.detail)
    return problem(status, error.title, error.detail, type(error).__name__, headers=headers, **extra)


def _field_errors(raw: list[Any]) -> list[dict[str, Any]]:
    # The offending input is not echoed back: it may be a megabyte, or someone's secret.
    return [
        {
            "loc": [str(part) for part in item.get("loc", ())],
            "msg": item.get("msg", ""),
            "type": item.get("type", ""),
        }
        for item in raw
    ]


async def _on_liveblog_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.LiveblogError)
    return from_error(exc)


async def _on_request_validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    raw = list(exc.errors())
    if any(item.get("type") == "json_invalid" for item in raw):
        return problem(400, "Malformed JSON", "the request body is not valid JSON", "MalformedJson")
    return problem(
        422,
        "Validation failed",
        "the request does not match the expected shape; see errors",
        "ValidationFailed",
        errors=_field_errors(raw),
    )


async def _on_model_validation(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ValidationError)
    return problem(
        422,
        "Validation failed",
        "the request does not satisfy the rules; see errors",
        "ValidationFailed",
        errors=_field_errors(list(exc.errors())),
    )


async def _on_http_exception(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:
        # FastAPI's own 400: a body it could not decode (not UTF-8, nested too deep).
        return problem(400, "Malformed JSON", "the request body is not valid UTF-8 JSON", "MalformedJson")
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "HTTP error")
    response = problem(exc.status_code, title, str(exc.detail), title.title().replace(" ", ""))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _on_unexpected(_request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return problem(500, "Internal error", "the server failed to handle this request", "InternalError")


def install(app: FastAPI) -> None:
    """Register the handlers above on ``app``."""
    app.add_exception_handler(errors.LiveblogError, _on_liveblog_error)
    app.add_exception_handler(RequestValidationError, _on_request_validation)
    app.add_exception_handler(ValidationError, _on_model_validation)
    app.add_exception_handler(HTTPException, _on_http_exception)
    app.add_exception_handler(Exception, _on_unexpected)
