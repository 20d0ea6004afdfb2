"""Uploaded bytes to safe images: check the format, strip every piece of metadata, resize.

:func:`process` is the whole contract, and is pure (bytes in, bytes out; no disk, no clock):

- the **format** is what the bytes are (Pillow reads their signature), never what the client
  says (its ``Content-Type`` or file name): JPEG, PNG, WebP and GIF are accepted; anything
  else (SVG above all, which can carry script; HEIC, TIFF, BMP, PDF, text) is
  :class:`~liveblog.errors.UnsupportedMediaType` (415);
- the bytes must **decode**: ``verify()`` first (the file's structure and checksums), then a
  fresh open that decodes the pixels; an empty, truncated or corrupt file is
  :class:`~liveblog.errors.InvalidImage` (422);
- a **decompression bomb** (a small file that declares huge dimensions) is refused from its
  header, before a pixel is decoded: more than :data:`MAX_PIXELS` pixels, or a side longer than
  :data:`MAX_SIDE`, is :class:`~liveblog.errors.InvalidImage`. The limit is below Pillow's own
  ``MAX_IMAGE_PIXELS``, so its ``DecompressionBombWarning`` is never reached by an image that
  is accepted, and its ``DecompressionBombError`` is an ``InvalidImage`` too;
- **metadata** goes, all of it: EXIF (GPS position, camera serial, time), XMP, IPTC, comments,
  PNG text chunks and the ICC profile (a device's profile can identify it; pixels are kept as
  they are, read as sRGB). The EXIF orientation is applied to the pixels first, so the image
  stands as the photographer saw it. The pixels are copied into a new image that holds
  nothing else, and that is what is encoded;
- an **animated GIF** keeps its first frame only (stored as a still PNG, as every GIF is);
- it is **re-encoded** (JPEG and WebP at quality :data:`QUALITY`, PNG losslessly) in the widths
  of :data:`WIDTHS` narrower than the image, plus the image's own width capped at
  :data:`MAX_WIDTH`; never upscaled.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from liveblog.errors import InvalidImage, UnsupportedMediaType

WIDTHS = (320, 640, 1280)
MAX_WIDTH = 2048
MAX_PIXELS = 40_000_000
MAX_SIDE = 20_000
QUALITY = 85

ACCEPTED = ("JPEG", "PNG", "WEBP", "GIF")
_STORED_AS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "GIF": "PNG"}
CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


@dataclass(frozen=True, slots=True)
class Rendition:
    """One stored width of an image: its encoded bytes and their SHA-256 (hex)."""

    width: int
    height: int
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class ProcessedImage:
    """An upload made safe: its stored type and size, and its renditions, narrowest first."""

    content_type: str
    width: int
    height: int
    renditions: tuple[Rendition, ...]

    @property
    def id(self) -> str:
        """The image's id: the SHA-256 of its largest rendition (content-addressed)."""
        return self.renditions[-1].sha256

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.content_type]


def _looks_like_markup(data: bytes) -> bool:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<?xml", b"<svg", b"<!doctype", b"<html")) or b"<svg" in data[:4096].lower()


_SIGNATURES = {
    "PNG": (b"\x89PNG\r\n\x1a\n",),
    "JPEG": (b"\xff\xd8\xff",),
    "GIF": (b"GIF87a", b"GIF89a"),
}


def _claimed_format(data: bytes) -> str | None:
    """The accepted format whose signature ``data`` starts with, if any."""
    for name, signatures in _SIGNATURES.items():
        if data.startswith(signatures):
            return name
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _open(data: bytes) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=ACCEPTED)
    except UnidentifiedImageError as exc:
        claimed = _claimed_format(data)
        if claimed is not None:
            raise InvalidImage(
                f"the file starts as a {claimed} but cannot be read as one (damaged or forged)"
            ) from exc
        if _looks_like_markup(data):
            raise UnsupportedMediaType(
                "SVG and other markup are refused (they can carry script): upload JPEG, PNG, WebP or GIF"
            ) from exc
        raise UnsupportedMediaType(
            "the file is not a JPEG, PNG, WebP or GIF image (its bytes are what counts, not its name or type)"
        ) from exc
    except Image.DecompressionBombError as exc:
        raise InvalidImage(f"the image declares too many pixels (at most {MAX_PIXELS:,})") from exc
    except Exception as exc:  # hostile bytes make Pillow raise all sorts; none of them is ours
        raise InvalidImage(f"the image cannot be read: {type(exc).__name__}") from exc


def _check_dimensions(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1 or width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise InvalidImage(
            f"the image declares {width}x{height} pixels: at most {MAX_PIXELS:,} pixels and "
            f"{MAX_SIDE:,} on a side are accepted (a larger declaration is a decompression bomb)"
        )


def _decoded(data: bytes) -> tuple[Image.Image, str]:
    """The first frame of the image in ``data``, decoded, with its format."""
    if not data:
        raise InvalidImage("the file is empty (0 bytes)")
    probe = _open(data)
    _check_dimensions(probe)
    try:
        probe.verify()
    except Exception as exc:  # verify() reports damage in many exception types
        raise InvalidImage(f"the {probe.format} file is damaged or not what it claims: {exc}") from exc
    # verify() leaves the image unusable: decode from a fresh open.
    image = _open(data)
    image_format = str(image.format)
    _check_dimensions(image)
    try:
        image.seek(0)
        image.load()
        image = ImageOps.exif_transpose(image) or image
    except Image.DecompressionBombError as exc:
        raise InvalidImage(f"the image declares too many pixels (at most {MAX_PIXELS:,})") from exc
    except Exception as exc:
        raise InvalidImage(f"the {image_format} image cannot be decoded: {type(exc).__name__}") from exc
    _check_dimensions(image)
    return image, image_format


def _pixels_only(image: Image.Image, stored_as: str) -> Image.Image:
    """A new image holding ``image``'s pixels and nothing else (no EXIF, XMP, ICC, text)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    mode = "RGBA" if has_alpha and stored_as != "JPEG" else "RGB"
    converted = image.convert(mode)
    return Image.frombytes(mode, converted.size, converted.tobytes())


def _encode(image: Image.Image, stored_as: str) -> bytes:
    out = io.BytesIO()
    match stored_as:
        case "JPEG":
            image.save(out, "JPEG", quality=QUALITY, optimize=True)
        case "WEBP":
            image.save(out, "WEBP", quality=QUALITY, method=4)
        case _:
            image.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def rendition_widths(width: int) -> tuple[int, ...]:
    """The widths an image ``width`` pixels wide is stored in, ascending: never upscaled."""
    largest = min(width, MAX_WIDTH)
    return (*(w for w in WIDTHS if w < largest), largest)


def process(data: bytes) -> ProcessedImage:
    """``data`` as a safe image (see the module docstring), or InvalidImage /
    UnsupportedMediaType saying why not."""
    image, image_format = _decoded(data)
    stored_as = _STORED_AS[image_format]
    clean = _pixels_only(image, stored_as)
    width, height = clean.size
    renditions = []
    for target in rendition_widths(width):
        scaled = clean
        if target != width:
            target_height = max(1, round(height * target / width))
            scaled = clean.resize((target, target_height), Image.Resampling.LANCZOS, reducing_gap=3.0)
        renditions.append(Rendition(scaled.width, scaled.height, _encode(scaled, stored_as)))
    largest = renditions[-1]
    return ProcessedImage(
        content_type=CONTENT_TYPES[stored_as],
        width=largest.width,
        height=largest.height,
        renditions=tuple(renditions),
    )
