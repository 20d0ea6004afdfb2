"""liveblog.media.images: whatever metadata comes in, none goes out; the pixels stand upright;
every mode and format an upload may use is stored in one of three types."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from liveblog.errors import InvalidImage, UnsupportedMediaType
from liveblog.media.images import MAX_PIXELS, process, rendition_widths

XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description GPSLatitude="50,35N"/></rdf:RDF></x:xmpmeta>'
FAKE_ICC = b"\x00" * 128  # not parsed: only carried


def encoded(image: Image.Image, image_format: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **options)
    return out.getvalue()


def clean(data: bytes) -> None:
    for marker in (b"Exif", b"GPS", b"xmpmeta", b"Spy", b"secret"):
        assert marker not in data, marker
    opened = Image.open(io.BytesIO(data))
    assert not opened.getexif()
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(opened.info)
    assert not getattr(opened, "text", {})


def exif_with_gps(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Spy Camera"
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (50.0, 35.0, 1.0)}
    return exif.tobytes()


@pytest.mark.parametrize(
    ("image_format", "mode", "stored"),
    [
        ("JPEG", "RGB", "image/jpeg"),
        ("JPEG", "L", "image/jpeg"),
        ("JPEG", "CMYK", "image/jpeg"),
        ("WEBP", "RGB", "image/webp"),
        ("WEBP", "RGBA", "image/webp"),
        ("PNG", "RGBA", "image/png"),
        ("PNG", "LA", "image/png"),
        ("PNG", "I;16", "image/png"),
        ("PNG", "P", "image/png"),
        ("GIF", "P", "image/png"),
    ],
)
def test_every_mode_is_stored_without_metadata(image_format: str, mode: str, stored: str) -> None:
    image = Image.new(mode, (50, 30))
    options: dict[str, object] = {}
    if image_format in ("JPEG", "WEBP"):
        options = {"exif": exif_with_gps(), "icc_profile": FAKE_ICC, "xmp": XMP}
    elif image_format == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("Comment", "secret note")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        options = {"pnginfo": info, "exif": exif_with_gps()}
    if image_format == "JPEG":
        options["comment"] = b"secret"
    processed = process(encoded(image, image_format, **options))
    assert processed.content_type == stored
    assert (processed.width, processed.height) == (50, 30)
    for rendition in processed.renditions:
        clean(rendition.data)


def test_the_orientation_is_applied_before_the_tags_go() -> None:
    image = Image.new("RGB", (40, 20))
    image.paste((255, 0, 0), (0, 0, 20, 20))  # the left half red
    processed = process(encoded(image, "JPEG", exif=exif_with_gps(orientation=6)))  # 90° clockwise
    assert (processed.width, processed.height) == (20, 40)
    upright = Image.open(io.BytesIO(processed.renditions[-1].data)).convert("RGB")
    red, _, _ = upright.getpixel((10, 5))  # the red half is on top now
    assert isinstance(red, int) and red > 200
    clean(processed.renditions[-1].data)


def test_a_transparent_palette_keeps_its_transparency() -> None:
    image = Image.new("P", (10, 10), 0)
    processed = process(encoded(image, "PNG", transparency=0))
    assert Image.open(io.BytesIO(processed.renditions[0].data)).mode == "RGBA"


def test_widths_are_never_upscaled() -> None:
    assert rendition_widths(100) == (100,)
    assert rendition_widths(320) == (320,)
    assert rendition_widths(321) == (320, 321)
    assert rendition_widths(5000) == (320, 640, 1280, 2048)
    processed = process(encoded(Image.new("RGB", (3000, 1500)), "PNG"))
    assert [(r.width, r.height) for r in processed.renditions] == [
        (320, 160),
        (640, 320),
        (1280, 640),
        (2048, 1024),
    ]
    assert processed.id == processed.renditions[-1].sha256


def test_refusals() -> None:
    with pytest.raises(InvalidImage, match="empty"):
        process(b"")
    with pytest.raises(UnsupportedMediaType, match="SVG"):
        process(b"\xef\xbb\xbf  <svg><script>x</script></svg>")
    with pytest.raises(UnsupportedMediaType):
        process(encoded(Image.new("RGB", (5, 5)), "BMP"))
    with pytest.raises(UnsupportedMediaType):
        process(encoded(Image.new("RGB", (5, 5)), "TIFF"))
    with pytest.raises(InvalidImage, match="starts as a JPEG"):
        process(b"\xff\xd8\xff" + b"\x00" * 100)
    with pytest.raises(InvalidImage):
        process(b"RIFF\x00\x00\x00\x00WEBPVP8 ")
    whole = encoded(Image.new("RGB", (400, 400), (1, 2, 3)), "JPEG")
    with pytest.raises(InvalidImage):
        process(whole[: len(whole) // 2])
    # Just over the pixel bound (below Pillow's own bomb check): refused from the header.
    side = int(MAX_PIXELS**0.5) + 1
    header_only = bytearray(encoded(Image.new("1", (1, 1)), "PNG"))
    header_only[16:24] = struct.pack(">II", side, side)
    header_only[29:33] = struct.pack(">I", zlib.crc32(bytes(header_only[12:29])))
    with pytest.raises(InvalidImage, match="decompression bomb"):
        process(bytes(header_only))
