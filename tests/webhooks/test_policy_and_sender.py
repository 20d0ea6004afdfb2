"""The pure rules (addresses, URLs, backoff) and one delivery's SSRF guard: refused
destinations are never connected to, the check happens after DNS resolution, and the
connection goes to the address that was checked, with the name in ``Host``."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from liveblog.errors import InvalidInput
from liveblog.store.webhooks import new_secret
from liveblog.webhooks import policy
from liveblog.webhooks.policy import IPAddress, RetryPolicy
from liveblog.webhooks.sender import Sender, signed_headers
from tests.webhooks.receiver import Receiver, running_receiver

REFUSED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.251",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
]
ALLOWED = ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused(address: str) -> None:
    assert policy.address_refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_global_addresses_are_allowed(address: str) -> None:
    assert policy.address_refusal(ipaddress.ip_address(address)) is None


def test_a_url_taken_apart() -> None:
    target = policy.parse_url("https://CMS.example.org./hooks?a=1")
    assert (target.scheme, target.host, target.port, target.path) == (
        "https",
        "cms.example.org",
        443,
        "/hooks?a=1",
    )
    assert target.host_header == "cms.example.org"
    assert target.url_for(ipaddress.ip_address("93.184.216.34")) == "https://93.184.216.34:443/hooks?a=1"
    v6 = policy.parse_url("http://[2606:4700::1]:8080")
    assert v6.host_header == "[2606:4700::1]:8080" and v6.path == "/"
    assert v6.url_for(ipaddress.ip_address("2606:4700::1")) == "http://[2606:4700::1]:8080/"
    with pytest.raises(InvalidInput, match="loopback"):
        policy.validate_url("http://127.0.0.1/", allow_private=False)
    assert policy.validate_url("http://127.0.0.1/", allow_private=True).literal is not None
    # A name is not resolved at registration: it is checked at every delivery.
    assert policy.validate_url("http://localhost:8000/", allow_private=False).literal is None


def test_pick_address() -> None:
    loopback, public = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("93.184.216.34")
    assert policy.pick_address([loopback, public], allow_private=False) == public
    assert policy.pick_address([loopback, public], allow_private=True) == loopback
    refused = policy.pick_address([loopback], allow_private=False)
    assert isinstance(refused, str) and "loopback" in refused
    assert isinstance(policy.pick_address([], allow_private=True), str)


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    retry = RetryPolicy(base_seconds=1.0, max_seconds=60.0, max_failures=5)
    rng = random.Random(7)
    for failures, step in ((1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (1000, 60.0)):
        delays = [retry.delay(failures, rng) for _ in range(200)]
        assert all(step / 2 <= d <= step for d in delays)
        assert len(set(delays)) > 100  # jittered, not one fixed value
    assert not retry.pauses(4) and retry.pauses(5)


def test_the_payload_names_story_and_version_and_the_signature_verifies() -> None:
    item = {"story": "s", "version": 3, "type": "UpdatePosted", "data": {}}
    body = policy.encode(policy.payload(item, "42", "2026-12-01T12:00:00Z"))
    secret = new_secret()
    at = datetime.now(UTC)
    headers = signed_headers(secret, policy.message_id("s", 3), at, body)
    verified = Webhook(secret).verify(body, headers)
    assert verified["story"] == "s" and verified["version"] == 3 and verified["cursor"] == "42"
    assert verified["event"] == item and headers["webhook-id"] == "msg_s_3"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "http://10.0.0.1:{port}/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:{port}/hooks",
        "http://[::ffff:127.0.0.1]:{port}/hooks",
        "http://localhost:{port}/hooks",  # a name that resolves to loopback
    ],
)
async def test_delivery_to_a_refused_destination_never_connects(url: str) -> None:
    async with running_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        sender = Sender(timeout=5, allow_private=False)
        try:
            outcome = await sender.send(
                url.format(port=port), new_secret(), "msg_x", "{}", at=datetime.now(UTC)
            )
        finally:
            await sender.aclose()
        assert not outcome.ok and outcome.status is None
        assert outcome.error is not None and "refused" in outcome.error
        assert receiver.requests == []


async def test_the_connection_goes_to_the_checked_address_with_the_name_as_host() -> None:
    """A name resolved once, checked, and connected to by address: a resolver that answers
    differently the next time (DNS rebinding) is never asked again for this attempt."""
    answers: list[list[IPAddress]] = []

    async with running_receiver() as receiver:
        port = int(receiver.url.split(":")[2].split("/")[0])

        async def rebinding(host: str, _port: int) -> list[IPAddress]:
            answers.append([ipaddress.ip_address("127.0.0.1")])
            return answers[-1]

        sender = Sender(timeout=5, allow_private=True, resolver=rebinding)
        try:
            outcome = await sender.send(
                f"http://hooks.example.test:{port}/in", new_secret(), "msg_y", "{}", at=datetime.now(UTC)
            )
        finally:
            await sender.aclose()
        assert outcome.ok and outcome.address == "127.0.0.1"
        assert len(answers) == 1
        assert receiver.requests[0].headers["host"] == f"hooks.example.test:{port}"

        # Refused after resolution: the name looks harmless, its address is not.
        strict = Sender(timeout=5, allow_private=False, resolver=rebinding)
        try:
            refused = await strict.send(
                f"http://hooks.example.test:{port}/in", new_secret(), "m", "{}", at=datetime.now(UTC)
            )
        finally:
            await strict.aclose()
        assert not refused.ok and "loopback" in (refused.error or "")
        assert len(receiver.requests) == 1


async def test_redirects_are_not_followed_and_errors_are_outcomes() -> None:
    class Redirecting(Receiver):
        async def __call__(self, scope: dict[str, object], receive: object, send: object) -> None:
            if scope["type"] != "http":
                return
            self.requests.append(object())  # type: ignore[arg-type]
            await send(
                {
                    "type": "http.response.start",
                    "status": 307,
                    "headers": [(b"location", b"http://10.0.0.1/")],
                }
            )  # type: ignore[operator]
            await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    async with running_receiver(Redirecting()) as receiver:
        sender = Sender(timeout=5, allow_private=True)
        try:
            outcome = await sender.send(receiver.url, new_secret(), "m", "{}", at=datetime.now(UTC))
            unreachable = await sender.send(
                "http://127.0.0.1:9/", new_secret(), "m", "{}", at=datetime.now(UTC)
            )
            unknown = await sender.send(
                "http://no-such-host.invalid/", new_secret(), "m", "{}", at=datetime.now(UTC)
            )
        finally:
            await sender.aclose()
    assert not outcome.ok and outcome.status == 307 and "redirect" in (outcome.error or "")
    assert len(receiver.requests) == 1
    assert not unreachable.ok and unreachable.status is None and unreachable.error
    assert not unknown.ok and "cannot resolve" in (unknown.error or "")
