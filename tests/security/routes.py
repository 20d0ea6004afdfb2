"""The application's route table, flattened to ``(method, path template)`` pairs.

HTTP routes give one pair per method (``HEAD`` beside ``GET`` is left out: it is the same
route), WebSocket routes give ``("WEBSOCKET", path)`` and mounts ``("MOUNT", path)``.
Routers included into the app are walked whatever their wrapper (FastAPI >= 0.16x keeps
included routers as ``_IncludedRouter`` objects rather than copying their routes).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from starlette.routing import BaseRoute, Mount, WebSocketRoute

RouteKey = tuple[str, str]


def _walk(routes: Iterable[Any], prefix: str) -> Iterator[RouteKey]:
    for route in routes:
        if isinstance(route, APIWebSocketRoute | WebSocketRoute):
            yield "WEBSOCKET", prefix + route.path
        elif isinstance(route, Mount):
            yield "MOUNT", prefix + route.path
        elif hasattr(route, "original_router"):  # an included router
            context = getattr(route, "include_context", None)
            inner = getattr(context, "prefix", "") or ""
            yield from _walk(route.original_router.routes, prefix + inner)
        elif isinstance(route, BaseRoute) and getattr(route, "methods", None):
            methods = set(route.methods)
            if "GET" in methods:
                methods.discard("HEAD")
            for method in sorted(methods):
                yield method, prefix + route.path
        else:
            raise AssertionError(f"a route of an unknown kind: {route!r}")


def route_table(app: FastAPI) -> set[RouteKey]:
    return set(_walk(app.routes, ""))
