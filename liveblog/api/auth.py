"""Bearer-token authentication and role checks, as FastAPI dependencies.

Readers need no token. A token that is present must be valid on every route, so a client
with a revoked or mistyped token learns it at once instead of silently reading as anonymous.
``admin`` may do everything. A ``consumer`` token reads the change feed and is otherwise a
reader: routes that take an optional actor (:data:`MaybeActor`) see none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from liveblog.api.services import Services, ServicesDep
from liveblog.errors import Forbidden, Unauthenticated
from liveblog.store import tokens
from liveblog.store.tokens import Actor, Role

TOKEN_USE_RESOLUTION = timedelta(minutes=1)

BEARER = HTTPBearer(
    scheme_name="bearer",
    description="A token from `liveblog token create --role editor|auditor|admin|consumer|contributor`, sent as "
    "`Authorization: Bearer <token>`. Readers need none.",
    auto_error=False,
)
"""The OpenAPI security scheme, and nothing more: it never refuses a request (the header is
read and checked by :func:`authenticate_header`), but every route that reads a token depends
on it, so FastAPI declares the scheme and each operation's requirement."""

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]


async def optional_actor(request: Request, services: ServicesDep, _documented: Credentials) -> Actor | None:
    return await authenticate_header(services, request.headers.get("authorization"))


async def cached_actor(request: Request, services: ServicesDep, _documented: Credentials) -> Actor | None:
    """:func:`optional_actor` for the routes whose every action is a command written by
    :meth:`~liveblog.application.Application.handle`: a token seen before comes from the
    process's cache, marked for the command's write to confirm it (so still at once)."""
    return await authenticate_header(services, request.headers.get("authorization"), cached=True)


async def authenticate_header(
    services: Services, header: str | None, *, cached: bool = False
) -> Actor | None:
    """The actor an ``Authorization`` header names (``None`` without one). With ``cached``,
    possibly an actor from the token cache that the caller's write must confirm."""
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("send the token as `Authorization: Bearer <token>`")
    secret = secret.strip()
    now = services.application.clock()
    actor = services.token_cache.get(secret) if cached else None
    if actor is None:
        async with services.database.read() as connection:
            actor = await tokens.authenticate(connection, secret, now=now)
        if cached:
            services.token_cache.put(secret, actor)
    last = services.token_use.get(actor.id)
    if last is None or now - last >= TOKEN_USE_RESOLUTION:
        # Last-used times are kept to the minute: one small write per token per minute.
        services.token_use[actor.id] = now
        async with services.database.write() as connection:
            await tokens.touch(connection, actor.id, now=now)
    return actor


def require(*roles: Role, cached: bool = False) -> Callable[..., Awaitable[Actor]]:
    """A dependency that admits an actor holding one of ``roles`` (or admin); with
    ``cached``, from :func:`cached_actor` (only for routes that write through ``handle``)."""
    allowed = {*roles, Role.ADMIN}
    # The roles are the requirement's "scopes" in the OpenAPI document (OpenAPI 3.1 lets a
    # non-OAuth scheme list the roles an operation needs there).
    scopes = sorted(role.value for role in allowed)

    source = cached_actor if cached else optional_actor

    async def dependency(
        # Defaults rather than Annotated, which would name locals (`source`, `scopes`) in
        # string annotations that FastAPI resolves against the module's globals.
        actor: Actor | None = Depends(source),  # noqa: B008
        _documented: HTTPAuthorizationCredentials | None = Security(BEARER, scopes=scopes),  # noqa: B008
    ) -> Actor:
        if actor is None:
            raise Unauthenticated("this action needs a bearer token")
        if actor.role not in allowed:
            names = " or ".join(sorted(role.value for role in allowed))
            raise Forbidden(f"a {actor.role.value} token cannot do this; it needs {names}")
        return actor

    return dependency


async def writer(
    actor: Annotated[Actor, Depends(require(Role.EDITOR, cached=True))], services: ServicesDep
) -> Actor:
    """An editor (or admin) with write budget left (429 with Retry-After otherwise), for the
    routes that act only through a command: the command's write confirms a cached token."""
    services.write_rate.take(actor.id)
    return actor


async def admin_writer(actor: Annotated[Actor, Depends(require())], services: ServicesDep) -> Actor:
    """An admin with write budget left: redaction is an admin's act alone."""
    services.write_rate.take(actor.id)
    return actor


async def reading_actor(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor | None:
    """The actor of a route that readers may use too: a consumer token reads as a reader
    (it is valid, so it is checked, but it grants nothing beyond what readers get)."""
    return None if actor is not None and actor.role is Role.CONSUMER else actor


MaybeActor = Annotated[Actor | None, Depends(reading_actor)]
Editor = Annotated[Actor, Depends(writer)]
Admin = Annotated[Actor, Depends(admin_writer)]


DRAFT_READERS = frozenset({Role.EDITOR, Role.AUDITOR, Role.ADMIN})


def sees_drafts(actor: Actor | None) -> bool:
    """Whether ``actor`` may read drafts (and a published story's draft past): editors, who
    write them, and auditors and admins, who read the whole log of every story. Readers never."""
    return actor is not None and actor.role in DRAFT_READERS
