"""What the log says about uploaded images: checking an update's references, and finding
(and removing) the images nothing refers to any more.

- :func:`resolve` is the one check a new update, or a correction, passes before it is
  decided: each ``media[]`` item with an ``id`` must name an uploaded image (else
  :class:`~liveblog.errors.UnknownMedia`, 422), and gets the image's recorded facts
  (``content_type``, ``width``, ``height``, ``widths``); each Markdown image in the body must be
  one of liveblog's own media URLs of an uploaded image in a stored width (else
  :class:`~liveblog.errors.ForeignImage` or ``UnknownMedia``, 422, saying why).
- An image is **referenced** while its id appears in the ``data`` of any event of any story
  (a ``media[]`` item or a Markdown URL, in any version of an update, corrected away or not).
  A redaction removes the redacted update's media and body from its events' data, so an
  image only a redacted update used is referenced no more: :func:`forget_unreferenced`
  then deletes it (row and files) right after the redaction commits.
- :func:`collect_garbage` (``liveblog media gc``) removes every image nothing references
  that is older than a grace period (an upload not yet used in an update is young), and
  every file that no image's row names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from liveblog.domain.values import Media
from liveblog.errors import ForeignImage, UnknownMedia
from liveblog.projections.rendering import OWN_MEDIA_URL, image_urls
from liveblog.store import media as store
from liveblog.store.database import Database
from liveblog.store.tables import events

_HEX_ID = re.compile(r"[0-9a-f]{64}")
SCAN_PAGE = 500
GRACE = timedelta(hours=24)

Progress = Callable[[int, int], None]


def _quiet(_done: int, _total: int) -> None:
    return None


async def resolve(
    database: Database, media: Sequence[Media] | None, bodies: Iterable[str | None] = ()
) -> tuple[Media, ...] | None:
    """``media`` with each uploaded image's recorded facts filled in, after checking it and
    the Markdown images of ``bodies`` (see the module docstring). ``None`` stays ``None``."""
    ids = [item.id for item in media or () if item.id is not None]
    markdown: list[tuple[str, str, int, str]] = []
    for body in bodies:
        for url in image_urls(body or ""):
            match = OWN_MEDIA_URL.match(url)
            if match is None:
                raise ForeignImage(
                    f"body: the image {url!r} is not from this server; images in Markdown must be "
                    "liveblog's own media: upload it (POST /api/v1/media) and use one of its "
                    "`variants` URLs (/media/{id}/{width}.{ext}), or attach it in `media` by `id`"
                )
            markdown.append((url, match.group(1), int(match.group(2)), match.group(3)))
    if not ids and not markdown:
        return None if media is None else tuple(media)
    async with database.read() as connection:
        known = await store.get_many(connection, [*ids, *(m[1] for m in markdown)])
    for url, media_id, width, extension in markdown:
        image = known.get(media_id)
        if image is None or image.rendition(width) is None or image.extension != extension:
            raise UnknownMedia(f"body: the image {url!r} names no image uploaded to this server")
    if media is None:
        return None
    resolved = []
    for index, item in enumerate(media):
        if item.id is None:
            resolved.append(item)
            continue
        image = known.get(item.id)
        if image is None:
            raise UnknownMedia(
                f"media[{index}].id: no image {item.id!r} was uploaded to this server (POST /api/v1/media)"
            )
        resolved.append(
            item.model_copy(
                update={
                    "content_type": image.content_type,
                    "width": image.width,
                    "height": image.height,
                    "widths": image.widths,
                }
            )
        )
    return tuple(resolved)


async def referenced(
    database: Database, among: set[str] | None = None, *, progress: Progress = _quiet
) -> set[str]:
    """The image ids (of ``among``, or any) that some event's data mentions, read a page of
    the log at a time; ``progress(events read, events in all)``."""
    found: set[str] = set()
    async with database.read() as connection:
        total = int((await connection.execute(select(func.count()).select_from(events))).scalar_one())
        after = 0
        done = 0
        while True:
            rows = (
                await connection.execute(
                    select(events.c.position, events.c.data)
                    .where(events.c.position > after)
                    .order_by(events.c.position)
                    .limit(SCAN_PAGE)
                )
            ).all()
            if not rows:
                break
            for row in rows:
                for media_id in _HEX_ID.findall(str(row.data)):
                    if among is None or media_id in among:
                        found.add(media_id)
            after = rows[-1].position
            done += len(rows)
            progress(done, total)
    return found


async def _delete(database: Database, files: store.MediaFiles, image: store.StoredMedia) -> int:
    """Remove ``image``'s row, then those of its files no other image names; files removed."""
    async with database.write() as connection:
        await store.remove(connection, image.id)
        others = await store.every(connection)
    kept = {r.sha256 for other in others for r in other.renditions}
    return sum(files.delete(r.sha256, image.extension) for r in image.renditions if r.sha256 not in kept)


async def forget_unreferenced(database: Database, files: store.MediaFiles, candidates: set[str]) -> list[str]:
    """Delete those of ``candidates`` that no event references any more; their ids."""
    if not candidates:
        return []
    still = await referenced(database, candidates)
    async with database.read() as connection:
        images = await store.get_many(connection, sorted(candidates - still))
    for image in images.values():
        await _delete(database, files, image)
    return sorted(images)


def mentioned(data: Iterable[object]) -> set[str]:
    """The 64-hex ids mentioned anywhere in ``data`` (events' data documents)."""
    return {media_id for document in data for media_id in _HEX_ID.findall(str(document))}


@dataclass(slots=True)
class Collected:
    """What :func:`collect_garbage` removed (or, in a dry run, would remove)."""

    images: list[str] = field(default_factory=list)
    files: int = 0
    stray_files: list[str] = field(default_factory=list)
    kept: int = 0


async def collect_garbage(
    database: Database,
    files: store.MediaFiles,
    *,
    now: datetime,
    grace: timedelta = GRACE,
    dry_run: bool = False,
    progress: Progress = _quiet,
) -> Collected:
    """Remove the images no event references that were uploaded more than ``grace`` before
    ``now``, and the files no image names (older than ``grace`` too); see the module docstring."""
    report = Collected()
    async with database.read() as connection:
        images = await store.every(connection)
    used = await referenced(database, {image.id for image in images}, progress=progress)
    for image in images:
        if image.id in used or now - image.created_at < grace:
            report.kept += 1
            continue
        report.images.append(image.id)
        if dry_run:
            report.files += len(image.renditions)
        else:
            report.files += await _delete(database, files, image)
    async with database.read() as connection:
        named = {
            files.path(r.sha256, image.extension)
            for image in await store.every(connection)
            for r in image.renditions
        }
    for path in files.files():
        if path in named or now.timestamp() - path.stat().st_mtime < grace.total_seconds():
            continue
        report.stray_files.append(str(path))
        if not dry_run:
            path.unlink(missing_ok=True)
    return report
