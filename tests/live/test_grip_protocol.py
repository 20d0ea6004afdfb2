"""The pure side of the GRIP tier (liveblog.live.grip) and its settings, hostile inputs included."""

from __future__ import annotations

import time

import pytest
from pydantic import ValidationError

from liveblog.config import Settings
from liveblog.live import grip


def test_a_signature_is_checked_with_the_key_and_its_expiry() -> None:
    now = time.time()
    assert grip.signed(grip.signature("k" * 32, now=now), "k" * 32)
    assert grip.signed(grip.signature("changeme", now=now), "changeme")  # Pushpin's default key
    assert not grip.signed(grip.signature("k" * 32, now=now), "other" * 8)
    assert not grip.signed(grip.signature("k" * 32, now=now - 7200), "k" * 32)  # expired
    for hostile in (None, "", "not a jwt", "a.b.c", "eyJhbGciOiJub25lIn0.eyJleHAiOjk5OTk5OTk5OTl9."):
        assert not grip.signed(hostile, "k" * 32)


def test_websocket_events_round_trip_and_refuse_what_is_not_one() -> None:
    events = [grip.WsEvent("OPEN"), grip.text("héllo"), grip.close(4401, "revoked"), grip.WsEvent("PING")]
    encoded = grip.encode_events(events)
    assert encoded.startswith(b"OPEN\r\nTEXT 6\r\nh\xc3\xa9llo\r\nCLOSE 9\r\n\x11\x31revoked\r\n")
    assert grip.parse_events(encoded) == events
    assert grip.close_code(grip.parse_events(encoded)[2]) == 4401
    assert grip.close_code(grip.WsEvent("CLOSE")) == 1005
    assert grip.parse_events(b"") == []
    for hostile in (
        b"OPEN",
        b"NOPE\r\n",
        b"TEXT zz\r\nab\r\n",
        b"TEXT 10\r\nab\r\n",
        b"TEXT 2\r\nabXX",
        b"TEXT -1\r\n\r\n",
    ):
        with pytest.raises(ValueError):
            grip.parse_events(hostile)


def test_control_messages_and_publish_items() -> None:
    assert grip.subscribe("story:a").content == b'c:{"type":"subscribe","channel":"story:a"}'
    item = grip.event_item("story:a", 7, sse="id: 7\n\n", ws="{}")
    assert item["id"] == "7" and item["prev-id"] == "6"
    assert item["formats"]["http-stream"] == {"content": "id: 7\n\n"}
    closing = grip.close_item("token:t", 4401, "revoked")
    assert closing["formats"]["http-stream"] == {"action": "close"}
    assert closing["formats"]["ws-message"]["code"] == 4401
    assert "http-stream" not in grip.close_item("story:a", 4008, "slow", streams=False)["formats"]


def test_next_links_are_bound_to_their_story_and_token() -> None:
    link = grip.next_link("/api/v1/stories/a/live", "k" * 32, "a", after=5, token_id="tok")
    query = dict(part.split("=") for part in link.partition("?")[2].split("&"))
    assert query["after"] == "5" and query["token"] == "tok"
    assert grip.link_valid("k" * 32, "a", query["grip"], "tok")
    assert not grip.link_valid("k" * 32, "a", query["grip"], None)  # the token cannot be dropped
    assert not grip.link_valid("k" * 32, "a", query["grip"], "someone-else")
    assert not grip.link_valid("k" * 32, "b", query["grip"], "tok")
    assert not grip.link_valid("x" * 32, "a", query["grip"], "tok")


def test_grip_last_names_the_version_per_channel() -> None:
    headers = ["token:t; last-id=3, story:a; last-id=12"]
    assert grip.last_id(headers, "story:a") == 12
    assert grip.last_id(headers, "story:b") is None
    assert grip.last_id(["story:a; last-id=nope"], "story:a") is None
    assert grip.last_id(["story:a; last-id=" + "9" * 20], "story:a") is None


def test_the_grip_tier_needs_its_settings() -> None:
    with pytest.raises(ValidationError, match="GRIP_PUBLISH_URLS"):
        Settings(live_tier="grip", grip_sig_key="k")
    with pytest.raises(ValidationError, match="GRIP_SIG_KEY"):
        Settings(live_tier="grip", grip_publish_urls=["http://127.0.0.1:5561/"])
    with pytest.raises(ValidationError):
        Settings(live_tier="grip", grip_sig_key="k", grip_publish_urls=["ftp://x/"])
    with pytest.raises(ValidationError):
        Settings(live_tier="pushpin")  # type: ignore[arg-type]
    settings = Settings(live_tier="grip", grip_sig_key="k", grip_publish_urls=["http://127.0.0.1:5561"])
    assert settings.grip_publish_urls == ["http://127.0.0.1:5561/"]
    assert Settings().live_tier == "direct"
