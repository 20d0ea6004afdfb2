"""The API reference: Swagger UI at ``/docs``, served entirely by liveblog itself.

Swagger UI's script and stylesheet come from the ``fastapi-offline`` package (which ships
``swagger-ui-dist``); the page's start-up script and favicon from ``liveblog.docs_assets``.
All of them are read with :mod:`importlib.resources` and served under ``/docs/assets/``, so
the page makes no request to another origin and runs under
:data:`liveblog.api.security_headers.DOCS_POLICY` (no inline script, no inline style).
``/redoc`` redirects here. There is no OAuth2 redirect page: the API's only security scheme
is an HTTP bearer token, which Swagger UI's Authorize dialog takes as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from html import escape
from importlib import resources

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from liveblog.errors import NotFound

router = APIRouter(include_in_schema=False)

DOCS_PATH = "/docs"
ASSETS_PATH = DOCS_PATH + "/assets"


@dataclass(frozen=True, slots=True)
class Asset:
    package: str
    resource: str
    media_type: str


ASSETS: dict[str, Asset] = {
    "swagger-ui-bundle.js": Asset(
        "fastapi_offline", "static/swagger-ui-bundle.js", "text/javascript; charset=utf-8"
    ),
    "swagger-ui.css": Asset("fastapi_offline", "static/swagger-ui.css", "text/css; charset=utf-8"),
    "docs.js": Asset("liveblog.docs_assets", "docs.js", "text/javascript; charset=utf-8"),
    "favicon.svg": Asset("liveblog.docs_assets", "favicon.svg", "image/svg+xml"),
}
"""Everything ``/docs/assets/{name}`` serves: a fixed list, so no path is ever built from
the request."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} API reference</title>
<link rel="icon" type="image/svg+xml" href="{assets}/favicon.svg">
<link rel="stylesheet" href="{assets}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="{assets}/docs.js"></script>
</body>
</html>
"""


@cache
def asset_bytes(name: str) -> tuple[bytes, str]:
    """The content of asset ``name`` and its entity tag (read once per process)."""
    asset = ASSETS[name]
    content = resources.files(asset.package).joinpath(asset.resource).read_bytes()
    return content, '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> HTMLResponse:
    """The Swagger UI page (its security headers are added by the middleware)."""
    root = request.scope.get("root_path", "")
    openapi_url = root + (request.app.openapi_url or "/openapi.json")
    return HTMLResponse(
        PAGE.format(
            title=escape(request.app.title), assets=escape(root + ASSETS_PATH), openapi=escape(openapi_url)
        ),
        headers={"Cache-Control": "no-cache"},
    )


@router.get(ASSETS_PATH + "/{name}")
async def docs_asset(name: str, request: Request) -> Response:
    """One file of :data:`ASSETS`, revalidated by its ``ETag`` (404 for any other name)."""
    if name not in ASSETS:
        raise NotFound(f"there is no documentation asset {name!r}")
    content, tag = asset_bytes(name)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=ASSETS[name].media_type, headers=headers)


@router.get("/redoc")
async def redoc(request: Request) -> RedirectResponse:
    """The former Redoc page: the reference now lives at ``/docs``."""
    return RedirectResponse(request.scope.get("root_path", "") + DOCS_PATH, status_code=308)
