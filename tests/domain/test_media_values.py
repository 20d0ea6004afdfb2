"""The media item of an update: a link elsewhere (``url``) or an uploaded image (``id`` + ``alt``)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from liveblog.domain.values import STORED, Media, MediaKind

IMAGE_ID = "ab" * 32


def test_a_link_needs_a_url() -> None:
    assert Media(kind=MediaKind.LINK, url="https://example.org/a").url == "https://example.org/a"
    with pytest.raises(ValidationError, match="needs a `url`"):
        Media(kind=MediaKind.LINK)


def test_an_uploaded_image_needs_alt_text_and_no_url() -> None:
    image = Media(kind=MediaKind.IMAGE, id=IMAGE_ID, alt="A bench", credit="Agency")
    assert (image.alt, image.credit, image.url) == ("A bench", "Agency", None)
    with pytest.raises(ValidationError, match="alt"):
        Media(kind=MediaKind.IMAGE, id=IMAGE_ID)
    with pytest.raises(ValidationError, match="alone"):
        Media(kind=MediaKind.IMAGE, id=IMAGE_ID, alt="x", url="https://example.org/a.jpg")
    with pytest.raises(ValidationError, match="kind must be `image`"):
        Media(kind=MediaKind.VIDEO, id=IMAGE_ID, alt="x")
    with pytest.raises(ValidationError):
        Media(kind=MediaKind.IMAGE, id="not-a-hash", alt="x")


def test_what_was_recorded_is_read_back_as_it_is() -> None:
    recorded = Media.model_validate({"kind": "image", "id": IMAGE_ID}, context=STORED)
    assert recorded.alt is None
