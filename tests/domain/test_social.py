"""Social embeds recognised by URL (liveblog.domain.social), and the ``embed`` media kind.

Each provider's link shapes, what is kept (ids, a YouTube start time) and dropped (tracking
parameters), and the hostile URLs that must never be accepted: other schemes, look-alike
hosts, user information, ports, punycode. A property test checks that whatever is accepted
names a host of the provider it is said to be, and a frame origin of the fixed set.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from liveblog.domain import social
from liveblog.domain.social import Provider, recognise
from liveblog.domain.values import STORED, Media, MediaKind

INSTANCES = frozenset({"mastodon.social"})
TWEET = "1665332811411111111"
VIDEO = "dQw4w9WgXcQ"


def embed(url: str) -> social.Embed:
    return recognise(url, mastodon_instances=INSTANCES)


def refused(url: str) -> str:
    with pytest.raises(ValueError) as caught:
        embed(url)
    return str(caught.value)


@pytest.mark.parametrize(
    ("url", "canonical", "embed_url", "ident"),
    [
        (
            f"https://x.com/Lucas/status/{TWEET}?s=20&t=abc",
            f"https://x.com/Lucas/status/{TWEET}",
            f"https://platform.twitter.com/embed/Tweet.html?id={TWEET}&dnt=true",
            TWEET,
        ),
        (
            f"http://mobile.twitter.com/Lucas/status/{TWEET}/photo/1",
            f"https://x.com/Lucas/status/{TWEET}",
            f"https://platform.twitter.com/embed/Tweet.html?id={TWEET}&dnt=true",
            TWEET,
        ),
        (f"https://twitter.com/i/web/status/{TWEET}", f"https://x.com/i/web/status/{TWEET}", None, TWEET),
        (f"HTTPS://WWW.X.COM/i/status/{TWEET}", f"https://x.com/i/web/status/{TWEET}", None, TWEET),
    ],
)
def test_x_posts(url: str, canonical: str, embed_url: str | None, ident: str) -> None:
    found = embed(url)
    assert (found.provider, found.id, found.canonical_url) == (Provider.X, ident, canonical)
    assert found.embed_url == (
        embed_url or f"https://platform.twitter.com/embed/Tweet.html?id={ident}&dnt=true"
    )
    assert found.frame_origin == "https://platform.twitter.com"


@pytest.mark.parametrize(
    ("url", "start"),
    [
        (f"https://www.youtube.com/watch?v={VIDEO}", None),
        (f"https://youtube.com/watch?feature=share&v={VIDEO}&t=90", 90),
        (f"https://m.youtube.com/watch?v={VIDEO}&t=1m30s", 90),
        (f"https://youtu.be/{VIDEO}?t=1h2m3s", 3723),
        (f"https://youtu.be/{VIDEO}?si=tracking", None),
        (f"https://www.youtube.com/shorts/{VIDEO}", None),
        (f"https://www.youtube.com/embed/{VIDEO}?start=42", 42),
        (f"https://www.youtube-nocookie.com/embed/{VIDEO}", None),
        (f"https://www.youtube.com/live/{VIDEO}?t=0", None),
    ],
)
def test_youtube_videos_keep_a_start_time(url: str, start: int | None) -> None:
    found = embed(url)
    assert (found.provider, found.id) == (Provider.YOUTUBE, VIDEO)
    suffix = f"&t={start}s" if start else ""
    assert found.canonical_url == f"https://www.youtube.com/watch?v={VIDEO}{suffix}"
    assert found.embed_url == f"https://www.youtube-nocookie.com/embed/{VIDEO}" + (
        f"?start={start}" if start else ""
    )
    assert found.frame_origin == "https://www.youtube-nocookie.com"


@pytest.mark.parametrize(
    "url",
    [
        "https://www.youtube.com/watch?v=short",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ1",
        "https://www.youtube.com/watch?v=dQw4w9WgX%3C",
        "https://www.youtube.com/watch",
        "https://www.youtube.com/channel/UCabc",
        "https://youtu.be/",
        f"https://youtu.be/{VIDEO}/extra",
        f"https://www.youtube-nocookie.com/watch?v={VIDEO}",
        f"https://www.youtube.com/watch?v={VIDEO}&t=soon",
    ],
)
def test_youtube_urls_that_name_no_video_are_refused(url: str) -> None:
    assert "YouTube" in refused(url)


def test_vimeo_videos() -> None:
    public = embed("https://vimeo.com/76979871?share=copy")
    assert (public.provider, public.id, public.canonical_url) == (
        Provider.VIMEO,
        "76979871",
        "https://vimeo.com/76979871",
    )
    assert public.embed_url == "https://player.vimeo.com/video/76979871?dnt=1"
    unlisted = embed("https://www.vimeo.com/76979871/abcdef1234")
    assert unlisted.canonical_url == "https://vimeo.com/76979871/abcdef1234"
    assert unlisted.embed_url == "https://player.vimeo.com/video/76979871?dnt=1&h=abcdef1234"
    assert embed("https://player.vimeo.com/video/76979871").canonical_url == "https://vimeo.com/76979871"
    for url in (
        "https://vimeo.com/channels/staffpicks",
        "https://vimeo.com/76979871/not-hex!",
        "https://vimeo.com/1/2/3",
        "https://player.vimeo.com/76979871",
    ):
        assert "Vimeo" in refused(url)


def test_telegram_public_channel_posts() -> None:
    found = embed("https://t.me/legionoffreedom/1234?single")
    assert found.provider is Provider.TELEGRAM
    assert (found.id, found.canonical_url) == ("legionoffreedom/1234", "https://t.me/legionoffreedom/1234")
    assert found.embed_url == "https://t.me/legionoffreedom/1234?embed=1"
    assert embed("https://t.me/s/legionoffreedom/1234").canonical_url == "https://t.me/legionoffreedom/1234"
    assert embed("https://telegram.me/legionoffreedom/1").canonical_url == "https://t.me/legionoffreedom/1"
    assert "private" in refused("https://t.me/c/1234567/89")
    for url in (
        "https://t.me/joinchat/12345",
        "https://t.me/+AbCdEf",
        "https://t.me/legionoffreedom",
        "https://t.me/abc/12",  # too short a name
        "https://t.me/legionoffreedom/latest",
    ):
        assert "Telegram" in refused(url)


def test_instagram_posts_and_reels() -> None:
    post = embed("https://www.instagram.com/p/Cs1AbCdEfG/?igsh=tracking")
    assert (post.provider, post.id) == (Provider.INSTAGRAM, "Cs1AbCdEfG")
    assert post.canonical_url == "https://www.instagram.com/p/Cs1AbCdEfG/"
    assert post.embed_url == "https://www.instagram.com/p/Cs1AbCdEfG/embed/"
    assert (
        embed("https://instagram.com/reels/Cs1AbCdEfG").canonical_url
        == "https://www.instagram.com/reel/Cs1AbCdEfG/"
    )
    assert (
        embed("https://instagram.com/someone/p/Cs1AbCdEfG/").canonical_url
        == "https://www.instagram.com/p/Cs1AbCdEfG/"
    )
    for url in (
        "https://www.instagram.com/someone/",
        "https://www.instagram.com/p/a!b/",
        "https://www.instagram.com/stories/x/1/",
    ):
        assert "Instagram" in refused(url)


def test_bluesky_posts_by_handle_or_did() -> None:
    found = embed("https://bsky.app/profile/Jay.Bsky.Team/post/3l3orwsydyc24")
    assert found.provider is Provider.BLUESKY
    assert found.id == "at://jay.bsky.team/app.bsky.feed.post/3l3orwsydyc24"
    assert found.canonical_url == "https://bsky.app/profile/jay.bsky.team/post/3l3orwsydyc24"
    assert found.embed_url == "https://embed.bsky.app/embed/jay.bsky.team/app.bsky.feed.post/3l3orwsydyc24"
    did = "did:plc:ru4uwws7zdxrncwr2a4jhask"
    assert embed(f"https://bsky.app/profile/{did}/post/3l3orwsydyc24").embed_url == (
        f"https://embed.bsky.app/embed/{did}/app.bsky.feed.post/3l3orwsydyc24"
    )
    for url in (
        "https://bsky.app/profile/jay.bsky.team",
        "https://bsky.app/profile/not_a_handle/post/3l3orwsydyc24",
        "https://bsky.app/profile/did:plc:short/post/3l3orwsydyc24",
        "https://bsky.app/profile/xn--80ak6aa92e.com/post/3l3orwsydyc24",
        "https://bsky.app/profile/jay.bsky.team/post/.hidden",
    ):
        assert "Bluesky" in refused(url)


def test_mastodon_posts_only_on_configured_instances() -> None:
    found = embed("https://mastodon.social/@Gargron/111222333444")
    assert (found.provider, found.id) == (Provider.MASTODON, "111222333444")
    assert found.canonical_url == "https://mastodon.social/@Gargron/111222333444"
    assert found.embed_url == "https://mastodon.social/@Gargron/111222333444/embed"
    assert found.frame_origin == "https://mastodon.social"
    assert (
        embed("https://mastodon.social/users/Gargron/statuses/1").canonical_url
        == "https://mastodon.social/@Gargron/1"
    )
    assert "Mastodon" in refused("https://mastodon.social/@Gargron")
    assert "Mastodon" in refused("https://mastodon.social/@Gargron@other.example/1")
    assert "not a host" in refused("https://other.example/@Gargron/1")
    # The shape of a stored value (no list): any plain host with a Mastodon post's path.
    anywhere = recognise("https://other.example/@Gargron/1", mastodon_instances=None)
    assert anywhere.canonical_url == "https://other.example/@Gargron/1"
    with pytest.raises(ValueError, match="not a host"):
        recognise("https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ", mastodon_instances=None)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("javascript:alert(1)", "only https"),
        ("JavaScript://x.com/%0aalert(1)", "only https"),
        ("data:text/html,<script>alert(1)</script>", "only https"),
        ("data:text/html;base64,PHNjcmlwdD4=", "only https"),
        ("ftp://x.com/a/status/1", "only https"),
        ("//x.com/a/status/1", "only https"),
        ("https:x.com/a/status/1", "only https"),
        (f"https://youtube.com.evil.example/watch?v={VIDEO}", "not a host"),
        (f"https://evil-youtube.com/watch?v={VIDEO}", "not a host"),
        (f"https://youtube.com.@evil.example/watch?v={VIDEO}", "user information"),
        ("https://x.com@evil.example/a/status/1", "user information"),
        ("https://user:pass@x.com/a/status/1", "user information"),
        (f"https://xn--yutube-wqf.com/watch?v={VIDEO}", "punycode"),
        (f"https://www.xn--youtbe-6ya.com/watch?v={VIDEO}", "punycode"),
        (f"https://youtub\u0435.com/watch?v={VIDEO}", "outside ASCII"),  # a Cyrillic ie
        ("https://x.com:8443/a/status/1", "port"),
        ("https://x.com:443/a/status/1", "port"),
        ("https://x.com./a/status/1", "plain host"),
        ("https://x.com%2e/a/status/1", "plain host"),
        ("https://127.0.0.1/a/status/1", "plain host"),
        ("https://[::1]/a/status/1", "port"),
        ("https:///a/status/1", "plain host"),
        ("https://x.com\\@evil.example/a/status/1", "backslash"),
        ("https://x.com/a/status/1 onerror=alert(1)", "spaces"),
        ("https://x.com/a/status/1\n", "control"),
        ("https://x.com/" + "a" * 2_000, "longer than"),
        ("https://x.com/someone", "X/Twitter"),
        ("https://x.com/someone/status/abc", "number"),
        ("https://x.com/some-one!/status/1", "X/Twitter"),
        ("https://example.org/video.mp4", "not a host"),
    ],
)
def test_hostile_and_unknown_urls_are_refused_saying_why(url: str, why: str) -> None:
    message = refused(url)
    assert message.startswith("cannot be embedded: ")
    assert why in message


def test_frame_origins_are_the_providers_and_the_configured_instances() -> None:
    origins = social.frame_origins({"mastodon.social", "infosec.exchange"})
    assert origins == (
        "https://platform.twitter.com",
        "https://www.youtube-nocookie.com",
        "https://player.vimeo.com",
        "https://t.me",
        "https://www.instagram.com",
        "https://embed.bsky.app",
        "https://infosec.exchange",
        "https://mastodon.social",
    )
    assert social.host_of("https://Mastodon.Social/@a/1") == "mastodon.social"


def test_configured_instances_must_be_plain_hosts_of_no_other_provider() -> None:
    assert social.check_instance(" Mastodon.Social ") == "mastodon.social"
    for bad in ("evil;frame-src *", "xn--80ak6aa92e.com", "x.com", "https://mastodon.social", "localhost"):
        with pytest.raises(ValueError):
            social.check_instance(bad)


# ------------------------------------------------------------------------------ the property

PROVIDER_HOSTS = sorted({host for hosts in social.HOSTS.values() for host in hosts} | INSTANCES)
TRICKS = [
    "", ".evil.example", "@evil.example", ".", ":443", ":8080", "%2e", "\\", "\u0435", "xn--", "/", "#", "?",
]  # fmt: skip


@st.composite
def hostile_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["https", "http", "HTTPS", "javascript", "data", "ftp", "blob", ""]))
    before = draw(st.sampled_from(["", "evil.example@", "user:pw@", "www.", "evil."]))
    host = draw(st.sampled_from(PROVIDER_HOSTS))
    trick = draw(st.sampled_from(TRICKS))
    path = draw(
        st.sampled_from(
            [
                f"/a/status/{TWEET}", f"/watch?v={VIDEO}", f"/{VIDEO}", "/76979871", "/legionoffreedom/12",
                "/p/Cs1AbCdEfG/", "/profile/jay.bsky.team/post/3l3orwsydyc24", "/@Gargron/1",
            ]
        )
    )  # fmt: skip
    noise = draw(st.text(alphabet=st.characters(codec="utf-8"), max_size=8))
    return f"{scheme}://{before}{host}{trick}{path}{noise}"


@settings(max_examples=400, deadline=None)
@given(hostile_urls() | st.text(max_size=80))
def test_whatever_is_accepted_is_on_a_host_of_its_provider(url: str) -> None:
    try:
        found = recognise(url, mastodon_instances=INSTANCES)
    except ValueError:
        return
    parts = urlsplit(url)
    host = parts.netloc.lower()
    assert parts.scheme.lower() in ("https", "http")
    assert "@" not in parts.netloc and ":" not in parts.netloc
    assert host in social.HOSTS[found.provider] or (found.provider is Provider.MASTODON and host in INSTANCES)
    # What the reader is pointed at: canonical links and frames on the provider's own hosts.
    assert urlsplit(found.canonical_url).scheme == "https"
    canonical_host = urlsplit(found.canonical_url).netloc
    assert canonical_host in social.HOSTS[found.provider] or canonical_host in INSTANCES
    assert found.frame_origin in social.frame_origins(INSTANCES)
    assert found.embed_url.startswith(found.frame_origin + "/")
    # Recognising the canonical URL again changes nothing.
    assert recognise(found.canonical_url, mastodon_instances=INSTANCES) == found


# ------------------------------------------------------------------------------ the media kind


def test_an_embed_media_item_is_stored_canonical_with_its_provider() -> None:
    media = Media.model_validate(
        {"kind": "embed", "url": " https://youtu.be/dQw4w9WgXcQ?t=5 ", "caption": "The video"}
    )
    assert media.kind is MediaKind.EMBED
    assert media.provider is Provider.YOUTUBE
    assert media.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=5s"
    # A read-back value (the provider given) is accepted as it is.
    assert Media.model_validate(media.model_dump()) == media
    assert media.model_dump(mode="json", exclude_none=True) == {
        "kind": "embed",
        "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=5s",
        "caption": "The video",
        "provider": "youtube",
    }


def test_legacy_media_stay_valid_and_carry_no_provider() -> None:
    media = Media.model_validate({"kind": "video", "url": "https://t.me/s/legionoffreedom"})
    assert media.provider is None
    assert media.model_dump(mode="json", exclude_none=True) == {
        "kind": "video",
        "url": "https://t.me/s/legionoffreedom",
    }


@pytest.mark.parametrize(
    ("item", "why"),
    [
        ({"kind": "embed", "url": "javascript:alert(1)"}, "only https"),
        ({"kind": "embed", "url": "https://x.com@evil.example/a/status/1"}, "user information"),
        (
            {"kind": "embed", "url": "https://youtu.be/dQw4w9WgXcQ", "provider": "vimeo"},
            "derived from the URL",
        ),
        ({"kind": "link", "url": "https://example.org", "provider": "youtube"}, "embeds only"),
        ({"kind": "embed", "url": 42}, "string"),
        ({"kind": "embed"}, "needs a `url`"),
    ],
)
def test_a_bad_embed_is_a_validation_error_saying_why(item: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Media.model_validate(item)
    assert why in str(caught.value)


def test_a_stored_embed_is_read_back_as_recorded() -> None:
    recorded = {"kind": "embed", "url": "https://other.example/@a/1", "provider": "mastodon"}
    assert Media.model_validate(recorded, context=STORED).url == recorded["url"]
    with pytest.raises(ValidationError, match="dictionary"):
        Media.model_validate("https://youtu.be/dQw4w9WgXcQ")
