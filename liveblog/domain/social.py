"""Social embeds: recognise a post or a video of a known provider by its URL, without asking
the provider anything.

:func:`recognise` takes what an editor pasted (``https://x.com/user/status/123?s=20``) and
returns an :class:`Embed`: the provider, the post's id there, the canonical URL (what is
stored and what a reader without JavaScript follows) and the URL of the provider's own
embed frame (loaded only when a reader asks for it, see docs/api.md "Social embeds").
Anything else is a ``ValueError`` saying why, so that a request naming it is a 422.

The rules are strict on purpose, since what is recognised here decides which origin a
reader's browser is later pointed at:

- only ``https`` (``http`` is accepted and upgraded); never ``javascript:``, ``data:`` or
  any other scheme;
- the host is compared, lower-cased, with a fixed list per provider, exactly: no user
  information (``x.com@evil.example``), no port, no trailing dot, no IDN or punycode
  (``xn--…``: a look-alike), no percent-encoding, no backslash (browsers read it as ``/``);
- the path must be one of the provider's post or video shapes, with ids of the provider's
  alphabet; the rest of the URL (tracking parameters, fragments) is dropped, except a
  YouTube start time.

Mastodon has no fixed host: every instance serves its own posts and its own embed frame.
:func:`recognise` accepts a Mastodon post only on an instance of ``mastodon_instances``
(``LIVEBLOG_MASTODON_INSTANCES``), so the pages' CSP can list every frame origin in advance;
``mastodon_instances=None`` (the shape of a stored value, see ``Media``) accepts any host
with a plain DNS name, which the API then checks against the configured list.

Pure: no I/O, no clock, no settings.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never
from urllib.parse import parse_qs, urlsplit

MAX_URL_CHARS = 2_000


class Provider(StrEnum):
    X = "x"
    YOUTUBE = "youtube"
    VIMEO = "vimeo"
    TELEGRAM = "telegram"
    INSTAGRAM = "instagram"
    BLUESKY = "bluesky"
    MASTODON = "mastodon"


LABELS: dict[Provider, str] = {
    Provider.X: "X (Twitter)",
    Provider.YOUTUBE: "YouTube",
    Provider.VIMEO: "Vimeo",
    Provider.TELEGRAM: "Telegram",
    Provider.INSTAGRAM: "Instagram",
    Provider.BLUESKY: "Bluesky",
    Provider.MASTODON: "Mastodon",
}
"""How a provider is named to readers ("Load content from YouTube")."""

HOSTS: dict[Provider, frozenset[str]] = {
    Provider.X: frozenset(
        {"x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"}
    ),
    Provider.YOUTUBE: frozenset(
        {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "www.youtube-nocookie.com"}
    ),
    Provider.VIMEO: frozenset({"vimeo.com", "www.vimeo.com", "player.vimeo.com"}),
    Provider.TELEGRAM: frozenset({"t.me", "telegram.me"}),
    Provider.INSTAGRAM: frozenset({"instagram.com", "www.instagram.com"}),
    Provider.BLUESKY: frozenset({"bsky.app"}),
    Provider.MASTODON: frozenset(),
}
"""The hosts whose URLs are recognised, per provider (Mastodon's are configured)."""

FRAME_ORIGINS: dict[Provider, str] = {
    Provider.X: "https://platform.twitter.com",
    Provider.YOUTUBE: "https://www.youtube-nocookie.com",
    Provider.VIMEO: "https://player.vimeo.com",
    Provider.TELEGRAM: "https://t.me",
    Provider.INSTAGRAM: "https://www.instagram.com",
    Provider.BLUESKY: "https://embed.bsky.app",
}
"""The origin of each provider's embed frame (a Mastodon frame is its instance's)."""


@dataclass(frozen=True, slots=True)
class Embed:
    """A recognised post: ``id`` is the provider's (a YouTube video id, a tweet's number, a
    Bluesky AT URI), ``canonical_url`` the link to it, ``embed_url`` the provider's frame."""

    provider: Provider
    id: str
    canonical_url: str
    embed_url: str

    @property
    def frame_origin(self) -> str:
        parts = urlsplit(self.embed_url)
        return f"{parts.scheme}://{parts.netloc}"


_HOST = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_TWEET_USER = re.compile(r"^[A-Za-z0-9_]{1,15}$")
_DIGITS = re.compile(r"^[0-9]{1,20}$")
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_YOUTUBE_TIME = re.compile(r"^(?:(\d{1,2})h)?(?:(\d{1,3})m)?(?:(\d{1,6})s?)?$")
_VIMEO_HASH = re.compile(r"^[0-9a-f]{6,20}$")
_TELEGRAM_CHANNEL = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")
_TELEGRAM_RESERVED = frozenset(
    {"joinchat", "addstickers", "addemoji", "addtheme", "addlist", "share", "proxy", "socks", "setlanguage",
     "login", "confirmphone", "boost", "contact", "invoice", "iv"}
)  # fmt: skip
_INSTAGRAM_CODE = re.compile(r"^[A-Za-z0-9_-]{5,64}$")
_BLUESKY_DID = re.compile(
    r"^did:(?:plc:[a-z2-7]{24}|web:(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$"
)
_BLUESKY_RKEY = re.compile(r"^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,511}$")
_MASTODON_USER = re.compile(r"^[A-Za-z0-9_]{1,30}$")
_SAFE_URL = re.compile(r"^[\x21-\x7e]+$")


def refuse(why: str) -> ValueError:
    return ValueError(f"cannot be embedded: {why}")


def recognise(url: str, *, mastodon_instances: Collection[str] | None) -> Embed:
    """The embed ``url`` names, or a ``ValueError`` saying why it is not one (see the module
    docstring). ``mastodon_instances``: the Mastodon hosts allowed (lower-case), or ``None``
    for any plain DNS name."""
    if len(url) > MAX_URL_CHARS:
        raise refuse(f"the URL is longer than {MAX_URL_CHARS} characters")
    if not _SAFE_URL.fullmatch(url):
        raise refuse("the URL holds spaces, control characters or characters outside ASCII")
    if "\\" in url:
        raise refuse("the URL holds a backslash")
    scheme, _, rest = url.partition(":")
    if scheme.lower() not in ("https", "http") or not rest.startswith("//"):
        raise refuse("only https links to a provider's post or video can be embedded")
    parts = urlsplit("https:" + rest)
    netloc = parts.netloc
    if "@" in netloc:
        raise refuse("the URL carries user information (name@host), which is how look-alike links hide")
    if ":" in netloc:
        raise refuse("the URL names a port; providers' links never do")
    host = netloc.lower()
    if "%" in host or host.endswith(".") or not _HOST.fullmatch(host):
        raise refuse(f"{host!r} is not a plain host name")
    if any(label.startswith("xn--") for label in host.split(".")):
        raise refuse(f"{host!r} is an internationalised (punycode) host name, which look-alikes use")
    segments = [segment for segment in parts.path.split("/") if segment]
    query = parse_qs(parts.query, keep_blank_values=False)
    for provider, hosts in HOSTS.items():
        if host in hosts:
            return _recognise(provider, host, segments, query)
    if mastodon_instances is not None and host in mastodon_instances:
        return _mastodon(host, segments)
    unknown = refuse(
        f"{host!r} is not a host of X/Twitter, YouTube, Vimeo, Telegram, Instagram, Bluesky "
        "or a Mastodon instance this server allows"
    )
    if mastodon_instances is None:
        try:
            return _mastodon(host, segments)
        except ValueError:
            raise unknown from None
    raise unknown


def _recognise(provider: Provider, host: str, segments: list[str], query: dict[str, list[str]]) -> Embed:
    match provider:
        case Provider.X:
            return _x(segments)
        case Provider.YOUTUBE:
            return _youtube(host, segments, query)
        case Provider.VIMEO:
            return _vimeo(host, segments)
        case Provider.TELEGRAM:
            return _telegram(segments)
        case Provider.INSTAGRAM:
            return _instagram(segments)
        case Provider.BLUESKY:
            return _bluesky(segments)
        case Provider.MASTODON:  # pragma: no cover - no fixed hosts: recognise() handles it
            return _mastodon(host, segments)
        case _:  # pragma: no cover
            assert_never(provider)


def _x(segments: list[str]) -> Embed:
    if len(segments) >= 4 and segments[:3] == ["i", "web", "status"]:
        user, post = "i/web", segments[3]
    elif len(segments) >= 3 and segments[:2] == ["i", "status"]:
        user, post = "i/web", segments[2]
    elif len(segments) >= 3 and segments[1] == "status" and _TWEET_USER.fullmatch(segments[0]):
        user, post = segments[0], segments[2]
    else:
        raise refuse("an X/Twitter link must name a post: https://x.com/<user>/status/<number>")
    if not _DIGITS.fullmatch(post):
        raise refuse("an X/Twitter post's id is a number")
    return Embed(
        Provider.X,
        post,
        f"https://x.com/{user}/status/{post}",
        f"https://platform.twitter.com/embed/Tweet.html?id={post}&dnt=true",
    )


def _youtube_start(query: dict[str, list[str]]) -> int | None:
    values = query.get("t") or query.get("start")
    if not values:
        return None
    found = _YOUTUBE_TIME.fullmatch(values[0])
    if not found or not values[0]:
        raise refuse("a YouTube start time is seconds (90 or 90s) or 1h2m3s")
    hours, minutes, seconds = (int(group or 0) for group in found.groups())
    return hours * 3600 + minutes * 60 + seconds or None


def _youtube(host: str, segments: list[str], query: dict[str, list[str]]) -> Embed:
    video: str | None = None
    if host == "youtu.be":
        video = segments[0] if len(segments) == 1 else None
    elif segments == ["watch"] and host != "www.youtube-nocookie.com":
        video = query.get("v", [""])[0] or None
    elif len(segments) == 2 and segments[0] in ("shorts", "embed", "live"):
        video = segments[1]
    if video is None:
        raise refuse(
            "a YouTube link must name a video: youtube.com/watch?v=<id>, youtu.be/<id>, "
            "youtube.com/shorts/<id> or youtube.com/embed/<id>"
        )
    if not _YOUTUBE_ID.fullmatch(video):
        raise refuse("a YouTube video id is 11 letters, digits, - or _")
    start = _youtube_start(query)
    return Embed(
        Provider.YOUTUBE,
        video,
        f"https://www.youtube.com/watch?v={video}" + (f"&t={start}s" if start else ""),
        f"https://www.youtube-nocookie.com/embed/{video}" + (f"?start={start}" if start else ""),
    )


def _vimeo(host: str, segments: list[str]) -> Embed:
    if host == "player.vimeo.com":
        valid = len(segments) == 2 and segments[0] == "video"
        segments = segments[1:]
    else:
        valid = len(segments) in (1, 2)
    if not valid or not _DIGITS.fullmatch(segments[0]):
        raise refuse("a Vimeo link must name a video: https://vimeo.com/<number>")
    video, secret = segments[0], segments[1] if len(segments) == 2 else None
    if secret is not None and not _VIMEO_HASH.fullmatch(secret):
        raise refuse("an unlisted Vimeo video's key is hexadecimal: https://vimeo.com/<number>/<key>")
    return Embed(
        Provider.VIMEO,
        video,
        f"https://vimeo.com/{video}" + (f"/{secret}" if secret else ""),
        f"https://player.vimeo.com/video/{video}?dnt=1" + (f"&h={secret}" if secret else ""),
    )


def _telegram(segments: list[str]) -> Embed:
    if len(segments) == 3 and segments[0] == "s":
        segments = segments[1:]
    if len(segments) >= 1 and segments[0] == "c":
        raise refuse("a private Telegram chat (t.me/c/…) cannot be embedded, only public channels")
    if (
        len(segments) != 2
        or not _TELEGRAM_CHANNEL.fullmatch(segments[0])
        or segments[0].lower() in _TELEGRAM_RESERVED
        or not _DIGITS.fullmatch(segments[1])
    ):
        raise refuse("a Telegram link must name a post of a public channel: https://t.me/<channel>/<number>")
    channel, post = segments
    return Embed(
        Provider.TELEGRAM,
        f"{channel}/{post}",
        f"https://t.me/{channel}/{post}",
        f"https://t.me/{channel}/{post}?embed=1",
    )


def _instagram(segments: list[str]) -> Embed:
    if len(segments) == 3 and segments[1] in ("p", "reel"):
        segments = segments[1:]  # instagram.com/<user>/p/<code>/
    if (
        len(segments) == 2
        and segments[0] in ("p", "reel", "reels", "tv")
        and _INSTAGRAM_CODE.fullmatch(segments[1])
    ):
        kind = "reel" if segments[0] in ("reel", "reels") else "p"
        code = segments[1]
        canonical = f"https://www.instagram.com/{kind}/{code}/"
        return Embed(Provider.INSTAGRAM, code, canonical, canonical + "embed/")
    raise refuse("an Instagram link must name a post or a reel: instagram.com/p/<code>/ or /reel/<code>/")


def _bluesky(segments: list[str]) -> Embed:
    if len(segments) != 4 or segments[0] != "profile" or segments[2] != "post":
        raise refuse("a Bluesky link must name a post: https://bsky.app/profile/<handle>/post/<id>")
    actor, rkey = segments[1], segments[3]
    actor = actor if actor.startswith("did:") else actor.lower()
    if not (_BLUESKY_DID.fullmatch(actor) or (_HOST.fullmatch(actor) and "xn--" not in actor)):
        raise refuse("a Bluesky post's author is a handle (name.bsky.social) or a DID (did:plc:…)")
    if not _BLUESKY_RKEY.fullmatch(rkey):
        raise refuse("a Bluesky post's id holds letters, digits and . _ ~ - only")
    return Embed(
        Provider.BLUESKY,
        f"at://{actor}/app.bsky.feed.post/{rkey}",
        f"https://bsky.app/profile/{actor}/post/{rkey}",
        f"https://embed.bsky.app/embed/{actor}/app.bsky.feed.post/{rkey}",
    )


def _mastodon(host: str, segments: list[str]) -> Embed:
    if len(segments) == 4 and segments[0] == "users" and segments[2] == "statuses":
        segments = ["@" + segments[1], segments[3]]
    if (
        len(segments) != 2
        or not segments[0].startswith("@")
        or not _MASTODON_USER.fullmatch(segments[0][1:])
        or not _DIGITS.fullmatch(segments[1])
    ):
        raise refuse("a Mastodon link must name a post of the instance: https://<instance>/@<user>/<number>")
    user, post = segments[0][1:], segments[1]
    canonical = f"https://{host}/@{user}/{post}"
    return Embed(Provider.MASTODON, post, canonical, canonical + "/embed")


def frame_origins(mastodon_instances: Collection[str]) -> tuple[str, ...]:
    """Every origin an embed frame may come from: the providers' and each allowed instance's."""
    return (*FRAME_ORIGINS.values(), *(f"https://{host}" for host in sorted(mastodon_instances)))


def host_of(url: str) -> str:
    """The host of a URL that :func:`recognise` accepted (lower-case)."""
    return urlsplit(url).netloc.lower()


def check_instance(host: str) -> str:
    """``host`` as an entry of ``LIVEBLOG_MASTODON_INSTANCES`` (lower-cased), or a ValueError."""
    host = host.strip().lower()
    if not _HOST.fullmatch(host) or any(label.startswith("xn--") for label in host.split(".")):
        raise ValueError(f"{host!r} is not a plain host name (example: mastodon.social)")
    if any(host in hosts for hosts in HOSTS.values()):
        raise ValueError(f"{host!r} is a host of another provider")
    return host
