"""Uploaded images: their rows (``media``) and their files, content-addressed on disk.

Each rendition of an image is one file, named by the SHA-256 (hex) of its bytes, under
``LIVEBLOG_MEDIA_DIR``: ``<dir>/<first two hex digits>/<sha256>.<ext>``. A file is written to a
temporary name and renamed into place, so a reader never sees half a file, and writing the
same bytes twice is harmless. The row (one per image, its id the SHA-256 of its largest
rendition) is written after its files: a crash between leaves files that no row names, which
``liveblog media gc`` removes.

An upload is not a story event: nothing here is in any story's log. What the log records
is an update's reference to an image (its id, which is the hash of its bytes).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from liveblog.store.tables import media as table

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class StoredRendition:
    width: int
    height: int
    sha256: str
    bytes: int


@dataclass(frozen=True, slots=True)
class StoredMedia:
    """An uploaded image as its row records it."""

    id: str
    content_type: str
    width: int
    height: int
    renditions: tuple[StoredRendition, ...]
    uploaded_by: str
    created_at: datetime

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]

    @property
    def widths(self) -> tuple[int, ...]:
        return tuple(r.width for r in self.renditions)

    def rendition(self, width: int) -> StoredRendition | None:
        return next((r for r in self.renditions if r.width == width), None)


def _from_row(row: Any) -> StoredMedia:
    return StoredMedia(
        id=row.id,
        content_type=row.content_type,
        width=row.width,
        height=row.height,
        renditions=tuple(
            StoredRendition(int(r["width"]), int(r["height"]), str(r["sha256"]), int(r["bytes"]))
            for r in row.renditions
        ),
        uploaded_by=row.uploaded_by,
        created_at=row.created_at,
    )


async def add(connection: AsyncConnection, item: StoredMedia) -> StoredMedia:
    """Record ``item``; if an image with its id (the same bytes) is recorded already, that
    one is kept and returned (its first uploader and time stay)."""
    existing = await get(connection, item.id)
    if existing is not None:
        return existing
    try:
        async with connection.begin_nested():
            await connection.execute(
                insert(table).values(
                    id=item.id,
                    content_type=item.content_type,
                    width=item.width,
                    height=item.height,
                    renditions=[
                        {"width": r.width, "height": r.height, "sha256": r.sha256, "bytes": r.bytes}
                        for r in item.renditions
                    ],
                    uploaded_by=item.uploaded_by,
                    created_at=item.created_at,
                )
            )
    except IntegrityError:  # the same image, uploaded at the same moment by another request
        existing = await get(connection, item.id)
        assert existing is not None
        return existing
    return item


async def get(connection: AsyncConnection, media_id: str) -> StoredMedia | None:
    row = (await connection.execute(select(table).where(table.c.id == media_id))).first()
    return None if row is None else _from_row(row)


async def get_many(connection: AsyncConnection, media_ids: Sequence[str]) -> dict[str, StoredMedia]:
    if not media_ids:
        return {}
    rows = await connection.execute(select(table).where(table.c.id.in_(sorted(set(media_ids)))))
    return {row.id: _from_row(row) for row in rows}


async def every(connection: AsyncConnection) -> list[StoredMedia]:
    rows = await connection.execute(select(table).order_by(table.c.created_at, table.c.id))
    return [_from_row(row) for row in rows]


async def remove(connection: AsyncConnection, media_id: str) -> None:
    await connection.execute(delete(table).where(table.c.id == media_id))


class MediaFiles:
    """The renditions' files under ``root`` (created when first written to)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str, extension: str) -> Path:
        return self.root / sha256[:2] / f"{sha256}.{extension}"

    def write(self, sha256: str, extension: str, data: bytes) -> Path:
        """Store ``data`` (whose SHA-256 is ``sha256``) unless it is there already."""
        target = self.path(sha256, extension)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, 0o644)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target

    def delete(self, sha256: str, extension: str) -> bool:
        """Remove a file; whether there was one."""
        target = self.path(sha256, extension)
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        return True

    def files(self) -> Iterator[Path]:
        """Every stored file (not the temporary ones of writes under way)."""
        if not self.root.is_dir():
            return
        for folder in sorted(self.root.iterdir()):
            if folder.is_dir() and len(folder.name) == 2:
                for file in sorted(folder.iterdir()):
                    if file.is_file() and not file.name.startswith("."):
                        yield file
