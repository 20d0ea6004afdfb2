"""Taking in an image: process it (off the event loop), write its files, record its row.

The one way an image enters liveblog, for the API route and for anything else that adds one
(a demo, an import): :func:`store`.
"""

from __future__ import annotations

from datetime import datetime

import anyio
import anyio.to_thread

from liveblog.media import images
from liveblog.store import media as store_media
from liveblog.store.database import Database


def _write_files(files: store_media.MediaFiles, processed: images.ProcessedImage) -> None:
    for rendition in processed.renditions:
        files.write(rendition.sha256, processed.extension, rendition.data)


async def store(
    database: Database,
    files: store_media.MediaFiles,
    data: bytes,
    *,
    uploaded_by: str,
    now: datetime,
    limiter: anyio.CapacityLimiter | None = None,
) -> store_media.StoredMedia:
    """``data`` made safe (:func:`liveblog.media.images.process`, in a worker thread under
    ``limiter``), its files written, its row recorded; the image as recorded (the first
    upload's row if the same image was stored before). Raises what ``process`` raises."""
    processed = await anyio.to_thread.run_sync(images.process, data, limiter=limiter)
    await anyio.to_thread.run_sync(_write_files, files, processed)
    item = store_media.StoredMedia(
        id=processed.id,
        content_type=processed.content_type,
        width=processed.width,
        height=processed.height,
        renditions=tuple(
            store_media.StoredRendition(r.width, r.height, r.sha256, len(r.data))
            for r in processed.renditions
        ),
        uploaded_by=uploaded_by,
        created_at=now,
    )
    async with database.write() as connection:
        return await store_media.add(connection, item)
