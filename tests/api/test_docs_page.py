"""/docs is served by liveblog itself: its page, Swagger UI's files from fastapi-offline, its
own start-up script and favicon, under the docs' Content-Security-Policy (the reader pages
keep theirs; see tests/browser/test_api_docs.py for the page in Chromium)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from liveblog.api.app import create_app
from liveblog.api.security_headers import DOCS_POLICY, PAGE_POLICY, policy_for
from liveblog.config import Settings


@pytest.fixture
async def docs_client() -> AsyncIterator[httpx.AsyncClient]:
    # The documentation routes need no services: no lifespan, no database.
    transport = httpx.ASGITransport(app=create_app(Settings()))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def test_the_docs_page_loads_only_its_own_files_under_the_docs_policy(
    docs_client: httpx.AsyncClient,
) -> None:
    page = await docs_client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == DOCS_POLICY
    assert page.headers["x-content-type-options"] == "nosniff"
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline
    linked = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert linked == [
        "/docs/assets/favicon.svg",
        "/docs/assets/swagger-ui.css",
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/docs.js",
    ]
    types = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
    for url in linked:
        asset = await docs_client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["content-type"].startswith(types[url.rsplit(".", 1)[1]]), url
        assert asset.headers["x-content-type-options"] == "nosniff"
        again = await docs_client.get(url, headers={"If-None-Match": asset.headers["etag"]})
        assert again.status_code == 304
    assert 'data-openapi-url="/openapi.json"' in page.text


async def test_only_listed_assets_are_served_and_redoc_redirects(docs_client: httpx.AsyncClient) -> None:
    for name in ("redoc.standalone.js", "..%2Fpages.py", "favicon.png"):
        missing = await docs_client.get(f"/docs/assets/{name}")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
    redoc = await docs_client.get("/redoc")
    assert (redoc.status_code, redoc.headers["location"]) == (308, "/docs")


def test_the_docs_policy_is_chosen_for_the_docs_only() -> None:
    assert policy_for("/docs") == policy_for("/docs/assets/docs.js") == DOCS_POLICY
    for path in ("/stories/a-story", "/stories/a-story/history", "/docsearch", "/"):
        assert policy_for(path) == PAGE_POLICY
    # Today's policy for the reader pages, unchanged by the docs' own.
    assert PAGE_POLICY == (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
    assert "'unsafe-inline'" not in DOCS_POLICY and "'unsafe-eval'" not in DOCS_POLICY
