"""Settings, read from the environment with the ``LIVEBLOG_`` prefix (and a ``.env`` file)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from liveblog.domain import social
from liveblog.purge import PurgeTarget, parse_targets


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIVEBLOG_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./liveblog.db",
        description="SQLAlchemy URL; plain sqlite:// and postgresql:// URLs get the async driver.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    signing_key_path: Path = Field(
        default=Path("liveblog-signing.key"),
        description="Ed25519 private key that signs checkpoints; created (mode 0600) if missing.",
    )
    checkpoint_every_seconds: int = Field(
        default=300, ge=1, description="on a write, sign a checkpoint if none was signed for this long"
    )
    checkpoint_within_seconds: float = Field(
        default=30.0,
        gt=0,
        description="every story's head is covered by a signed checkpoint at most this long after it "
        "changed, even when no further write comes (the server's sealing sweep)",
    )
    write_rate_per_minute: int = Field(
        default=600, ge=1, description="writes per token per minute, on average"
    )
    write_burst: int = Field(default=300, ge=1, description="writes per token at once")
    live_connections_per_address: int = Field(default=100, ge=1)
    live_inbound_bytes: int = Field(
        default=4096, ge=125, description="largest WebSocket frame a reader may send"
    )
    live_inbound_per_minute: int = Field(default=60, ge=1, description="frames a reader may send per minute")
    cors_write_origins: list[str] = Field(
        default_factory=list, description="other origins allowed to write (reads are open to every origin)"
    )
    live_sweep_seconds: float = Field(
        default=2.0, gt=0, description="how often live readers' stories are re-read even without a wake-up"
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="addresses or CIDR networks of the reverse proxies whose X-Forwarded-For is "
        'believed, as JSON: ["10.0.0.0/8", "::1"]; none by default (the peer is the client)',
    )
    http_header_timeout: float = Field(
        default=10.0, gt=0, description="seconds a client has to send a request's head (408 after)"
    )
    http_body_timeout: float = Field(
        default=30.0, gt=0, description="seconds a client has to send a request's body once its head is in"
    )
    http_keepalive_timeout: float = Field(
        default=5.0, gt=0, description="seconds an idle connection is kept open between requests"
    )
    worker_healthcheck_timeout: int = Field(
        default=30,
        ge=1,
        description=(
            "seconds `serve --workers N` waits for a worker's health answer before replacing it"
            " (uvicorn's 5 s restarts busy workers on a loaded machine)"
        ),
    )
    http_max_connections: int = Field(
        default=1000,
        ge=1,
        description="HTTP connections served at once per process (503 beyond); WebSockets count apart",
    )
    webhook_delivery: bool = Field(
        default=True, description="run the webhook delivery worker in this process (off: only register)"
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="allow webhook deliveries to loopback, private, link-local and other non-global "
        "addresses (refused by default: SSRF)",
    )
    webhook_max_failures: int = Field(
        default=10, ge=1, description="consecutive failed attempts after which an endpoint is paused"
    )
    webhook_retry_base_seconds: float = Field(
        default=1.0, gt=0, description="the first retry's backoff step (doubled after each failure)"
    )
    webhook_retry_max_seconds: float = Field(default=300.0, gt=0, description="the longest backoff step")
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="seconds a delivery attempt may take (connect, send, answer)"
    )
    webhook_poll_seconds: float = Field(
        default=2.0, gt=0, description="how often deliveries look at the feed without a wake-up"
    )
    media_dir: Path = Field(
        default=Path("liveblog-media"),
        description="where uploaded images are stored, content-addressed (created if missing); "
        "relative paths are from the working directory, like the signing key's",
    )
    media_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        ge=1024,
        description="largest image file accepted by POST /api/v1/media (413 beyond)",
    )
    log_level: str = "info"
    scheduler: bool = Field(
        default=True, description="run the scheduler (publishes scheduled posts when due) in this process"
    )
    schedule_skew_seconds: float = Field(
        default=5.0,
        ge=0,
        le=300,
        description="a `publish_at` this close to now (either way) means now; further in the past is a 422",
    )
    schedule_max_ahead_days: int = Field(
        default=365, ge=1, le=3650, description="how far ahead a post may be scheduled (422 beyond)"
    )
    embed_frame_ancestors: str = Field(
        default="*",
        description="the CSP frame-ancestors sources of GET /stories/{slug}/embed alone (every other "
        "page keeps 'none'), space-separated: * (any web origin), 'self', https:, https://cms.example.org",
    )
    public_url: str | None = Field(
        default=None,
        description="this server's public origin (https://live.example.org), for the absolute URLs of "
        "feeds, oEmbed and fragments and the WebSub pings; unset: the request's own",
    )
    websub_hub_url: str | None = Field(
        default=None,
        description="a WebSub hub that the feeds advertise and that is pinged when a story changes "
        "(needs LIVEBLOG_PUBLIC_URL: the feeds' URLs there are the topics)",
    )
    mastodon_instances: str = Field(
        default="mastodon.social",
        description="the Mastodon instances whose posts may be embedded (their frames are allowed by the "
        "pages' CSP), space- or comma-separated host names; empty: none",
    )
    publisher_name: str = Field(
        default="liveblog",
        min_length=1,
        max_length=200,
        description="the publisher's name in the pages' JSON-LD (schema.org publisher) and in the Google "
        "News sitemap (news:publication)",
    )
    publisher_logo_url: str | None = Field(
        default=None,
        description="an http(s) URL of the publisher's logo for the JSON-LD publisher (Google asks for one "
        "for Top Stories); unset: the publisher has no logo",
    )

    @field_validator("publisher_name")
    @classmethod
    def _publisher_name(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("must not be blank")
        return name.strip()

    @field_validator("publisher_logo_url")
    @classmethod
    def _logo_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL")
        return url.strip()

    live_tier: Literal["direct", "grip"] = Field(
        default="direct",
        description="who holds the readers' live connections: this process (direct), or a GRIP "
        "proxy in front of it (grip: Pushpin or Fastly Fanout; see docs/deploy.md)",
    )
    grip_publish_urls: list[str] = Field(
        default_factory=list,
        description='the GRIP proxies\' publish endpoints, as JSON: ["http://127.0.0.1:5561/"]; '
        "each event is published once to each (grip tier)",
    )
    grip_sig_key: str | None = Field(
        default=None,
        description="the key the GRIP proxy signs its requests with (Grip-Sig, HS256; Pushpin's "
        "sig_key); requests for the live paths without a valid signature are refused (grip tier)",
    )
    grip_publish_token: str | None = Field(
        default=None,
        description="sent as `Authorization: Bearer` with every publish (Fastly Fanout's API token; "
        "Pushpin needs none)",
    )
    grip_next_link_seconds: int = Field(
        default=20,
        ge=1,
        le=3600,
        description="how often the GRIP proxy re-asks for each held stream (recovers a lost last "
        "message, re-checks the reader's token), in seconds",
    )
    purge_urls: Annotated[list[PurgeTarget], NoDecode] = Field(
        default_factory=list,
        description="the shared caches to purge when a story changes, as a JSON list of targets: "
        '"http://127.0.0.1:6081/" or {"kind": "varnish", "url": ..., "method": "BAN"|"PURGE"}, '
        '{"kind": "fastly", "service": ..., "token": ...}, {"kind": "cloudflare", "zone": ..., '
        '"token": ...} (docs/cdn.md)',
    )
    cache_shared_max_age: int = Field(
        default=5, ge=0, le=86400, description="s-maxage of the present (story, pages, feeds): seconds"
    )
    cache_max_age: int = Field(
        default=2, ge=0, le=3600, description="max-age of the present: seconds a browser keeps it"
    )
    cache_stale_while_revalidate: int = Field(
        default=10,
        ge=0,
        le=86400,
        description="seconds a shared cache may serve it stale while it asks again",
    )
    cache_stale_if_error: int = Field(
        default=86400,
        ge=0,
        le=7 * 86400,
        description="seconds a shared cache may serve it stale if the origin fails",
    )

    @field_validator("purge_urls", mode="before")
    @classmethod
    def _purge_targets(cls, raw: object) -> list[PurgeTarget]:
        if isinstance(raw, list) and all(isinstance(entry, PurgeTarget) for entry in raw):
            return raw
        return parse_targets(raw)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, entries: list[str]) -> list[str]:
        for entry in entries:
            ipaddress.ip_network(entry.strip(), strict=False)  # ValueError: not an address or network
        return [entry.strip() for entry in entries]

    @field_validator("embed_frame_ancestors")
    @classmethod
    def _frame_sources(cls, sources: str) -> str:
        return check_frame_ancestors(sources)

    @field_validator("mastodon_instances")
    @classmethod
    def _instances(cls, hosts: str) -> str:
        return " ".join(
            dict.fromkeys(social.check_instance(host) for host in re.split(r"[\s,]+", hosts) if host)
        )

    @property
    def mastodon_hosts(self) -> frozenset[str]:
        """The hosts of ``mastodon_instances``."""
        return frozenset(self.mastodon_instances.split())

    @field_validator("public_url", "websub_hub_url")
    @classmethod
    def _web_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
            raise ValueError("must be an http(s) URL without a query or fragment")
        return url.strip().rstrip("/")

    @model_validator(mode="after")
    def _topics_need_a_public_url(self) -> Settings:
        if self.websub_hub_url is not None and self.public_url is None:
            raise ValueError(
                "LIVEBLOG_WEBSUB_HUB_URL needs LIVEBLOG_PUBLIC_URL: the feeds' public URLs are what the hub is told about"
            )
        return self

    @field_validator("grip_publish_urls")
    @classmethod
    def _publish_urls(cls, urls: list[str]) -> list[str]:
        for url in urls:
            parts = urlsplit(url.strip())
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
                raise ValueError("each publish endpoint must be an http(s) URL without a query or fragment")
        return [url.strip().rstrip("/") + "/" for url in urls]

    @model_validator(mode="after")
    def _grip_needs_its_settings(self) -> Settings:
        if self.live_tier == "grip" and (not self.grip_publish_urls or not self.grip_sig_key):
            raise ValueError(
                "LIVEBLOG_LIVE_TIER=grip needs LIVEBLOG_GRIP_PUBLISH_URLS (where events are published) "
                "and LIVEBLOG_GRIP_SIG_KEY (to know that requests come through the proxy)"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        return async_url(url)


_FRAME_SOURCE = re.compile(
    r"^(?:\*|'self'|'none'|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?[a-z0-9.-]+(?::(?:\d{1,5}|\*))?)$",
    re.IGNORECASE,
)


def check_frame_ancestors(sources: str) -> str:
    """``sources`` if it is a list of CSP ``frame-ancestors`` sources (``*``, ``'self'``,
    ``'none'``, a scheme such as ``https:``, a host with optional scheme and port), else a
    ValueError: nothing that could end the directive (``;``, ``,``) or add another."""
    parts = sources.split()
    if not parts or not all(_FRAME_SOURCE.match(part) for part in parts):
        raise ValueError(
            "must be CSP frame-ancestors sources separated by spaces, e.g. * or 'self' https://cms.example.org"
        )
    if "'none'" in parts and len(parts) > 1:
        raise ValueError("'none' stands alone")
    return " ".join(parts)


def async_url(url: str) -> str:
    """``url`` with liveblog's async driver for its database, if it names none."""
    for plain, with_driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+asyncpg://"),
        ("postgres://", "postgresql+asyncpg://"),
    ):
        if url.startswith(plain):
            return with_driver + url[len(plain) :]
    return url
