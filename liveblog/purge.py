"""Purging shared caches (``LIVEBLOG_PURGE_URLS``) when a story changes (docs/cdn.md).

Every cacheable reader response names what it shows in ``Surrogate-Key``/``Cache-Tag``
(:mod:`liveblog.api.caching`): the story's key, the update's key, the global key of the
lists and feeds of every story. When a story changes, the process that committed the change
purges, at every target, the story's key, the key of each update the change touched and the
global key, so that the next reader's request through the cache reaches the origin.

The targets, a JSON list; each one an object (or a string, which is a Varnish URL):

- ``{"kind": "varnish", "url": "http://127.0.0.1:6081/", "method": "BAN"}``: an HTTP
  ``BAN`` (or ``PURGE``) to that URL with the keys, space-separated, in a ``Surrogate-Key``
  request header; ``deploy/varnish/liveblog.vcl`` bans every object whose ``Surrogate-Key``
  names one of them;
- ``{"kind": "fastly", "service": "SERVICE_ID", "token": "API_TOKEN"}``: Fastly's purge by
  surrogate key, ``POST {url}/service/{service}/purge`` with ``Surrogate-Key`` and
  ``Fastly-Key`` headers (``url`` defaults to ``https://api.fastly.com``);
- ``{"kind": "cloudflare", "zone": "ZONE_ID", "token": "API_TOKEN"}``: Cloudflare's purge by
  cache tag, ``POST {url}/client/v4/zones/{zone}/purge_cache`` with ``{"tags": [...]}`` and a
  bearer token (``url`` defaults to ``https://api.cloudflare.com``).

Never on the write's critical path: :meth:`Purger.wake` (the application's ``on_commit``)
notes the story and returns; a background task reads which updates changed, merges every
change that came meanwhile into one round, and sends one request per target. A failed
request (an error status, no answer in time, no connection) is retried with exponential
backoff (:func:`backoff_delays`), then given up with a warning; nothing is ever raised into
a write. Each round is sent again once ``repeat_after`` seconds later: a reader's request
that read the database just before the commit may have been stored by the cache just after
the first purge, and the second one removes it.

The queue is in memory: purges pending when the process dies are lost. The short
``s-maxage`` of the live responses (``LIVEBLOG_CACHE_SHARED_MAX_AGE``) bounds how long a lost
purge leaves a change unseen; past responses (bounded to an hour) are purged by redactions
alone, so an operator who loses the process during a redaction purges the story's key by hand
(docs/cdn.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from liveblog.api.caching import GLOBAL_KEY, purge_key, update_key
from liveblog.store import event_store
from liveblog.store.database import Database

log = logging.getLogger("liveblog.purge")

Kind = Literal["varnish", "fastly", "cloudflare"]
FASTLY_API = "https://api.fastly.com"
CLOUDFLARE_API = "https://api.cloudflare.com"
CLOUDFLARE_MAX_TAGS = 30
"""Cloudflare takes at most 30 tags per purge request: more keys are split."""
_FIELDS: dict[str, set[str]] = {
    "varnish": {"kind", "url", "method"},
    "fastly": {"kind", "url", "service", "token"},
    "cloudflare": {"kind", "url", "zone", "token"},
}


# ----------------------------------------------------------------------- targets (pure)


@dataclass(frozen=True, slots=True)
class PurgeTarget:
    """One cache to purge; see the module docstring for each kind's request."""

    kind: Kind
    url: str
    method: str = "POST"
    service: str | None = None
    zone: str | None = None
    token: str | None = field(default=None, repr=False)

    def describe(self) -> str:
        """The target for logs: its kind and URL, never its token."""
        return f"{self.kind} {self.url}"


@dataclass(frozen=True, slots=True)
class PurgeRequest:
    """One HTTP request that purges some keys at a target."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None = None


def _http_url(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be an http(s) URL")
    url = value.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ValueError(f"{what} must be an http(s) URL, not {url!r}")
    return url


def _identifier(entry: dict[str, Any], name: str, what: str) -> str:
    value = entry.get(name)
    if not isinstance(value, str) or not value.strip() or not value.strip().isprintable():
        raise ValueError(f"{what} needs {name!r}, a non-empty string")
    return value.strip()


def parse_target(entry: object, index: int = 0) -> PurgeTarget:
    """The target ``entry`` (an item of ``LIVEBLOG_PURGE_URLS``) describes, or a
    ``ValueError`` saying what is wrong with it."""
    what = f"purge target #{index + 1}"
    if isinstance(entry, str):
        return PurgeTarget(kind="varnish", url=_http_url(entry, what), method="BAN")
    if not isinstance(entry, dict):
        raise ValueError(f"{what} must be a URL or an object with a 'kind'")
    kind = entry.get("kind")
    if kind not in _FIELDS:
        raise ValueError(f"{what}: 'kind' must be one of varnish, fastly, cloudflare, not {kind!r}")
    unknown = set(entry) - _FIELDS[kind]
    if unknown:
        raise ValueError(f"{what} ({kind}) has unknown fields: {', '.join(sorted(map(str, unknown)))}")
    match kind:
        case "varnish":
            method = entry.get("method", "BAN")
            if method not in ("BAN", "PURGE"):
                raise ValueError(f"{what}: 'method' must be BAN or PURGE, not {method!r}")
            return PurgeTarget(kind="varnish", url=_http_url(entry.get("url"), what), method=method)
        case "fastly":
            return PurgeTarget(
                kind="fastly",
                url=_http_url(entry.get("url", FASTLY_API), what).rstrip("/"),
                service=_identifier(entry, "service", what),
                token=_identifier(entry, "token", what),
            )
        case "cloudflare":
            return PurgeTarget(
                kind="cloudflare",
                url=_http_url(entry.get("url", CLOUDFLARE_API), what).rstrip("/"),
                zone=_identifier(entry, "zone", what),
                token=_identifier(entry, "token", what),
            )
    raise AssertionError("unreachable")  # pragma: no cover


def parse_targets(raw: object) -> list[PurgeTarget]:
    """The targets of ``LIVEBLOG_PURGE_URLS``: a JSON text or an already decoded list."""
    if isinstance(raw, str):
        if not raw.strip():
            return []
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"must be a JSON list of purge targets (docs/cdn.md), and is not JSON: {error}"
            ) from None
    if not isinstance(raw, list):
        raise ValueError("must be a JSON list of purge targets (docs/cdn.md)")
    return [parse_target(entry, index) for index, entry in enumerate(raw)]


def requests_for(target: PurgeTarget, keys: Iterable[str]) -> list[PurgeRequest]:
    """The requests that purge ``keys`` at ``target`` (one, or several for Cloudflare's
    limit on tags per request); none for no keys."""
    chosen = sorted(set(keys))
    if not chosen:
        return []
    match target.kind:
        case "varnish":
            return [PurgeRequest(target.method, target.url, {"Surrogate-Key": " ".join(chosen)})]
        case "fastly":
            assert target.service is not None and target.token is not None
            return [
                PurgeRequest(
                    "POST",
                    f"{target.url}/service/{quote(target.service, safe='')}/purge",
                    {"Surrogate-Key": " ".join(chosen), "Fastly-Key": target.token},
                )
            ]
        case "cloudflare":
            assert target.zone is not None and target.token is not None
            url = f"{target.url}/client/v4/zones/{quote(target.zone, safe='')}/purge_cache"
            return [
                PurgeRequest(
                    "POST",
                    url,
                    {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"},
                    json.dumps({"tags": chosen[start : start + CLOUDFLARE_MAX_TAGS]}).encode(),
                )
                for start in range(0, len(chosen), CLOUDFLARE_MAX_TAGS)
            ]
    raise AssertionError("unreachable")  # pragma: no cover


# ----------------------------------------------------------------------- keys and retries (pure)


def keys_for(story: str, events: Iterable[event_store.RecordedEvent]) -> set[str]:
    """What a change to ``story`` made of ``events`` purges: the story's key, the global
    key, and the key of every update an event names."""
    keys = {purge_key(story), GLOBAL_KEY}
    for event in events:
        update_id = event.data.get("update_id")
        if isinstance(update_id, str) and update_id:
            keys.add(update_key(update_id))
    return keys


def backoff_delays(attempts: int, first: float, longest: float) -> Iterator[float]:
    """The waits between ``attempts`` tries: ``first``, doubled after each failure, at most
    ``longest``; one fewer than ``attempts`` (no wait after the last)."""
    delay = first
    for _ in range(max(0, attempts - 1)):
        yield min(delay, longest)
        delay *= 2


def succeeded(status: int) -> bool:
    """Whether a purge answer means done: any 2xx (Varnish's ban answers 200)."""
    return 200 <= status < 300


# ----------------------------------------------------------------------- the worker (shell)


class Purger:
    """Purges ``targets`` after each commit of this process; see the module docstring."""

    def __init__(
        self,
        targets: list[PurgeTarget],
        database: Database,
        *,
        attempts: int = 5,
        first_delay: float = 0.5,
        max_delay: float = 30.0,
        timeout: float = 10.0,
        repeat_after: float = 2.0,
    ) -> None:
        self.targets = targets
        self.database = database
        self.attempts = attempts
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.timeout = timeout
        self.repeat_after = repeat_after
        self._pending: dict[str, int] = {}
        self._keys: set[str] = set()
        self._seen: dict[str, int] = {}
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._repeats: set[asyncio.Task[None]] = set()
        self.delivered = 0
        """Purge requests answered 2xx so far (for tests and logs)."""
        self.failed = 0
        """Purge requests given up after every attempt."""

    def wake(self, story: str, version: int) -> None:
        """Story ``story`` reached ``version`` in a commit of this process: purge soon.
        Returns at once and never raises."""
        self._pending[story] = max(version, self._pending.get(story, 0))
        self._woken.set()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="cache-purger")

    async def stop(self) -> None:
        for repeat in list(self._repeats):
            repeat.cancel()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
            while True:
                await self._woken.wait()
                self._woken.clear()
                stories, self._pending = self._pending, {}
                keys, self._keys = self._keys, set()
                for story, version in stories.items():
                    keys |= await self._changed_keys(story, version)
                if not keys:
                    continue
                try:
                    await asyncio.gather(*(self._purge(client, target, keys) for target in self.targets))
                except Exception:  # a bug here must not end purging for good
                    log.exception("purge: a round failed")
                if stories and self.repeat_after > 0:
                    repeat = asyncio.create_task(self._repeat(keys), name="cache-purge-repeat")
                    self._repeats.add(repeat)
                    repeat.add_done_callback(self._repeats.discard)

    async def _repeat(self, keys: set[str]) -> None:
        await asyncio.sleep(self.repeat_after)
        self._keys |= keys
        self._woken.set()

    async def _changed_keys(self, story: str, version: int) -> set[str]:
        """The keys of the change of ``story`` up to ``version``: the events since the last
        version purged here (the last event alone the first time, a commit's last event)."""
        after = self._seen.get(story, version - 1)
        self._seen[story] = max(version, after)
        try:
            async with self.database.read() as connection:
                events = await event_store.read_stream(connection, story, after=after, until=version)
        except Exception:  # the database is down: the story's and global keys still go
            log.warning("purge: could not read story %s's events", story, exc_info=True)
            events = []
        return keys_for(story, events)

    async def _purge(self, client: httpx.AsyncClient, target: PurgeTarget, keys: set[str]) -> None:
        for request in requests_for(target, keys):
            await self._send(client, target, request)

    async def _send(self, client: httpx.AsyncClient, target: PurgeTarget, request: PurgeRequest) -> None:
        delays = backoff_delays(self.attempts, self.first_delay, self.max_delay)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await client.request(
                    request.method, request.url, headers=request.headers, content=request.body
                )
                if succeeded(response.status_code):
                    self.delivered += 1
                    log.info("purge: %s purged %s", target.describe(), request.headers.get("Surrogate-Key"))
                    return
                failure = f"status {response.status_code}"
            except (httpx.HTTPError, httpx.InvalidURL, OSError) as error:
                failure = f"{type(error).__name__}: {error}"
            delay = next(delays, None)
            if delay is None:
                self.failed += 1
                log.warning(
                    "purge: gave up purging at %s after %d attempts (%s)", target.describe(), attempt, failure
                )
                return
            log.info("purge: %s failed (%s); again in %.1f s", target.describe(), failure, delay)
            await asyncio.sleep(delay)
