"""liveblog.purge: the targets of LIVEBLOG_PURGE_URLS, the requests for each kind of cache,
the keys of a change, the retry policy, and the worker against a real HTTP listener."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from liveblog.cli import main
from liveblog.config import Settings
from liveblog.purge import (
    Purger,
    PurgeTarget,
    backoff_delays,
    keys_for,
    parse_targets,
    requests_for,
    succeeded,
)
from liveblog.store.database import Database
from liveblog.store.event_store import RecordedEvent

KEYS = {"liveblog-story-raid", "liveblog-update-u1", "liveblog-global"}


def test_a_string_is_a_varnish_url_banned_with_the_keys_in_surrogate_key() -> None:
    (target,) = parse_targets('["http://127.0.0.1:6081/"]')
    assert target == PurgeTarget(kind="varnish", url="http://127.0.0.1:6081/", method="BAN")
    (request,) = requests_for(target, KEYS)
    assert request.method == "BAN" and request.url == "http://127.0.0.1:6081/"
    assert request.headers == {"Surrogate-Key": "liveblog-global liveblog-story-raid liveblog-update-u1"}
    (purge,) = parse_targets([{"kind": "varnish", "url": "http://cache:80/", "method": "PURGE"}])
    assert requests_for(purge, KEYS)[0].method == "PURGE"


def test_fastly_is_purged_by_surrogate_key_with_its_api_token() -> None:
    (target,) = parse_targets([{"kind": "fastly", "service": "SVC 1", "token": "tok"}])
    (request,) = requests_for(target, KEYS)
    assert request.method == "POST"
    assert request.url == "https://api.fastly.com/service/SVC%201/purge"
    assert request.headers["Fastly-Key"] == "tok"
    assert request.headers["Surrogate-Key"].split() == sorted(KEYS)
    assert "tok" not in repr(target) and "tok" not in target.describe()


def test_cloudflare_is_purged_by_tags_thirty_at_a_time_with_a_bearer_token() -> None:
    (target,) = parse_targets(
        [{"kind": "cloudflare", "zone": "Z9", "token": "cf", "url": "http://127.0.0.1:9/"}]
    )
    keys = {f"liveblog-update-u{n:02}" for n in range(31)}
    first, second = requests_for(target, keys)
    assert first.url == "http://127.0.0.1:9/client/v4/zones/Z9/purge_cache"
    assert first.headers["Authorization"] == "Bearer cf"
    assert first.body is not None and second.body is not None
    tags = json.loads(first.body)["tags"] + json.loads(second.body)["tags"]
    assert len(json.loads(first.body)["tags"]) == 30 and sorted(tags) == sorted(keys)
    assert requests_for(target, []) == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[bad", "is not JSON"),
        ('{"kind": "varnish"}', "JSON list"),
        ("[42]", "a URL or an object"),
        ('["ftp://cache/"]', "http(s) URL"),
        ('[{"kind": "akamai"}]', "'kind' must be one of"),
        ('[{"kind": "varnish", "url": "http://c/", "method": "GET"}]', "BAN or PURGE"),
        ('[{"kind": "varnish", "url": "http://c/", "token": "x"}]', "unknown fields: token"),
        ('[{"kind": "fastly", "service": "s"}]', "needs 'token'"),
        ('[{"kind": "cloudflare", "token": "t", "zone": ""}]', "needs 'zone'"),
        ('[{"kind": "fastly", "service": "s", "token": "t", "url": "nope"}]', "http(s) URL"),
    ],
)
def test_hostile_settings_are_refused_with_a_clear_reason(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match="purge") as raised:
        parse_targets(raw)
    assert message in str(raised.value)
    with pytest.raises(ValidationError, match="purge_urls"):
        Settings(purge_urls=raw)


def test_serve_refuses_to_start_on_a_bad_setting_and_names_it_without_its_value(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    secret = '[{"kind": "fastly", "service": "s", "token": "SECRET-TOKEN", "oops": 1}]'
    result = CliRunner().invoke(main, ["serve", "--port", "1"], env={"LIVEBLOG_PURGE_URLS": secret})
    assert result.exit_code == 2
    assert "LIVEBLOG_PURGE_URLS" in result.output and "unknown fields: oops" in result.output
    assert "SECRET-TOKEN" not in result.output


def test_no_setting_means_no_targets() -> None:
    assert Settings(purge_urls="").purge_urls == [] and Settings().purge_urls == []


def _event(version: int, data: dict[str, Any]) -> RecordedEvent:
    return RecordedEvent(
        position=version,
        stream="raid",
        version=version,
        type="Whatever",
        schema=1,
        data=data,
        metadata={},
        recorded_at=datetime(2026, 1, 1, tzinfo=UTC),
        hash="h",
        prev_hash="p",
    )


def test_a_change_purges_its_story_every_update_it_touched_and_the_global_key() -> None:
    events = [_event(1, {"title": "x"}), _event(2, {"update_id": "u1"}), _event(3, {"update_id": "u-2_"})]
    assert keys_for("raid", events) == {
        "liveblog-story-raid",
        "liveblog-global",
        "liveblog-update-u1",
        "liveblog-update-u-2_",
    }
    assert keys_for("raid", []) == {"liveblog-story-raid", "liveblog-global"}


def test_retries_back_off_exponentially_up_to_a_ceiling() -> None:
    assert list(backoff_delays(6, 0.5, 3.0)) == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert list(backoff_delays(1, 0.5, 3.0)) == []
    assert succeeded(200) and succeeded(204) and not succeeded(304) and not succeeded(503)


# ----------------------------------------------------------------------- the worker


class Listener:
    """A real HTTP/1.1 listener that answers each request with the next status of a script."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        line, *fields = head.strip().split("\r\n")
        headers = {name.lower(): value.strip() for name, value in (f.split(":", 1) for f in fields)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        self.requests.append((line.split()[0], {**headers, "body": body.decode()}))
        status = self.statuses.pop(0) if self.statuses else 200
        writer.write(f"HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/"


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    found = Listener([503, 500])
    found.server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    yield found
    found.server.close()
    await found.server.wait_closed()


async def test_the_worker_purges_after_the_commit_and_retries_a_failing_cache(
    listener: Listener, sqlite_url: str
) -> None:
    database = Database(sqlite_url)
    from liveblog.store import schema

    await schema.upgrade(database)
    purger = Purger(parse_targets([listener.url]), database, first_delay=0.01, max_delay=0.02, repeat_after=0)
    await purger.start()
    try:
        purger.wake("raid", 1)  # returns at once: the write is never held up
        while purger.delivered < 1:
            await asyncio.sleep(0.01)
        methods = [method for method, _ in listener.requests]
        assert methods == ["BAN", "BAN", "BAN"]  # 503, 500, then 200
        assert listener.requests[-1][1]["surrogate-key"] == "liveblog-global liveblog-story-raid"
        assert purger.failed == 0
    finally:
        await purger.stop()
        await database.dispose()


async def test_a_cache_that_never_answers_is_given_up_with_a_warning(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(sqlite_url)
    from liveblog.store import schema

    await schema.upgrade(database)
    # A port nobody listens on: every attempt is refused.
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    purger = Purger(
        parse_targets([f"http://127.0.0.1:{port}/"]),
        database,
        attempts=3,
        first_delay=0.01,
        max_delay=0.01,
        repeat_after=0,
    )
    await purger.start()
    try:
        purger.wake("raid", 1)
        while purger.failed < 1:
            await asyncio.sleep(0.01)
        assert purger.delivered == 0
        assert "gave up purging at varnish" in caplog.text
    finally:
        await purger.stop()
        await database.dispose()
