"""The client's errors: every RFC 9457 problem the server answers becomes a typed exception.

::

    LiveblogClientError
    ├── ApiError                   the server answered with an error status (``.problem``)
    │   ├── BadRequest             400  malformed JSON or header
    │   ├── Unauthenticated        401  missing, unknown or revoked token
    │   ├── Forbidden              403  the token's role may not do this
    │   ├── NotFound               404  no such story or update (drafts too, for readers)
    │   ├── Conflict               409  the story's state forbids it (closed, slug taken, ...)
    │   ├── RevisionConflict       412  If-Match no longer holds (``.current_revision``)
    │   ├── PayloadTooLarge        413
    │   ├── ValidationFailed       422  (``.errors``; an Idempotency-Key reused for another body too)
    │   ├── RateLimited            429  (``.retry_after``)
    │   └── ServerError            5xx  still failing after the retries
    ├── ConnectionFailed           the server could not be reached, after the retries
    └── UnexpectedResponse         an answer that does not fit docs/api.md
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from pydantic import ValidationError

from liveblog_client.models import Problem


class LiveblogClientError(Exception):
    """Base of every error this package raises on purpose."""


class ApiError(LiveblogClientError):
    """The server refused or failed a request; ``problem`` is its RFC 9457 document."""

    status: int = 0

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.status} {problem.title}: {problem.detail}")
        self.problem = problem
        self.status = problem.status

    @property
    def detail(self) -> str:
        return self.problem.detail

    def extra(self, name: str) -> Any:
        """An extension member of the problem document (``None`` when absent)."""
        return (self.problem.model_extra or {}).get(name)


class BadRequest(ApiError):
    pass


class Unauthenticated(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class RevisionConflict(ApiError):
    """The resource changed since the revision named in If-Match; reload and decide again."""

    @property
    def current_revision(self) -> int | None:
        value = self.extra("current_revision")
        return value if isinstance(value, int) else None


class PayloadTooLarge(ApiError):
    pass


class ValidationFailed(ApiError):
    @property
    def errors(self) -> list[dict[str, Any]]:
        value = self.extra("errors")
        return value if isinstance(value, list) else []


class RateLimited(ApiError):
    def __init__(self, problem: Problem, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.retry_after = retry_after


class ServerError(ApiError):
    pass


class ConnectionFailed(LiveblogClientError):
    """No answer from the server (refused, reset, timed out), after the retries."""


class UnexpectedResponse(LiveblogClientError):
    """The server answered something that does not fit docs/api.md."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthenticated,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: RevisionConflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
}


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` delay in seconds, when the server sent one as a number."""
    value = response.headers.get("retry-after", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return None


def problem_of(response: httpx.Response) -> Problem:
    """The problem document of an error ``response`` (read first if it was streamed); an
    answer that is not problem+json (a proxy's HTML page) becomes a problem of its status."""
    try:
        document = json.loads(response.content)
        if isinstance(document, dict):
            return Problem.model_validate({**document, "status": response.status_code})
    except (ValueError, ValidationError):
        pass
    text = response.content[:300].decode("utf-8", "replace").strip()
    return Problem(status=response.status_code, title=response.reason_phrase, detail=text)


def error_for(response: httpx.Response) -> ApiError:
    """The typed exception for an error ``response`` (status 400 or more)."""
    problem = problem_of(response)
    status = response.status_code
    if status == 429:
        return RateLimited(problem, retry_after(response))
    if status >= 500:
        return ServerError(problem)
    return BY_STATUS.get(status, ApiError)(problem)
