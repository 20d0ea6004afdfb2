"""An export with uploaded images verifies with both verifiers, before and after a redaction
removed one: the event records each image's id, which is the SHA-256 of its largest stored
rendition, so the signed log commits to the image bytes (docs/audit-format.md, "Images")."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import httpx
from liveblog_client.audit import verifier as client_verifier

from liveblog.api.services import Services
from liveblog.audit import verify as server_verifier
from liveblog.audit.export import export_lines
from liveblog.store import media as store
from tests.api.helpers import open_story, post_update
from tests.api.test_media import jpeg_with_gps, png, uploaded

UPDATES = "/api/v1/stories/border-raid/updates"


async def export(services: Services) -> list[bytes]:
    lines = [
        line.encode()
        async for line in export_lines(
            services.database, "border-raid", now=datetime.now(UTC), signer=services.application.signer
        )
    ]
    return lines


def both_verify(lines: list[bytes]) -> None:
    result = server_verifier.verify(server_verifier.parse_lines(lines))
    assert result.ok, result
    verdict = client_verifier.verify(lines)
    assert verdict.ok, verdict


async def test_images_in_an_export_verify_and_bind_their_bytes(
    client: httpx.AsyncClient, editor: dict[str, str], admin: dict[str, str], services: Services
) -> None:
    await open_story(client, editor)
    kept = await uploaded(client, editor, jpeg_with_gps())
    removed = await uploaded(client, editor, png((640, 480), "RGB"))
    await post_update(
        client,
        editor,
        body=f"![inline]({kept['variants'][0]['url']})",
        media=[{"kind": "image", "id": kept["id"], "alt": "A bench", "credit": "Agency"}],
    )
    gone = await post_update(client, editor, media=[{"kind": "image", "id": removed["id"], "alt": "A face"}])
    lines = await export(services)
    both_verify(lines)
    # The recorded id is the hash of the stored file's bytes.
    files = store.MediaFiles(services.settings.media_dir)
    stored = files.path(kept["id"], "jpg").read_bytes()
    assert hashlib.sha256(stored).hexdigest() == kept["id"]
    assert any(kept["id"].encode() in line for line in lines)

    response = await client.post(
        f"{UPDATES}/{gone['id']}/redaction",
        json={"legal_basis": "court order", "note": "Removed.", "reason": "identifies a person"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    after = await export(services)
    both_verify(after)
    assert not any(removed["id"].encode() in line for line in after)
    assert files.path(removed["id"], "png").parent.exists() and not files.path(removed["id"], "png").exists()
