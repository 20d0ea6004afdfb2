"""Deliveries from a running app to a real receiver on 127.0.0.1: every event of published
stories, signed (checked with ``standardwebhooks``), in order per story; drafts stay out;
retries, the pause after N failures with its reason, and resuming from the cursor."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from liveblog import demo
from liveblog.application import Application
from liveblog.store import event_store
from liveblog.store.database import Database
from tests.api.helpers import open_story, post_update
from tests.webhooks.conftest import register, state_when
from tests.webhooks.receiver import Receiver, in_order_per_story

API = "/api/v1"


async def published_events(database: Database, *stories: str) -> list[tuple[str, int]]:
    """``(story, version)`` of every event of ``stories`` from their publication on."""
    found = []
    async with database.read() as connection:
        for story in stories:
            since = await event_store.first_version_of(connection, story, "StoryPublished")
            assert since is not None
            since = 1 if since == 2 else since  # published at once: no draft period
            found += [
                (story, e.version) for e in await event_store.read_stream(connection, story, after=since - 1)
            ]
    return found


def delivered(receiver: Receiver, secret: str) -> list[dict[str, Any]]:
    """Every accepted delivery's payload, its signature checked."""
    return [d.verified(secret) for d in receiver.accepted]


async def test_every_event_of_the_demo_story_arrives_signed_and_in_order(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    receiver: Receiver,
    database: Database,
    application: Application,
) -> None:
    hook = await register(client, admin, receiver.url)
    assert hook["secret"].startswith("whsec_")
    # Written by another application (as `liveblog demo` does): only the bus or the poll
    # tells the worker, never this app's own commit hook.
    await demo.play(database, signer=application.signer)
    expected = await published_events(database, demo.SLUG)
    await receiver.wait_for(lambda r: len({d.id for d in r.accepted}) >= len(expected))
    payloads = delivered(receiver, hook["secret"])
    assert [(p["story"], p["version"]) for p in payloads] == expected  # in order, nothing twice
    first = payloads[0]
    assert set(first) == {"type", "timestamp", "story", "version", "event", "cursor"}
    assert first["event"]["story"] == demo.SLUG and first["event"]["version"] == first["version"]
    assert first["event"]["type"] == first["type"] and first["event"]["hash"]
    request = receiver.accepted[0]
    assert request.headers["webhook-id"] == f"msg_{demo.SLUG}_{first['version']}"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert request.headers["content-type"] == "application/json"
    listed = await state_when(client, admin, hook["id"], lambda s: s["delivered"] == len(expected))
    assert listed["failures"] == 0 and listed["last_error"] is None
    assert listed["cursor"] == payloads[-1]["cursor"]


async def test_drafts_are_not_delivered_and_filters_apply(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    editor: dict[str, str],
    receiver: Receiver,
    database: Database,
) -> None:
    everything = await register(client, admin, receiver.url)
    await open_story(client, editor, "draft-first", publish=False)
    await post_update(client, editor, "draft-first", body="Prepared while a draft.")
    await open_story(client, editor, "live-one")
    posted = await post_update(client, editor, "live-one")
    await client.post(
        f"{API}/stories/live-one/updates/{posted['id']}/corrections",
        json={"changes": {"body": "Corrected."}, "kind": "minor", "reason": "typo"},
        headers={**editor, "If-Match": '"1"'},
    )
    response = await client.post(f"{API}/stories/draft-first/publish", headers=editor)
    assert response.status_code == 200, response.text
    await post_update(client, editor, "draft-first", body="After publication.")
    expected = await published_events(database, "live-one", "draft-first")
    await receiver.wait_for(lambda r: len(r.accepted) >= len(expected))
    payloads = delivered(receiver, everything["secret"])
    assert sorted((p["story"], p["version"]) for p in payloads) == sorted(expected)
    assert in_order_per_story(payloads)
    # The draft's own events (opened, the update prepared) never went out.
    assert ("draft-first", 1) not in {(p["story"], p["version"]) for p in payloads}
    assert all(
        p["event"]["type"] != "UpdatePosted" or p["event"]["version"] > 2
        for p in payloads
        if p["story"] == "draft-first"
    )

    # A second endpoint, filtered: only UpdatePosted of live-one, from its registration on.
    receiver.requests.clear()
    filtered = await register(client, admin, receiver.url, stories=["live-one"], types=["UpdatePosted"])
    await post_update(client, editor, "draft-first", body="Not for the filtered endpoint.")
    await post_update(client, editor, "live-one", body="For both.")
    await receiver.wait_for(lambda r: len(r.accepted) >= 3)
    mine = []
    for request in receiver.accepted:
        try:
            mine.append(request.verified(filtered["secret"]))
        except Exception:  # noqa: BLE001 (signed for the other endpoint)
            continue
    assert [(p["story"], p["type"]) for p in mine] == [("live-one", "UpdatePosted")]


async def test_a_failing_receiver_gets_retries_then_the_endpoint_pauses_with_the_reason(
    client: httpx.AsyncClient, admin: dict[str, str], editor: dict[str, str], receiver: Receiver
) -> None:
    hook = await register(client, admin, receiver.url)
    receiver.fail_next = 2  # two failures, then the retry succeeds (3 pause it)
    await open_story(client, editor, "flaky")
    await receiver.wait_for(lambda r: len(r.accepted) >= 2)
    first_id = receiver.requests[0].id
    assert [d.status for d in receiver.requests[:3]] == [500, 500, 200]
    assert first_id == "msg_flaky_1"
    assert {d.id for d in receiver.requests[:3]} == {first_id}  # the same message, retried
    state = await state_when(client, admin, hook["id"], lambda s: s["delivered"] == 2)
    assert state["status"] == "active" and state["failures"] == 0

    receiver.fail_always = True
    await post_update(client, editor, "flaky", body="This one will not get through.")

    state = await state_when(client, admin, hook["id"], lambda s: s["status"] == "paused")
    assert state["failures"] == 3
    assert "3 consecutive failed attempts" in state["paused_reason"]
    assert "HTTP 500" in state["paused_reason"] and "receiver says no" in state["paused_reason"]
    failed_attempts = sum(d.status == 500 for d in receiver.requests)

    # Resumed: the same event again from the cursor, nothing lost.
    receiver.fail_always = False
    response = await client.patch(f"{API}/webhooks/{hook['id']}", json={"status": "active"}, headers=admin)
    assert response.status_code == 200 and response.json()["paused_reason"] is None
    await receiver.wait_for(lambda r: len(r.accepted) >= 3)
    assert failed_attempts == 2 + 3
    last = receiver.accepted[-1].verified(hook["secret"])
    assert last["type"] == "UpdatePosted" and last["story"] == "flaky"


@pytest.mark.webhooks(webhook_max_failures=1)
async def test_a_paused_endpoint_gets_nothing_until_resumed_and_a_rotated_secret_signs_from_then_on(
    client: httpx.AsyncClient, admin: dict[str, str], editor: dict[str, str], receiver: Receiver
) -> None:
    hook = await register(client, admin, receiver.url)
    response = await client.patch(
        f"{API}/webhooks/{hook['id']}", json={"status": "paused", "reason": "maintenance"}, headers=admin
    )
    assert response.json()["paused_reason"] == "maintenance"
    await open_story(client, editor, "while-paused")
    rotated = (await client.post(f"{API}/webhooks/{hook['id']}/secret", headers=admin)).json()
    assert rotated["secret"] != hook["secret"]
    await client.patch(f"{API}/webhooks/{hook['id']}", json={"status": "active"}, headers=admin)
    await receiver.wait_for(lambda r: len(r.accepted) >= 2)
    payloads = [d.verified(rotated["secret"]) for d in receiver.accepted]
    assert [(p["story"], p["version"]) for p in payloads][:2] == [("while-paused", 1), ("while-paused", 2)]
    assert payloads[0]["type"] == "StoryOpened"


async def test_writes_never_wait_for_a_delivery(
    client: httpx.AsyncClient, admin: dict[str, str], editor: dict[str, str], receiver: Receiver
) -> None:
    """A receiver that holds the first delivery open does not hold up any write."""
    release = asyncio.Event()
    receiver.hold = release
    hook = await register(client, admin, receiver.url)
    await open_story(client, editor, "held")
    await receiver.wait_for(lambda r: r.holding > 0)
    for n in range(5):
        await post_update(client, editor, "held", body=f"Written while a delivery hangs ({n}).")
    assert receiver.requests == []  # the first delivery is still waiting for its answer
    release.set()
    await receiver.wait_for(lambda r: len(r.accepted) >= 7)
    payloads = delivered(receiver, hook["secret"])
    assert [p["version"] for p in payloads] == list(range(1, 8))


@pytest.mark.webhooks(webhook_allow_private=False, webhook_max_failures=2)
async def test_a_name_that_resolves_to_loopback_is_refused_at_delivery(
    client: httpx.AsyncClient, admin: dict[str, str], editor: dict[str, str], receiver: Receiver
) -> None:
    """`localhost` passes registration (names are not resolved then), but every attempt
    resolves it, finds a loopback address and does not connect: the endpoint pauses with
    that reason, and the receiver listening there never sees a request."""
    port = receiver.url.split(":")[2].split("/")[0]
    hook = await register(client, admin, f"http://localhost:{port}/hooks/liveblog")
    await open_story(client, editor, "refused")
    state = await state_when(client, admin, hook["id"], lambda s: s["status"] == "paused")
    assert "loopback" in state["paused_reason"] and "LIVEBLOG_WEBHOOK_ALLOW_PRIVATE" in state["paused_reason"]
    assert state["delivered"] == 0 and receiver.requests == []
