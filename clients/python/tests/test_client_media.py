"""Images through the client: ``upload(path)`` and ``liveblog-client upload``, then an update
showing the image by id (``post --image 'ID ALT'``); a file that is no image is an error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from lbc_support import Server, run_client
from PIL import Image

from liveblog_client import ApiError, Client, NewStory, NewUpdate, ValidationFailed
from liveblog_client.models import Media, MediaKind


def photo(path: Path, size: tuple[int, int] = (900, 600)) -> Path:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (50.0, 35.0, 47.0)}
    out = io.BytesIO()
    Image.new("RGB", size, (90, 20, 20)).save(out, "JPEG", exif=exif.tobytes())
    path.write_bytes(out.getvalue())
    return path


def test_upload_and_show_an_image(lb_server: Server, lb_slug: str, tmp_path: Path) -> None:
    editor = lb_server.token("editor")
    with Client(lb_server.url, editor) as client:
        client.open_story(NewStory(title="Images", slug=lb_slug, publish=True))
        uploaded = client.upload(photo(tmp_path / "photo.jpg"))
        assert (uploaded.width, uploaded.height, uploaded.content_type) == (900, 600, "image/jpeg")
        assert [v.width for v in uploaded.variants] == [320, 640, 900]
        update = client.post_update(
            lb_slug,
            NewUpdate(body="A still.", media=[Media(kind=MediaKind.IMAGE, id=uploaded.id, alt="A bench", credit="Agency")]),
        )  # fmt: skip
        shown = update.media[0]
        assert (shown.id, shown.alt, shown.credit, shown.url) == (
            uploaded.id,
            "A bench",
            "Agency",
            uploaded.url,
        )
        (tmp_path / "fake.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
        with pytest.raises(ValidationFailed):
            client.upload(tmp_path / "fake.png")
        (tmp_path / "x.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
        with pytest.raises(ApiError) as refused:
            client.upload(tmp_path / "x.svg")
        assert refused.value.status == 415


def test_the_upload_command(lb_server: Server, lb_slug: str, tmp_path: Path) -> None:
    editor = lb_server.token("editor")
    run_client(
        "open", "Images from the shell", "--slug", lb_slug, "--publish", server=lb_server, token=editor
    )
    done = run_client("upload", str(photo(tmp_path / "p.jpg", (700, 400))), server=lb_server, token=editor)
    assert done.returncode == 0, done.stderr
    media_id = done.stdout.strip()
    assert len(media_id) == 64
    posted = run_client(
        "post", lb_slug, "Seen at the border.", "--image", f"{media_id} A checkpoint at night",
        server=lb_server, token=editor,
    )  # fmt: skip
    assert posted.returncode == 0, posted.stderr
    with Client(lb_server.url) as reader:
        update = reader.update(lb_slug, posted.stdout.strip())
    assert update.media[0].alt == "A checkpoint at night"
    refused = run_client("upload", str(tmp_path / "p.jpg"), server=lb_server)  # no token
    assert refused.returncode != 0
    (tmp_path / "empty.gif").write_bytes(b"")
    empty = run_client("upload", str(tmp_path / "empty.gif"), server=lb_server, token=editor)
    assert empty.returncode != 0 and "empty" in empty.stderr
