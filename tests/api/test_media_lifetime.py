"""How long an uploaded image lives: as long as some event references it. A redaction deletes
the files only the redacted update used (the test reads the disk); ``liveblog media gc``
removes what nothing references."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from click.testing import CliRunner

from liveblog.api.services import Services
from liveblog.cli import main
from liveblog.media import references
from liveblog.store import media as store
from liveblog.store.database import Database
from tests.api.helpers import open_story, post_update
from tests.api.test_media import jpeg_with_gps, png, uploaded

UPDATES = "/api/v1/stories/border-raid/updates"


def on_disk(services: Services, image: dict[str, object]) -> list[bool]:
    files = store.MediaFiles(services.settings.media_dir)
    extension = str(image["url"]).rsplit(".", 1)[1]
    variants = image["variants"]
    assert isinstance(variants, list)
    return [files.path(v["sha256"], extension).is_file() for v in variants]


async def test_a_redaction_deletes_the_images_only_its_update_used(
    client: httpx.AsyncClient,
    editor: dict[str, str],
    admin: dict[str, str],
    services: Services,
    database: Database,
) -> None:
    await open_story(client, editor)
    only_here = await uploaded(client, editor, jpeg_with_gps())
    in_markdown = await uploaded(client, editor, png((700, 300), "RGB"))
    shared = await uploaded(client, editor, png((400, 300), "RGB"))
    corrected_away = await uploaded(client, editor, png((500, 300), "RGB"))
    redacted = await post_update(
        client,
        editor,
        body=f"The prisoners: ![a map]({in_markdown['variants'][0]['url']})",
        media=[
            {"kind": "image", "id": corrected_away["id"], "alt": "first photo"},
            {"kind": "image", "id": shared["id"], "alt": "a road"},
        ],
    )
    correction = await client.post(
        f"{UPDATES}/{redacted['id']}/corrections",
        json={
            "changes": {"media": [
                {"kind": "image", "id": only_here["id"], "alt": "the prisoners"},
                {"kind": "image", "id": shared["id"], "alt": "a road"},
            ]},
            "kind": "minor",
            "reason": "better photo",
        },
        headers=editor,
    )  # fmt: skip
    assert correction.status_code == 200, correction.text
    await post_update(client, editor, media=[{"kind": "image", "id": shared["id"], "alt": "the road"}])
    assert all(on_disk(services, only_here))
    # Before the redaction every image is referenced (one only by a corrected-away version).
    gc = await references.collect_garbage(
        database, store.MediaFiles(services.settings.media_dir), now=datetime.now(UTC), grace=timedelta(0)
    )
    assert gc.images == [] and gc.kept == 4

    response = await client.post(
        f"{UPDATES}/{redacted['id']}/redaction",
        json={"legal_basis": "court order 2026/1", "note": "Removed.", "reason": "a source at risk"},
        headers=admin,
    )
    assert response.status_code == 200, response.text
    for gone in (only_here, in_markdown, corrected_away):
        assert not any(on_disk(services, gone)), gone["id"]
        assert (await client.get(str(gone["url"]))).status_code == 404
        assert (await client.get(f"/api/v1/media/{gone['id']}")).status_code == 404
    assert all(on_disk(services, shared))  # another update still shows it
    assert (await client.get(str(shared["url"]))).status_code == 200


async def test_gc_removes_only_what_nothing_references(
    client: httpx.AsyncClient, editor: dict[str, str], services: Services, database: Database
) -> None:
    await open_story(client, editor)
    used = await uploaded(client, editor, png((300, 200), "RGB"))
    unused = await uploaded(client, editor, png((310, 200), "RGB"))
    await post_update(client, editor, media=[{"kind": "image", "id": used["id"], "alt": "used"}])
    files = store.MediaFiles(services.settings.media_dir)
    stray = files.write("0" * 64, "png", b"left by a crash")
    now = datetime.now(UTC)
    # A fresh upload is in its grace period (it may be about to be used).
    fresh = await references.collect_garbage(database, files, now=now)
    assert fresh.images == [] and fresh.stray_files == []
    dry = await references.collect_garbage(database, files, now=now, grace=timedelta(0), dry_run=True)
    assert dry.images == [unused["id"]] and dry.stray_files == [str(stray)]
    assert all(on_disk(services, unused)) and stray.exists()
    done = await references.collect_garbage(database, files, now=now, grace=timedelta(0))
    assert done.images == [unused["id"]] and done.files == 1
    assert not any(on_disk(services, unused)) and not stray.exists()
    assert all(on_disk(services, used))
    async with database.read() as connection:
        assert [image.id for image in await store.every(connection)] == [used["id"]]


@pytest.mark.parametrize("backend", ["sqlite"])  # the command is the same on both; its work is tested on both
async def test_the_gc_command(
    client: httpx.AsyncClient, editor: dict[str, str], services: Services, database: Database
) -> None:
    unused = await uploaded(client, editor, png((320, 200), "RGB"))
    env = {
        "LIVEBLOG_DATABASE_URL": database.url,
        "LIVEBLOG_MEDIA_DIR": str(services.settings.media_dir),
        "LIVEBLOG_SIGNING_KEY_PATH": str(services.settings.signing_key_path),
    }
    dry = await asyncio.to_thread(
        CliRunner().invoke, main, ["media", "gc", "--dry-run", "--grace-hours", "0"], env=env
    )
    assert dry.exit_code == 0, dry.output
    assert f"would remove image {unused['id']}" in dry.output and "dry run" in dry.output
    assert all(on_disk(services, unused))
    done = await asyncio.to_thread(CliRunner().invoke, main, ["media", "gc", "--grace-hours", "0"], env=env)
    assert done.exit_code == 0, done.output
    assert "removed 1 image(s) (1 file(s))" in done.output
    assert not any(on_disk(services, unused))
