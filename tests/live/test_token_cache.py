"""The token cache across real server processes: revoking a token takes effect at once.

Two ``liveblog serve`` processes share one PostgreSQL database. Each has cached the editor's
token (it posted through both). The token is revoked through a third party (the store, as
``liveblog token revoke`` does); the very next write through either process is 401, and no
event was appended. No waiting, no timing: the write's own transaction confirms the token.
"""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from liveblog.store import tokens
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.live.processes import ServerGroup

pytestmark = pytest.mark.postgres

SLUG = "token-cache"


async def test_a_token_revoked_elsewhere_is_refused_by_the_next_write_in_every_process(
    group: ServerGroup, postgres_url: str
) -> None:
    database = Database(postgres_url)
    try:
        async with database.write() as connection:
            info, secret = await tokens.create(
                connection, name="Cached Editor", role=Role.EDITOR, now=datetime.now(UTC)
            )
        a, b = await group.start(2)
        headers = {"Authorization": f"Bearer {secret}"}
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            opened = await http.post(
                f"{a.url}/api/v1/stories",
                json={"title": "Cache", "slug": SLUG, "publish": True},
                headers=headers,
            )
            assert opened.status_code == 201, opened.text
            for server in (a, b, a, b):  # the second round is served from each process's cache
                posted = await http.post(
                    f"{server.url}/api/v1/stories/{SLUG}/updates", json={"body": "cached"}, headers=headers
                )
                assert posted.status_code == 201, posted.text
            version = (await http.get(f"{a.url}/api/v1/stories/{SLUG}")).json()["version"]

            async with database.write() as connection:
                assert await tokens.revoke(connection, info.id, now=datetime.now(UTC))

            for server in (b, a, b):
                refused = await http.post(
                    f"{server.url}/api/v1/stories/{SLUG}/updates", json={"body": "after"}, headers=headers
                )
                assert refused.status_code == 401, (server.name, refused.text)
                assert "revoked" in refused.json()["detail"]
                keyed = await http.post(
                    f"{server.url}/api/v1/stories/{SLUG}/updates",
                    json={"body": "after"},
                    headers={**headers, "Idempotency-Key": f"after-{server.name}"},
                )
                assert keyed.status_code == 401, (server.name, keyed.text)
            assert (await http.get(f"{b.url}/api/v1/stories/{SLUG}")).json()["version"] == version
    finally:
        await database.dispose()
