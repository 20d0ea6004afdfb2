"""POST /api/v1/media and GET /media/…: images in, metadata out, hostile files refused, and
updates referring to images by id (or in Markdown, from this server only)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from liveblog.api.services import Services
from liveblog.store import media as store
from liveblog.store.database import Database
from liveblog.store.tokens import Role
from tests.api.helpers import assert_problem, event_count, open_story, post_update
from tests.conftest import make_token

MEDIA = "/api/v1/media"
UPDATES = "/api/v1/stories/border-raid/updates"
GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (1500, 1000)) -> bytes:
    """A JPEG whose EXIF holds a GPS position, a camera make and an orientation (rotate 90°)."""
    exif = Image.Exif()
    exif[0x010F] = "Spy Camera Co"
    exif[0x0112] = 6
    exif[GPS_IFD] = {1: "N", 2: (50.0, 35.0, 47.0), 3: "E", 4: (36.0, 35.0, 15.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (180, 40, 40)).save(out, "JPEG", exif=exif.tobytes(), comment=b"secret note")
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the fixture is what it claims
    return data


def png(size: tuple[int, int] = (200, 100), mode: str = "RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (10, 120, 200, 255) if mode == "RGBA" else (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


def bomb() -> bytes:
    """A valid-looking 1x1 PNG whose header declares 30000x30000 pixels (its CRC fixed)."""
    data = bytearray(png((1, 1), "RGB"))
    data[16:24] = struct.pack(">II", 30_000, 30_000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    data: bytes,
    *,
    name: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> httpx.Response:
    return await client.post(MEDIA, files={"file": (name, data, content_type)}, headers=headers)


async def uploaded(client: httpx.AsyncClient, headers: dict[str, str], data: bytes) -> dict[str, Any]:
    response = await upload(client, headers, data)
    assert response.status_code == 201, response.text
    return dict(response.json())


def stored_files(services: Services) -> list[Path]:
    return list(store.MediaFiles(services.settings.media_dir).files())


async def test_an_upload_is_stored_without_any_metadata_in_several_widths(
    client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    image = await uploaded(client, editor, jpeg_with_gps())
    # The EXIF orientation was applied (1500x1000 turned upright), then every tag dropped.
    assert (image["width"], image["height"]) == (1000, 1500)
    assert image["content_type"] == "image/jpeg"
    assert [v["width"] for v in image["variants"]] == [320, 640, 1000]  # never upscaled
    assert image["url"] == f"/media/{image['id']}/1000.jpg"
    files = stored_files(services)
    assert len(files) == 3
    for path in files:
        raw = path.read_bytes()
        opened = Image.open(path)
        assert not opened.getexif()
        assert not opened.getexif().get_ifd(GPS_IFD)
        assert "exif" not in opened.info and "icc_profile" not in opened.info and "comment" not in opened.info
        assert b"Spy Camera" not in raw and b"secret note" not in raw and b"Exif" not in raw
        assert path.name == f"{__import__('hashlib').sha256(raw).hexdigest()}.jpg"  # content-addressed
    # The id is the hash of the largest rendition.
    largest = next(v for v in image["variants"] if v["width"] == 1000)
    assert image["id"] == largest["sha256"]
    # Served with the stored type, nosniff, a policy that runs nothing, and a long cache.
    served = await client.get(largest["url"])
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"].startswith("default-src 'none'")
    assert "immutable" in served.headers["cache-control"]
    assert Image.open(io.BytesIO(served.content)).size == (1000, 1500)
    # The same image twice is the same image.
    again = await uploaded(client, editor, jpeg_with_gps())
    assert again["id"] == image["id"]
    assert (await client.get(f"{MEDIA}/{image['id']}")).json()["id"] == image["id"]


async def test_a_small_image_is_kept_at_its_size_and_a_gif_keeps_its_first_frame(
    client: httpx.AsyncClient, editor: dict[str, str]
) -> None:
    small = await uploaded(client, editor, png((200, 100)))
    assert [v["width"] for v in small["variants"]] == [200]
    assert small["content_type"] == "image/png"
    frames = [Image.new("P", (60, 40), colour) for colour in (1, 2, 3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    gif = await uploaded(client, editor, out.getvalue())
    assert gif["content_type"] == "image/png" and (gif["width"], gif["height"]) == (60, 40)
    webp = io.BytesIO()
    Image.new("RGB", (700, 350)).save(webp, "WEBP")
    assert [v["width"] for v in (await uploaded(client, editor, webp.getvalue()))["variants"]] == [
        320,
        640,
        700,
    ]


async def test_hostile_files_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient, editor: dict[str, str], services: Services, database: Database
) -> None:
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    cases: list[tuple[bytes, str, int, str]] = [
        (b"this is not a PNG at all", "image/png", 415, "not a JPEG, PNG, WebP or GIF"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "image/png", 422, "cannot be read as one"),
        (png()[:60], "image/png", 422, ""),  # truncated
        (bomb(), "image/png", 422, "pixels"),
        (b"", "image/png", 422, "empty"),
        (svg, "image/svg+xml", 415, "SVG"),
        (b"<svg onload=alert(1)>", "image/png", 415, "SVG"),
        (b"%PDF-1.4\n", "image/jpeg", 415, "not a JPEG"),
        (b"GIF89a" + b"\xff" * 20, "image/gif", 422, ""),
    ]
    for data, content_type, status, words in cases:
        response = await upload(client, editor, data, name="x.png", content_type=content_type)
        problem = assert_problem(response, status)
        assert words in problem["detail"], (data[:20], problem)
    assert stored_files(services) == []
    async with database.read() as connection:
        assert await store.every(connection) == []


async def test_an_oversized_upload_is_413(
    client: httpx.AsyncClient, editor: dict[str, str], services: Services
) -> None:
    limit = services.settings.media_max_bytes
    response = await upload(client, editor, b"\xff\xd8" + b"\x00" * (limit + 1))
    assert_problem(response, 413)
    # Just over the file limit but within the body allowance: refused by the route itself.
    object.__setattr__(services.settings, "media_max_bytes", 4096)
    try:
        assert_problem(await upload(client, editor, png((300, 300), "RGB") + b"\x00" * 5000), 413)
    finally:
        object.__setattr__(services.settings, "media_max_bytes", limit)
    assert stored_files(services) == []


async def test_who_may_upload(
    client: httpx.AsyncClient, database: Database, auditor: dict[str, str], admin: dict[str, str]
) -> None:
    assert_problem(await upload(client, {}, png()), 401)
    assert_problem(await upload(client, {"Authorization": "Bearer nonsense"}, png()), 401)
    assert_problem(await upload(client, auditor, png()), 403)
    consumer = {"Authorization": f"Bearer {await make_token(database, Role.CONSUMER, 'CMS')}"}
    assert_problem(await upload(client, consumer, png()), 403)
    assert (await upload(client, admin, png())).status_code == 201
    contributor = {"Authorization": f"Bearer {await make_token(database, Role.CONTRIBUTOR, 'Field')}"}
    assert (await upload(client, contributor, png((20, 20)))).status_code == 201
    # Not a multipart upload, or no `file` field: 422.
    assert_problem(await client.post(MEDIA, json={"file": "x"}, headers=admin), 422)
    assert_problem(await client.post(MEDIA, files={"other": ("a", b"x")}, headers=admin), 422)


async def test_an_update_shows_an_uploaded_image_by_id(
    client: httpx.AsyncClient, editor: dict[str, str], auditor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    image = await uploaded(client, editor, jpeg_with_gps())
    update = await post_update(
        client,
        editor,
        media=[{"kind": "image", "id": image["id"], "alt": "Two men on a bench", "caption": "At the checkpoint", "credit": "Photo: Agency"},
               {"kind": "link", "url": "https://example.org/statement", "caption": "The statement"}],
    )  # fmt: skip
    shown, legacy = update["media"]
    assert shown == {
        "kind": "image",
        "id": image["id"],
        "url": image["url"],
        "alt": "Two men on a bench",
        "caption": "At the checkpoint",
        "credit": "Photo: Agency",
        "content_type": "image/jpeg",
        "width": 1000,
        "height": 1500,
        "variants": [{"width": v["width"], "url": v["url"]} for v in image["variants"]],
    }
    assert legacy == {"kind": "link", "url": "https://example.org/statement", "caption": "The statement"}
    page = (await client.get("/stories/border-raid")).text
    assert f'src="/media/{image["id"]}/640.jpg"' in page
    assert f"/media/{image['id']}/320.jpg 320w" in page and 'alt="Two men on a bench"' in page
    assert 'loading="lazy" width="1000" height="1500"' in page
    assert 'At the checkpoint — <span class="credit">Photo: Agency</span>' in page
    fragment = (await client.get("/stories/border-raid/fragment")).text
    assert f'srcset="http://testserver/media/{image["id"]}/320.jpg 320w' in fragment
    # The event records the image's id (the hash of its bytes) and facts.
    events = (await client.get("/api/v1/stories/border-raid/events", headers=auditor)).json()["items"]
    recorded = events[-1]["data"]["media"][0]
    assert recorded["id"] == image["id"] and recorded["widths"] == [320, 640, 1000]
    # Unknown ids, a url with an id, no alt: 422, nothing recorded.
    before = await event_count(database)
    for item in (
        {"kind": "image", "id": "0" * 64, "alt": "x"},
        {"kind": "image", "id": image["id"]},
        {"kind": "image", "id": image["id"], "alt": " "},
        {"kind": "image", "id": image["id"], "alt": "x" * 301},
        {"kind": "image", "id": image["id"], "alt": "x", "url": "https://example.org/a.jpg"},
        {"kind": "video", "id": image["id"], "alt": "x"},
        {"kind": "image", "id": "../../etc/passwd", "alt": "x"},
        {"kind": "image"},
    ):
        response = await client.post(UPDATES, json={"body": "x", "media": [item]}, headers=editor)
        assert_problem(response, 422)
    assert await event_count(database) == before
    # A correction can swap the image; an unknown id there is refused too.
    second = await uploaded(client, editor, png((800, 400), "RGB"))
    correct = f"{UPDATES}/{update['id']}/corrections"
    refused = await client.post(
        correct,
        json={
            "changes": {"media": [{"kind": "image", "id": "f" * 64, "alt": "y"}]},
            "kind": "minor",
            "reason": "r",
        },
        headers=editor,
    )
    assert_problem(refused, 422)
    corrected = await client.post(
        correct,
        json={"changes": {"media": [{"kind": "image", "id": second["id"], "alt": "A map"}]}, "kind": "minor", "reason": "r"},
        headers=editor,
    )  # fmt: skip
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["media"][0]["content_type"] == "image/png"


async def test_markdown_images_only_from_this_server(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    await open_story(client, editor)
    image = await uploaded(client, editor, png((700, 300), "RGB"))
    own = image["variants"][1]["url"]
    update = await post_update(client, editor, body=f"Look: ![the map]({own})")
    assert f'<img src="{own}" alt="the map" loading="lazy">' in update["body_html"]
    before = await event_count(database)
    for body in (
        "![tracker](https://evil.example/pixel.gif)",
        "![ref][x]\n\n[x]: https://evil.example/a.png",
        "![rel](/static/liveblog.css)",
        f"![scheme-relative](//evil.example{own})",
        f"![abs](http://testserver{own})",
    ):
        problem = assert_problem(await client.post(UPDATES, json={"body": body}, headers=editor), 422)
        assert "not from this server" in problem["detail"], body
    for body in (
        f"![unknown](/media/{'a' * 64}/640.png)",
        f"![wrong width](/media/{image['id']}/999.png)",
        f"![wrong type](/media/{image['id']}/640.jpg)",
    ):
        problem = assert_problem(await client.post(UPDATES, json={"body": body}, headers=editor), 422)
        assert "names no image" in problem["detail"], body
    # A correction's body is held to the same rule.
    response = await client.post(
        f"{UPDATES}/{update['id']}/corrections",
        json={"changes": {"body": "![x](https://evil.example/x.png)"}, "kind": "minor", "reason": "r"},
        headers=editor,
    )
    assert_problem(response, 422)
    assert await event_count(database) == before


async def test_serving_unknown_media_is_404(client: httpx.AsyncClient, editor: dict[str, str]) -> None:
    image = await uploaded(client, editor, png())
    for path in (
        f"/media/{'0' * 64}/200.png",
        f"/media/{image['id']}/201.png",
        f"/media/{image['id']}/200.jpg",
        f"/media/{image['id']}/200.svg",
        "/media/..%2F..%2Fetc/200.png",
        f"{MEDIA}/{'0' * 64}",
    ):
        response = await client.get(path)
        assert response.status_code in (404, 422), path
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_a_submission_and_its_approval_take_uploaded_images_by_id_only(
    client: httpx.AsyncClient, editor: dict[str, str], database: Database
) -> None:
    """A reporter's photo goes through the queue like an editor's: unknown ids and foreign
    Markdown images are refused at submission and at approval, nothing recorded."""
    await open_story(client, editor)
    reporter = {"Authorization": f"Bearer {await make_token(database, Role.CONTRIBUTOR, 'Field')}"}
    image = await uploaded(client, reporter, png((400, 300), "RGB"))
    queue = "/api/v1/stories/border-raid/submissions"
    before = await event_count(database)
    for body in (
        {"body": "x", "media": [{"kind": "image", "id": "e" * 64, "alt": "x"}]},
        {"body": "![x](https://example.org/x.png)"},
    ):
        assert_problem(await client.post(queue, json=body, headers=reporter), 422)
    assert await event_count(database) == before
    photo = {"kind": "image", "id": image["id"], "alt": "The checkpoint at dawn"}
    submitted = await client.post(
        queue, json={"body": "At the checkpoint.", "media": [photo]}, headers=reporter
    )
    assert submitted.status_code == 201, submitted.text
    approval = f"{queue}/{submitted.json()['id']}/approval"
    unknown = {"changes": {"media": [{"kind": "image", "id": "d" * 64, "alt": "y"}]}}
    assert_problem(await client.post(approval, json=unknown, headers=editor), 422)
    approved = await client.post(approval, headers=editor)
    assert approved.status_code == 201, approved.text
    assert approved.json()["media"][0]["id"] == image["id"]
    assert approved.json()["media"][0]["alt"] == "The checkpoint at dawn"
