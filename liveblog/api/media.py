"""Uploaded images: ``POST /api/v1/media`` takes one, ``GET /media/{id}/{width}.{ext}`` serves it.

An upload (multipart, one field ``file``) is read whole, up to ``LIVEBLOG_MEDIA_MAX_BYTES``
(413 beyond; the body limit of this one route is that plus room for the multipart framing),
made safe by :func:`liveblog.media.images.process` in a worker thread (format from the bytes,
every piece of metadata stripped, renditions re-encoded), its files written content-addressed,
and its row recorded. The same image uploaded twice is the same image (its id is the hash of
its bytes): the answer is the one recorded first.

Served renditions carry the type liveblog stored (never one a client sent), ``nosniff``
(added to every response by :mod:`liveblog.api.security_headers`), ``Content-Security-Policy:
default-src 'none'; sandbox`` (should one ever be opened as a document, it can run nothing) and
a year's immutable caching: a URL names fixed bytes.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, File, Path, UploadFile
from starlette.responses import FileResponse, Response

from liveblog.api import http
from liveblog.api.auth import require
from liveblog.api.services import ServicesDep
from liveblog.domain.values import MEDIA_ID_PATTERN, rfc3339
from liveblog.errors import MediaNotFound, PayloadTooLarge
from liveblog.media import images
from liveblog.store import media as store
from liveblog.store.tokens import Actor, Role

router = APIRouter(tags=["media"])

UPLOAD_ROLES = (Role.EDITOR, Role.CONTRIBUTOR)
"""Who may upload (admins always may): a reporter in the field sends photos with a submission."""
MULTIPART_ALLOWANCE = 64 * 1024
"""Bytes beyond the file itself that an upload's body may hold (boundaries, part headers)."""
MEDIA_PATH = "/api/v1/media"
MEDIA_POLICY = "default-src 'none'; sandbox"
IMMUTABLE = "public, max-age=31536000, immutable"
READ_CHUNK = 256 * 1024


MediaIdPath = Annotated[
    str, Path(pattern=MEDIA_ID_PATTERN, description="the image's id (SHA-256 of its largest rendition)")
]


def rendition_url(media_id: str, width: int, extension: str) -> str:
    return f"/media/{media_id}/{width}.{extension}"


def media_json(item: store.StoredMedia) -> dict[str, Any]:
    """An uploaded image as the API shows it (docs/api.md, "Images")."""
    return {
        "id": item.id,
        "content_type": item.content_type,
        "width": item.width,
        "height": item.height,
        "url": rendition_url(item.id, item.width, item.extension),
        "variants": [
            {
                "width": r.width,
                "height": r.height,
                "bytes": r.bytes,
                "sha256": r.sha256,
                "url": rendition_url(item.id, r.width, item.extension),
            }
            for r in item.renditions
        ],
        "created_at": rfc3339(item.created_at),
    }


async def uploader(actor: Annotated[Actor, Depends(require(*UPLOAD_ROLES))], services: ServicesDep) -> Actor:
    """Who may upload, with write budget left (429 otherwise): an upload is a write."""
    services.write_rate.take(actor.id)
    return actor


async def _read_limited(file: UploadFile, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await file.read(READ_CHUNK):
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"images are limited to {limit} bytes (LIVEBLOG_MEDIA_MAX_BYTES)")
        chunks.append(chunk)
    return b"".join(chunks)


def _store_files(files: store.MediaFiles, processed: images.ProcessedImage) -> None:
    for rendition in processed.renditions:
        files.write(rendition.sha256, processed.extension, rendition.data)


@router.post(MEDIA_PATH, status_code=201)
async def upload_media(
    file: Annotated[UploadFile, File(description="the image: JPEG, PNG, WebP or GIF")],
    actor: Annotated[Actor, Depends(uploader)],
    services: ServicesDep,
) -> Response:
    """Upload an image; it is stored without any of its metadata, in a few widths."""
    data = await _read_limited(file, services.settings.media_max_bytes)
    processed = await anyio.to_thread.run_sync(images.process, data)
    files = store.MediaFiles(services.settings.media_dir)
    await anyio.to_thread.run_sync(_store_files, files, processed)
    item = store.StoredMedia(
        id=processed.id,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        renditions=tuple(
            store.StoredRendition(r.width, r.height, r.sha256, len(r.data)) for r in processed.renditions
        ),
        uploaded_by=actor.id,
        created_at=services.application.clock(),
    )
    async with services.database.write() as connection:
        item = await store.add(connection, item)
    return http.json_response(media_json(item), status=201, headers={"Location": f"{MEDIA_PATH}/{item.id}"})


async def _stored(services: ServicesDep, media_id: str) -> store.StoredMedia:
    async with services.database.read() as connection:
        item = await store.get(connection, media_id)
    if item is None:
        raise MediaNotFound(f"no image {media_id!r} is stored here")
    return item


@router.get(MEDIA_PATH + "/{media_id}")
async def get_media(media_id: MediaIdPath, services: ServicesDep) -> Response:
    """An uploaded image's facts and the URLs of its widths."""
    return http.json_response(media_json(await _stored(services, media_id)))


@router.get("/media/{media_id}/{width}.{extension}", include_in_schema=False)
async def serve_media(
    media_id: MediaIdPath,
    width: Annotated[int, Path(ge=1, le=100_000)],
    extension: Annotated[str, Path(pattern=r"^(jpg|png|webp)$")],
    services: ServicesDep,
) -> Response:
    item = await _stored(services, media_id)
    rendition = item.rendition(width)
    if rendition is None or item.extension != extension:
        raise MediaNotFound(f"image {media_id!r} is not stored as {width}.{extension}")
    path = store.MediaFiles(services.settings.media_dir).path(rendition.sha256, item.extension)
    if not path.is_file():
        raise MediaNotFound(f"image {media_id!r} has been removed")
    return FileResponse(
        path,
        media_type=item.content_type,
        headers={
            "Cache-Control": IMMUTABLE,
            "Content-Security-Policy": MEDIA_POLICY,
            "ETag": f'"{rendition.sha256}"',
            "Content-Disposition": "inline",
        },
    )
