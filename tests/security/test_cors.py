"""Issue item 7: CORS. Reader GETs are open to every origin; writes are same-origin only
unless the origin is in LIVEBLOG_CORS_WRITE_ORIGINS."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import API, published_story

ELSEWHERE = "https://elsewhere.example"
PARTNER = "https://partner.example"


def preflight(
    method: str, origin: str = ELSEWHERE, headers: str = "authorization, content-type"
) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


async def test_reader_gets_are_open_to_any_origin(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    update = await published_story(client, editor, "shared")
    for path in (
        f"{API}/stories",
        f"{API}/stories/shared",
        f"{API}/stories/shared/updates",
        f"{API}/stories/shared/updates/{update['id']}",
        f"{API}/stories/shared/updates/{update['id']}/history",
        f"{API}/stories/shared/revisions",
        f"{API}/stories/shared/checkpoint",
        f"{API}/keys",
    ):
        response = await client.get(path, headers={"Origin": ELSEWHERE})
        assert response.status_code == 200, path
        assert response.headers.get("access-control-allow-origin") == "*", path
        assert "access-control-allow-credentials" not in response.headers, path
        exposed = {
            part.strip().lower()
            for part in response.headers.get("access-control-expose-headers", "").split(",")
        }
        assert "etag" in exposed, path
    # Errors a reader's script must be able to read carry the header too.
    missing = await client.get(f"{API}/stories/missing", headers={"Origin": ELSEWHERE})
    assert missing.status_code == 404 and missing.headers.get("access-control-allow-origin") == "*"
    read_preflight = await client.options(
        f"{API}/stories/shared", headers=preflight("GET", headers="if-none-match")
    )
    assert read_preflight.status_code in (200, 204)
    assert read_preflight.headers.get("access-control-allow-origin") == "*"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", f"{API}/stories"),
        ("PATCH", f"{API}/stories/shared"),
        ("POST", f"{API}/stories/shared/updates"),
        ("PUT", f"{API}/stories/shared/updates/x/flags"),
        ("DELETE", f"{API}/stories/shared"),
    ],
)
async def test_a_write_preflight_from_another_origin_is_refused(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    for origin in (ELSEWHERE, "null", "http://testserver.elsewhere.example"):
        response = await client.options(path, headers=preflight(method, origin))
        assert response.status_code == 403, (origin, response.status_code)
        assert "access-control-allow-origin" not in response.headers
        assert "access-control-allow-methods" not in response.headers
        assert "access-control-allow-headers" not in response.headers


async def test_a_cross_origin_write_response_is_not_shared_with_the_other_origin(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    await published_story(client, editor, "shared")
    response = await client.post(
        f"{API}/stories/shared/updates",
        json={"body": "From elsewhere."},
        headers={**editor, "Origin": ELSEWHERE},
    )
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.limits(cors_write_origins=[PARTNER])
async def test_configured_origins_may_write(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    await published_story(client, editor, "shared")
    for method in ("POST", "PUT", "PATCH"):
        allowed = await client.options(f"{API}/stories/shared/updates", headers=preflight(method, PARTNER))
        assert allowed.status_code in (200, 204), method
        assert allowed.headers["access-control-allow-origin"] == PARTNER
        assert method in allowed.headers["access-control-allow-methods"]
        allowed_headers = allowed.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed_headers and "content-type" in allowed_headers
        assert "origin" in allowed.headers.get("vary", "").lower()
    posted = await client.post(
        f"{API}/stories/shared/updates",
        json={"body": "From a partner."},
        headers={**editor, "Origin": PARTNER},
    )
    assert posted.status_code == 201
    assert posted.headers["access-control-allow-origin"] == PARTNER
    # Others are still refused, and reads stay open.
    refused = await client.options(f"{API}/stories/shared/updates", headers=preflight("POST", ELSEWHERE))
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers
    read = await client.get(f"{API}/stories/shared", headers={"Origin": ELSEWHERE})
    assert read.headers["access-control-allow-origin"] == "*"
