"""Social embeds in the client: the CLI's ``--media 'embed URL [CAPTION]'``, an Update's embed
read with its provider and frame URL, shown with its provider, and sent back without the
frame URL (which the server does not accept)."""

from __future__ import annotations

from rich.console import Console

from liveblog_client.bodies import Changes
from liveblog_client.cli.newsroom import media
from liveblog_client.cli.render import update_view
from liveblog_client.models import MediaKind, Update

EMBED = {
    "kind": "embed",
    "url": "https://t.me/legionoffreedom/5",
    "caption": "Their post",
    "provider": "telegram",
    "embed_url": "https://t.me/legionoffreedom/5?embed=1",
}
UPDATE = {
    "id": "u1",
    "story": "hand-built",
    "revision": 1,
    "status": "published",
    "body": "A post.",
    "body_html": "<p>A post.</p>",
    "byline": None,
    "author": {"name": "Live desk"},
    "sources": [],
    "media": [EMBED],
    "verification": None,
    "key_event": False,
    "pinned": False,
    "occurred_at": None,
    "published_at": "2026-12-01T10:03:00Z",
    "revised_at": "2026-12-01T10:03:00Z",
    "notes": [],
    "retraction": None,
}


def test_the_media_option_takes_an_embed() -> None:
    item = media("embed https://t.me/s/legionoffreedom/5 Their post")
    assert (item.kind, item.url, item.caption) == (
        MediaKind.EMBED,
        "https://t.me/s/legionoffreedom/5",
        "Their post",
    )


def test_an_embed_is_read_shown_and_sent_back_without_its_frame() -> None:
    update = Update.model_validate(UPDATE)
    [embed] = update.media
    assert (embed.provider, embed.embed_url) == ("telegram", "https://t.me/legionoffreedom/5?embed=1")
    console = Console(width=100, record=True)
    console.print(update_view(update))
    assert "Embed (telegram): https://t.me/legionoffreedom/5 (Their post)" in console.export_text()
    body = Changes(media=list(update.media)).model_dump(mode="json", exclude_none=True)
    assert body == {"media": [{k: v for k, v in EMBED.items() if k != "embed_url"}]}
