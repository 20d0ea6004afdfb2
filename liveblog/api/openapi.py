"""The OpenAPI document: FastAPI's, completed with what the routes do not declare one by one.

Routes declare their bodies, parameters, the request headers they honour (``openapi_extra``
with :func:`headers`) and, through :data:`liveblog.api.auth.BEARER`, whether they read a
token and which roles they need. :func:`complete` then makes every operation say so
consistently:

- **security**: an operation whose requirement names roles needs a token of one of them
  (``[{"bearer": ["admin", "editor"]}]``); one that only reads a token needs none but
  accepts one (``[{}, {"bearer": []}]``), and its description says so;
- **problems**: every error an operation can give, as ``application/problem+json`` with the
  ``Problem`` schema: 401 where a token is read (a present but bad token is 401 everywhere),
  403 where roles are needed, 404 where the path names a resource, 400, 409, 413 and 429 on
  writes, 412 with ``If-Match``, 422 wherever there is input to validate, and any 4xx a
  route declares itself.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from liveblog.api.problems import PROBLEM_JSON
from liveblog.api.schemas import Problem

BEARER = "bearer"
WRITES = {"post", "put", "patch", "delete"}
READS_TOKEN = (
    "No token needed. A token that is sent must be valid (401 otherwise); with an editor or "
    "admin token, drafts are included."
)
PROBLEMS: dict[int, tuple[str, str, str]] = {
    # status: (what it means here, an example's title, an example's detail)
    400: (
        "Malformed request: JSON, `If-Match` or `Idempotency-Key` that cannot be read",
        "Malformed JSON",
        "the request body is not valid JSON",
    ),
    401: (
        "The bearer token is missing (where one is needed), malformed, revoked or expired",
        "Unauthenticated",
        "this action needs a bearer token",
    ),
    403: (
        "The token's role may not do this",
        "Forbidden",
        "an auditor token cannot do this; it needs admin or editor",
    ),
    404: (
        "No such story or update (drafts are not found without an editor token)",
        "Story not found",
        "there is no story 'no-such-story'",
    ),
    409: ("Conflicts with the story's state (closed, slug taken, ...)", "Conflict", "the story is closed"),
    412: (
        "`If-Match` names an older revision; `current_revision` has the current one",
        "Revision mismatch",
        "the resource is at revision 4, not 3",
    ),
    413: ("The request body is larger than the server accepts", "Payload too large", "the body is too large"),
    422: (
        "Invalid input or a newsroom rule refused it; `errors` lists the fields",
        "Validation failed",
        "the request does not match the expected shape; see errors",
    ),
    429: (
        "Too many writes or live connections; `Retry-After` says when to try again",
        "Rate limited",
        "too many writes; try again in 2 s",
    ),
}
EXAMPLE_EXTRAS: dict[int, dict[str, Any]] = {
    412: {"current_revision": 4},
    422: {"errors": [{"loc": ["body", "title"], "msg": "Field required", "type": "missing"}]},
}


def header(name: str, description: str, example: str, **schema: Any) -> dict[str, Any]:
    """An optional request header parameter, as an OpenAPI parameter object.

    The example goes into the schema's ``examples``, not the parameter's ``example``: Swagger UI
    fills a parameter's ``example`` into "Try it out", and a made-up revision or a fixed
    idempotency key sent by default would turn a first try into a 412 or a replay."""
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string", "examples": [example], **schema},
    }


IF_MATCH = header(
    "If-Match",
    "The revision this change is based on, in quotes (the resource's `revision`; `*` matches any). "
    "If it is no longer current, nothing changes and the answer is 412 with `current_revision`.",
    '"3"',
    pattern=r'^(\*|(W/)?"[0-9]{1,12}")$',
)
IF_NONE_MATCH = header(
    "If-None-Match",
    "The ETag the client already has: if it is still current, the answer is 304 with no body.",
    '"42"',
    maxLength=1000,
)
IDEMPOTENCY_KEY = header(
    "Idempotency-Key",
    "Any unique string for this write (1 to 255 printable characters, per token). A retry with "
    "the same key and body returns the first response and records nothing; the same key with "
    "another body is 422.",
    "c7a6a1c2-1b4e-4a51-9a0e-7f3c9d6f0b11",
    pattern=r"^[!-~]([ -~]{0,253}[!-~])?$",
)


def headers(*parameters: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that honours the request headers ``parameters``."""
    return {"parameters": list(parameters)}


def problem_response(status: int) -> dict[str, Any]:
    """The OpenAPI response of problem ``status``: ``application/problem+json``, ``Problem``."""
    description, title, detail = PROBLEMS.get(status, ("An error", "Error", "the request failed"))
    example = {
        "type": "urn:liveblog:problem:" + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        **EXAMPLE_EXTRAS.get(status, {}),
    }
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}, "example": example}},
    }


def _security(operation: dict[str, Any]) -> list[str] | None:
    """The roles ``operation`` needs (``[]``: none, but it reads a token; ``None``: no token)."""
    requirements = [r for r in operation.get("security", []) if BEARER in r]
    if not requirements:
        return None
    return sorted({role for requirement in requirements for role in requirement[BEARER]})


def _problems(method: str, path: str, operation: dict[str, Any], roles: list[str] | None) -> set[int]:
    parameters = {p["name"] for p in operation.get("parameters", [])}
    statuses = {int(code) for code in operation.get("responses", {}) if code.startswith("4")}
    if roles is not None:
        statuses.add(401)
    if roles:
        statuses.add(403)
    if "{" in path:
        statuses.add(404)
    if method in WRITES:
        statuses |= {400, 409, 413, 429}
    if "If-Match" in parameters:
        statuses.add(412)
    if parameters or "requestBody" in operation:
        statuses.add(422)
    return statuses


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Complete FastAPI's ``document`` in place (see the module's docstring); idempotent."""
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            roles = _security(operation)
            description = operation.get("description", "").split("\n\n**Who:**")[0]
            if roles is None:
                operation["security"] = []
            elif roles:
                operation["security"] = [{BEARER: roles}]
                who = f"a bearer token of role {' or '.join(roles)}."
                operation["description"] = f"{description}\n\n**Who:** {who}"
            else:
                operation["security"] = [{}, {BEARER: []}]
                operation["description"] = f"{description}\n\n**Who:** anyone. {READS_TOKEN}"
            responses = operation.setdefault("responses", {})
            for status in _problems(method, path, operation, roles):
                responses[str(status)] = problem_response(status)
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    # FastAPI's own validation error shapes are replaced by Problem everywhere above.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document


class DocumentedAPI(FastAPI):
    """FastAPI whose :meth:`openapi` is :func:`complete`\\ d."""

    def openapi(self) -> dict[str, Any]:
        return complete(super().openapi())
